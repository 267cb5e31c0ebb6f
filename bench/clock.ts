// Wall-clock milliseconds with sub-millisecond resolution. Containers, moatd
// and the bench share CLOCK_REALTIME, so these compare across processes.
import { performance } from 'node:perf_hooks';

export const wallMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));
