// What the numbers were measured on.
import { execa } from 'execa';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { chosenEngine } from '../test/integration/testbed/engine-choice.js';

export interface Machine {
  readonly cpus: number;
  readonly cpuModel: string;
  readonly memoryGiB: number;
  readonly kernel: string;
  readonly iptables: string;
  readonly dockerd: string;
  readonly node: string;
  readonly loadavgAtStart: readonly number[];
  /** The commit measured, and how many files under src/ differed from it (others edit the tree too). */
  readonly gitHead: string;
  readonly srcFilesChanged: number;
}

const version = async (file: string, args: string[]) => {
  const res = await execa(file, args, { reject: false });
  return String(res.stdout || res.stderr)
    .split('\n')[0]!
    .trim();
};

export async function describeMachine(): Promise<Machine> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    kernel: release(),
    iptables: await version('iptables', ['--version']),
    // The engine the beds run (MOAT_ENGINE; 28.5 when unpacked, else the system's 20.10), not the one on PATH.
    dockerd: await version(chosenEngine().dockerd, ['--version']),
    node: process.version,
    loadavgAtStart: loadavg().map((l) => Math.round(l * 100) / 100),
    gitHead: (await version('git', ['rev-parse', '--short', 'HEAD'])) || 'unknown',
    srcFilesChanged: String((await execa('git', ['status', '--porcelain', '--', 'src'], { reject: false })).stdout)
      .split('\n')
      .filter(Boolean).length,
  };
}
