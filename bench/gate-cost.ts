// The start gate's cost per runtime call (bin/moat-runc), away from any
// engine: a fake runtime (`#!/bin/sh` + `exit 0`) called directly and through
// the wrapper, interleaved call by call so outside load hits every case alike.
//   passthrough — `moat-runc … state ID` (every runtime call but start/run):
//                 what the wrapper adds to each of them;
//   gated start — `moat-runc … start ID` against a fake moatd on a unix socket
//                 that answers POST /gate/<id> at once (curl client, and the
//                 Node client the wrapper uses without curl): the gate's own
//                 cost, without any commit to wait for;
//   no moatd    — `moat-runc … start ID` with no socket at the path (moatd not
//                 running): the issue allows ~50 ms here;
//   stale socket — a socket file nobody listens on (moatd killed: it removes
//                 its socket only when it stops cleanly): the wrapper retries
//                 until the bound. A few calls only, after the others.
// Time = spawn() to the child's exit, wall clock; the direct calls carry the
// same spawn cost, so "added" (median − the direct call's median) is the
// wrapper's share. Everything lives in a temporary directory under /tmp: no
// network, no engine, no namespace.
import { execFile, spawn } from 'node:child_process';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { onAbort } from './abort.js';
import { summarize, type Summary } from './stats.js';

export interface GateCostCase {
  readonly name: string;
  readonly what: string;
  /** The direct call this case is compared with. */
  readonly baseline: string | null;
  readonly ms: readonly number[];
  readonly summary: Summary | null;
  /** Requests the fake moatd saw per call of this case (1 for a gated start, 0 otherwise). */
  readonly asked: number;
}

export interface GateCostResult {
  readonly calls: number;
  readonly waitMs: number;
  readonly cases: readonly GateCostCase[];
  /** `start ID` against a stale socket, with the default bound: `staleCalls` calls. */
  readonly stale: { readonly calls: number; readonly summary: Summary | null; readonly ms: readonly number[] } | null;
}

const ID = 'ab'.repeat(32);

function timeOnce(file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(file, [...args], { env, stdio: 'ignore' });
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      const dt = performance.now() - t0;
      if (code === 0) resolve(dt);
      else reject(new Error(`${file} ${args.join(' ')} exited ${String(code)}`));
    });
  });
}

export async function runGateCost(opts: {
  readonly wrapper: string;
  readonly calls: number;
  readonly staleCalls: number;
  readonly log: (s: string) => void;
}): Promise<GateCostResult> {
  const dir = await mkdtemp('/tmp/moat-bench-gate-');
  const sock = join(dir, 'moat.sock');
  const runtime = join(dir, 'runtime');
  await writeFile(runtime, '#!/bin/sh\nexit 0\n');
  await chmod(runtime, 0o755);
  let asked = 0;
  const server = createServer((req, res) => {
    asked++;
    req.resume();
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ id: ID, verdict: 'committed', waitedMs: 0 }));
  });
  await new Promise<void>((resolve) => server.listen(sock, resolve));
  const cleanup = async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
    await rm(dir, { recursive: true, force: true });
  };
  const unregister = onAbort(cleanup);
  const waitMs = 2000;
  const env = { ...process.env };
  const wrap = (socket: string, ...rest: string[]) => ['--moat-socket', socket, '--moat-runtime', runtime, '--moat-wait-ms', String(waitMs), ...rest];
  const specs: { name: string; what: string; baseline: string | null; file: string; args: string[]; env: NodeJS.ProcessEnv }[] = [
    { name: 'direct state', what: 'the fake runtime, `state ID`, called directly', baseline: null, file: runtime, args: ['state', ID], env },
    {
      name: 'passthrough state',
      what: '`moat-runc … state ID` (any call but start/run)',
      baseline: 'direct state',
      file: opts.wrapper,
      args: wrap(sock, 'state', ID),
      env,
    },
    { name: 'direct start', what: 'the fake runtime, `start ID`, called directly (no gate)', baseline: null, file: runtime, args: ['start', ID], env },
    {
      name: 'gated start (curl)',
      what: '`moat-runc … start ID`, fake moatd answers at once, curl client',
      baseline: 'direct start',
      file: opts.wrapper,
      args: wrap(sock, 'start', ID),
      env,
    },
    {
      name: 'gated start (node client)',
      what: 'the same with MOAT_GATE_CLIENT=node (hosts without curl)',
      baseline: 'direct start',
      file: opts.wrapper,
      args: wrap(sock, 'start', ID),
      env: { ...env, MOAT_GATE_CLIENT: 'node' },
    },
    {
      name: 'start, moatd not running',
      what: '`moat-runc … start ID`, no socket at the path',
      baseline: 'direct start',
      file: opts.wrapper,
      args: wrap(join(dir, 'absent.sock'), 'start', ID),
      env,
    },
  ];
  const times = new Map(specs.map((s) => [s.name, [] as number[]]));
  const askedBy = new Map(specs.map((s) => [s.name, 0]));
  const stale: number[] = [];
  try {
    // Two warm-up rounds (page cache, the node binary), then `calls` rounds,
    // each round every case once, in rotating order.
    for (let round = 0; round < opts.calls + 2; round++) {
      for (let k = 0; k < specs.length; k++) {
        const s = specs[(k + round) % specs.length]!;
        const before = asked;
        const dt = await timeOnce(s.file, s.args, s.env);
        if (round < 2) continue;
        times.get(s.name)!.push(dt);
        askedBy.set(s.name, askedBy.get(s.name)! + asked - before);
      }
      if ((round + 1) % 50 === 0) opts.log(`  gate cost: round ${round + 1}/${opts.calls + 2}`);
    }
    // A socket file left by a killed moatd: bound, never listening (python3, as in test/unit/moat-runc.test.ts).
    const stalePath = join(dir, 'stale.sock');
    const bound =
      opts.staleCalls > 0 &&
      (await new Promise<boolean>((resolve) =>
        execFile('python3', ['-c', 'import socket,sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])', stalePath], (err) => resolve(!err)),
      ));
    if (bound) {
      for (let i = 0; i < opts.staleCalls; i++) stale.push(await timeOnce(opts.wrapper, wrap(stalePath, 'start', ID), env));
    }
  } finally {
    unregister();
    await cleanup();
  }
  return {
    calls: opts.calls,
    waitMs,
    cases: specs.map((s) => ({
      name: s.name,
      what: s.what,
      baseline: s.baseline,
      ms: times.get(s.name)!.map((v) => Math.round(v * 1000) / 1000),
      summary: summarize(times.get(s.name)!),
      asked: askedBy.get(s.name)! / opts.calls,
    })),
    stale: stale.length ? { calls: stale.length, summary: summarize(stale), ms: stale.map((v) => Math.round(v)) } : null,
  };
}
