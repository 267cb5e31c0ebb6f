// The start gate (bin/moat-runc registered as Docker's default runtime): a
// new container's own first connection — one try at start, no retry — works
// for every flow its labels, its network or a policy file grant, every run,
// and a denied one is refused. The engine reports the container before its
// process runs (network connect, then the runtime's `start`), and moatd
// commits its rules before the gate lets the process go.
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBed, type Bed } from './testbed/bed.js';
import { startFirstConnection, type FirstConnectionSpec } from './testbed/first-connection.js';
import type { Moatd } from './testbed/moatd.js';
import { probe } from './testbed/probe.js';
import { netnsSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const RUNS = 3;
const HOST_PORT = 9000;
const PUBLISHED = 18090;
const NETS = {
  ga: { subnets: ['172.31.60.0/24', 'fd00:31:60::/64'] },
  gb: { subnets: ['172.31.61.0/24'] },
  gc: { subnets: ['172.31.62.0/24'] },
  gp: { subnets: ['172.31.63.0/24'] },
  gz: { subnets: ['172.31.64.0/24'], labels: { 'moat.egress': 'none' } },
} as const;

describe("start gate: a container's own first connection", () => {
  let bed: Bed;
  let moatd: Moatd;
  const servers: Record<string, ServerContainer> = {};
  const ingressNames = Array.from({ length: RUNS }, (_, i) => `fi-ingress-${i}`);

  beforeAll(async () => {
    bed = await createBed({ peerHttpPorts: [80], hostHttpPorts: [HOST_PORT], startGate: true });
    const socket = join(bed.dir, 'moat.sock');
    for (const [name, spec] of Object.entries(NETS)) await bed.createNetwork({ name, ...spec });
    const started = await Promise.all([
      bed.startServer({ name: 'same', networks: ['ga'] }),
      bed.startServer({ name: 'target', networks: ['gb'] }),
      bed.startServer({ name: 'welcoming', networks: ['gc'], labels: { 'moat.ingress': ingressNames.map((n) => `${n}:80`).join(' ') } }),
    ]);
    for (const s of started) servers[s.name] = s;
    await bed.writeFile('policy.d/grant.yaml', '- select: { network: gp }\n  egress: ["target:80"]\n');
    const config = await bed.writeFile('config.yaml', `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${socket} }\n`);
    moatd = bed.startMoatd({ configPath: config });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true });
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const world = () => bed.topology.world;
  const lan = () => bed.topology.lan;
  const gateway = (net: string) => (NETS[net as keyof typeof NETS].subnets[0] ?? '').replace(/0\/24$/, '1');

  /** Each case RUNS times, the runs of all cases at once; every verdict in one assertion. */
  async function firstConnections(cases: Record<string, (run: number) => Omit<FirstConnectionSpec, 'name'> & { name?: string; want: 'open' | 'closed' }>) {
    const started = await Promise.all(
      Object.entries(cases).flatMap(([label, make], index) =>
        Array.from({ length: RUNS }, async (_, run) => {
          const spec = make(run);
          const fc = await startFirstConnection(bed.engine.docker, { ...spec, name: spec.name ?? `fc-${index}-${run}` });
          return { label, run, want: spec.want, fc };
        }),
      ),
    );
    const got = await Promise.all(started.map(async (s) => `${s.label} #${s.run}: ${await s.fc.result}`));
    const logs = await Promise.all(started.map(async (s) => `${s.fc.name}: ${await s.fc.logs()}`));
    await Promise.all(started.map((s) => s.fc.remove()));
    expect(got, logs.join('\n')).toEqual(started.map((s) => `${s.label} #${s.run}: ${s.want}`));
  }

  it('every granted first connection opens, every run; a denied one is refused', async () => {
    await firstConnections({
      'world (default egress)': () => ({ network: 'ga', to: world().ipv4, port: 80, want: 'open' }),
      'world over IPv6': () => ({ network: 'ga', to: world().ipv6, port: 80, want: 'open' }),
      'same network': () => ({ network: 'ga', to: servers.same!.ipv4('ga'), port: 80, want: 'open' }),
      'other network by moat.egress': () => ({ network: 'ga', labels: { 'moat.egress': 'target:80' }, to: servers.target!.ipv4('gb'), port: 80, want: 'open' }),
      "other network by the peer's moat.ingress": (run) => ({
        name: ingressNames[run],
        network: 'ga',
        to: servers.welcoming!.ipv4('gc'),
        port: 80,
        want: 'open',
      }),
      'other network by a policy file': () => ({ network: 'gp', to: servers.target!.ipv4('gb'), port: 80, want: 'open' }),
      'host:PORT': () => ({ network: 'gz', labels: { 'moat.egress': `host:${HOST_PORT}` }, to: gateway('gz'), port: HOST_PORT, want: 'open' }),
      'a LAN CIDR': () => ({ network: 'gz', labels: { 'moat.egress': '192.168.77.0/24:80' }, to: lan().ipv4, port: 80, want: 'open' }),
      'dual-homed, second network joined before start': () => ({ network: 'gz', also: ['gb'], to: servers.target!.ipv4('gb'), port: 80, want: 'open' }),
      'denied: other network, no grant': () => ({ network: 'ga', to: servers.target!.ipv4('gb'), port: 80, want: 'closed' }),
      'denied: egress none': () => ({ network: 'gz', to: world().ipv4, port: 80, want: 'closed' }),
    });
  });

  it('a published port answers the LAN right after the start returns', async () => {
    for (let run = 0; run < RUNS; run++) {
      const server = await bed.startServer({ name: `pub-${run}`, networks: ['ga'], publish: [{ containerPort: 80, hostPort: PUBLISHED + run }] });
      const res = await probe(netnsSource(lan().netns, 'lan'), lan().hostIpv4, PUBLISHED + run);
      expect(res.state, `run ${run}: ${JSON.stringify(res)}`).toBe('open');
      await server.stop();
    }
  });

  it('docker-compose up of 10 services that each connect to another at start: all 10 open', async () => {
    const file = await bed.writeFile(
      'compose/fc.yml',
      [
        'version: "2.4"',
        'services:',
        ...Array.from({ length: 10 }, (_, i) => [
          `  s${i}:`,
          `    image: moat-probe:latest`,
          `    networks: [${i % 2 ? 'back' : 'front'}]`,
          `    labels: { moat.egress: "target:80" }`,
          `    command: ["/bin/sh", "-c", "if timeout 3 wget -q -O /dev/null http://${servers.target!.ipv4('gb')}/cgi-bin/ip; then echo FIRST-CONNECTION-OPEN; else echo FIRST-CONNECTION-CLOSED; fi; exec sleep 2147483647"]`,
        ]).flat(),
        'networks:',
        '  front: { ipam: { config: [{ subnet: 172.31.65.0/24 }] } }',
        '  back: { ipam: { config: [{ subnet: 172.31.66.0/24 }] } }',
      ].join('\n'),
    );
    const compose = (...args: string[]) =>
      execa('docker-compose', ['--no-ansi', '-p', 'fc', '-f', file, ...args], { env: { DOCKER_HOST: bed.engine.dockerHost }, reject: false, timeout: 90_000 });
    const up = await compose('up', '-d');
    expect(up.exitCode, up.stderr).toBe(0);
    try {
      const list = await bed.engine.docker.listContainers({ all: true, filters: { label: ['com.docker.compose.project=fc'] } });
      expect(list).toHaveLength(10);
      const verdicts = await Promise.all(
        list.map(async (c) => {
          for (let i = 0; i < 200; i++) {
            const logs = (await bed.engine.docker.getContainer(c.Id).logs({ stdout: true, stderr: true })).toString('utf8');
            if (/FIRST-CONNECTION-(OPEN|CLOSED)/.test(logs)) return `${c.Labels['com.docker.compose.service']}: ${logs.includes('OPEN') ? 'open' : 'closed'}`;
            await new Promise((r) => setTimeout(r, 50));
          }
          return `${c.Labels['com.docker.compose.service']}: no verdict`;
        }),
      );
      expect(verdicts.sort()).toEqual(list.map((c) => `${c.Labels['com.docker.compose.service']}: open`).sort());
    } finally {
      const down = await compose('down', '--timeout', '0');
      expect(down.exitCode, down.stderr).toBe(0);
    }
  });

  it('logs no start_gate_timeout while moatd answers', () => {
    const timeouts = moatd.lines.filter((l) => l.event === 'start_gate_timeout');
    expect(timeouts, JSON.stringify(timeouts)).toEqual([]);
  });
});
