// Start-to-reachable on one engine. Each run creates and starts a container
// through the API (dockerode createContainer + start: what `docker run -d`
// does, without the CLI) whose command probes three peers at once, each in
// a loop of busybox wget (under `timeout 3`: busybox's own -T crashes) with a 5 ms pause, and stamps the first success with
// busybox `ts` (wall clock, microseconds, same clock as the bench):
//   same  — a peer on the container's network;
//   cross — a peer on another network, granted by moat.egress=peer-b:80 under
//           moat (with or without the start gate). Docker's own firewall isolates networks, so on the native
//           engine the container is also connected to the peer's network
//           before start (`docker network connect`, counted in the time); on
//           the floor engine nothing filters and the host routes between them;
//   world — the bed's "internet" peer (203.0.113.2), default egress.
// The time is from just before the create call to the stamp.
import type Docker from 'dockerode';
import { wallMs } from './clock.js';
import { createContainer, followOutput, remove, start, waitOutput } from './containers.js';
import type { EngineEvent } from './engine-events.js';

export const PROBE_SCRIPT = `A=$1 B=$2 W=$3
p() { until timeout 3 wget -q -O - "http://$2/index.html" >/dev/null 2>&1; do busybox usleep 5000; done; echo "$1"; }
p same "$A" | busybox ts %.s &
p cross "$B" | busybox ts %.s &
p world "$W" | busybox ts %.s &
exec sleep 2147483647`;

/** native: Docker's own firewall; floor: none; moat: moatd; gate: moatd and the start gate (bin/moat-runc as the container's runtime). */
export type Mode = 'native' | 'floor' | 'moat' | 'gate';

export const underMoat = (mode: Mode) => mode === 'moat' || mode === 'gate';

export interface RunResult {
  readonly createStartMs: number;
  readonly same: number;
  readonly cross: number;
  readonly world: number;
  readonly id: string;
  readonly t0: number;
}

export interface ReachContext {
  readonly docker: Docker;
  readonly image: string;
  readonly mode: Mode;
  readonly peers: { readonly a: string; readonly b: string; readonly world: string };
  readonly networks: { readonly a: string; readonly b: string };
  readonly events: readonly EngineEvent[];
  /** The runtime new containers get (the gate engine: the wrapper's name in daemon.json). */
  readonly runtime?: string;
}

export async function reachOnce(ctx: ReachContext, index: number): Promise<RunResult> {
  const spec = {
    name: `reach-${ctx.mode}-${index}`,
    image: ctx.image,
    cmd: ['sh', '-c', PROBE_SCRIPT, 'probe', ctx.peers.a, ctx.peers.b, ctx.peers.world],
    network: ctx.networks.a,
    labels: underMoat(ctx.mode) ? { 'moat.egress': 'peer-b:80' } : ({} as Record<string, string>),
    alsoOn: ctx.mode === 'native' ? [ctx.networks.b] : [],
    ...(ctx.runtime ? { runtime: ctx.runtime } : {}),
  };
  const t0 = wallMs();
  const container = await createContainer(ctx.docker, spec);
  await start(container);
  const createStartMs = wallMs() - t0;
  const follow = await followOutput(container, ctx.docker);
  try {
    const lines = await waitOutput(follow, (l) => l.length >= 3, 20_000);
    const at = (what: string) => {
      const line = lines.find((l) => l.endsWith(` ${what}`));
      if (!line) throw new Error(`no ${what} line in ${JSON.stringify(lines)}`);
      return Number(line.split(' ')[0]) * 1000 - t0;
    };
    return { createStartMs, same: at('same'), cross: at('cross'), world: at('world'), id: container.id, t0 };
  } finally {
    follow.close();
    await remove(ctx.docker, container.id);
  }
}
