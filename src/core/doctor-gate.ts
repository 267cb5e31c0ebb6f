// `moat doctor`'s start-gate check: is bin/moat-runc Docker's default
// runtime, what does it hand over to, and does it ask moatd's own socket?
import type { Config } from './config.js';
import { GATE_RUNTIME, gateArgs, wrapsOf } from './daemon-json-gate.js';
import type { Check } from './doctor-check.js';

export interface RuntimeFacts {
  /** Docker's DefaultRuntime (`docker info`). */
  readonly default: string | null;
  /** Docker's Runtimes: name -> { path, runtimeArgs }. */
  readonly runtimes: Readonly<Record<string, { readonly path?: string; readonly runtimeArgs?: readonly string[] }>>;
}

const TITLE = "start gate (bin/moat-runc) is Docker's default runtime";
const FIX =
  'moat install --configure-docker (registers it in daemon.json, keeping your default runtime behind it), then restart Docker; containers created before keep their runtime until recreated';

export function startGateCheck(runtime: RuntimeFacts | null | undefined, config: Config): Check {
  const check = (status: Check['status'], detail: string, fix: string | null = null): Check => ({
    id: 'start-gate',
    title: TITLE,
    status,
    detail,
    fix: status === 'pass' || status === 'skip' ? null : fix,
  });
  if (!runtime) return check('skip', 'Docker not reachable: its runtimes are unknown');
  const name = runtime.default ?? 'runc';
  const entry = runtime.runtimes[name];
  if (!entry?.path || !/(^|\/)moat-runc$/.test(entry.path)) {
    return check(
      'warn',
      `the default runtime is ${name}${entry?.path ? ` (${entry.path})` : ''}: a new container's process can start before moatd has committed its rules, so its first connections may be refused (on Docker 28 the engine reports it ~13 ms before its process starts)`,
      FIX,
    );
  }
  const g = gateArgs(entry);
  const socket = g.socket;
  const wait = `${g.waitMs} ms`;
  if (socket !== config.control.socket) {
    return check(
      'fail',
      `runtime ${name} (${entry.path}) asks ${socket}, but moatd listens on ${config.control.socket}: every start waits the full bound (${wait}) for nothing`,
      `set --moat-socket ${config.control.socket} in daemon.json runtimes.${name}.runtimeArgs (or re-run moat install --configure-docker), then restart Docker`,
    );
  }
  return check(
    'pass',
    `active as runtime ${name === GATE_RUNTIME ? name : `${name} (registered by hand)`}: ${entry.path}, handing over to ${wrapsOf(entry)}, waiting at most ${wait} on ${socket}`,
  );
}
