// examples/*.yml brought up for real with docker-compose (v1, against the
// bed's private engine through DOCKER_HOST) while moatd runs, each checked
// against the reachability table its header comment promises, then taken
// down again. docker-compose only talks to the engine's socket, so it runs in
// the machine's namespace; everything it creates lives in the bed.
import type Docker from 'dockerode';
import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource, netnsSource, type ProbeSource } from './testbed/probe.js';

const EXAMPLES = fileURLToPath(new URL('../../examples/', import.meta.url));
const MOAT = fileURLToPath(new URL('../../bin/moat', import.meta.url));

interface Service {
  readonly id: string;
  readonly name: string;
  /** Address on the project's network NAME (compose calls it PROJECT_NAME). */
  ip(network: string): string;
  gateway(network: string): string;
}

async function projectServices(docker: Docker, project: string): Promise<Map<string, Service>> {
  const list = await docker.listContainers({ filters: { label: [`com.docker.compose.project=${project}`] } });
  const out = new Map<string, Service>();
  for (const summary of list) {
    const info = await docker.getContainer(summary.Id).inspect();
    const endpoint = (network: string) => {
      const ep = info.NetworkSettings.Networks[`${project}_${network}`];
      if (!ep) throw new Error(`${info.Name} is not on ${project}_${network}`);
      return ep;
    };
    out.set(summary.Labels['com.docker.compose.service'] ?? '', {
      id: summary.Id,
      name: info.Name.replace(/^\//, ''),
      ip: (n) => endpoint(n).IPAddress,
      gateway: (n) => endpoint(n).Gateway,
    });
  }
  return out;
}

describe('examples/ brought up with docker-compose, checked by real connections', () => {
  let bed: Bed;
  let moatd: Moatd;
  let config: string;

  const compose = (project: string, file: string, ...args: string[]) =>
    execa('docker-compose', ['--no-ansi', '-p', project, '-f', `${EXAMPLES}${file}`, ...args], {
      env: { DOCKER_HOST: bed.engine.dockerHost },
      reject: false,
      timeout: 60_000,
    });

  /** `up -d`, then waits until every server listens and moatd has enforced the new containers. */
  const up = async (project: string, file: string): Promise<Map<string, Service>> => {
    const res = await compose(project, file, 'up', '-d');
    expect(res.exitCode, `docker-compose up: ${res.stderr}`).toBe(0);
    const services = await projectServices(bed.engine.docker, project);
    for (const s of services.values()) {
      for (let i = 0; ; i++) {
        const logs = await bed.engine.docker.getContainer(s.id).logs({ stdout: true, stderr: true });
        if (logs.toString('utf8').includes('ready')) break;
        if (i > 100) throw new Error(`${s.name} never printed ready`);
        await sleep(50);
      }
    }
    // moatd has caught up once `moat plan` finds the live rules equal to what it would write now.
    for (let i = 0; ; i++) {
      const plan = await bed.topology.host.run(MOAT, ['plan', '--quiet', '--config', config], { check: false, env: { DOCKER_HOST: bed.engine.dockerHost } });
      if (plan.exitCode === 0) break;
      if (i > 50) throw new Error(`moatd did not converge on ${project}: ${plan.stdout}${plan.stderr}`);
      await sleep(100);
    }
    return services;
  };

  const down = async (project: string, file: string) => {
    const res = await compose(project, file, 'down', '--timeout', '0');
    expect(res.exitCode, `docker-compose down: ${res.stderr}`).toBe(0);
  };

  beforeAll(async () => {
    const available = await execa('docker-compose', ['version', '--short'], { reject: false });
    if (available.exitCode !== 0) throw new Error('docker-compose (v1, Debian package docker-compose) is needed for examples.test.ts');
    bed = await createBed();
    config = await bed.writeFile('config.yaml', `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/moat.sock }\n`);
    moatd = bed.startMoatd({ configPath: config });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true });
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const peer = (kind: 'lan' | 'world') => netnsSource(bed.topology[kind].netns, kind);

  it('web-app.yml: proxy -> app across networks, backend without world egress, one LAN server by exception', async () => {
    const s = await up('webapp', 'web-app.yml');
    const { lan, world } = bed.topology;
    const src = (n: string): ProbeSource => containerSource(bed.engine.docker, s.get(n)!.id, n);
    const proxy = s.get('proxy')!;
    const app = s.get('app')!;
    const db = s.get('db')!;
    const cases: Case[] = [
      { name: 'world -> published proxy', from: peer('world'), to: world.hostIpv4, port: 18080, state: 'open', seen: proxy.gateway('frontend') },
      { name: 'lan -> published proxy', from: peer('lan'), to: lan.hostIpv4, port: 18080, state: 'open', seen: proxy.gateway('frontend') },
      { name: 'proxy -> app:8080', from: src('proxy'), to: app.ip('backend'), port: 8080, state: 'open', seen: proxy.ip('frontend') },
      { name: 'proxy -> db:5432', from: src('proxy'), to: db.ip('backend'), port: 5432, state: 'closed' },
      { name: 'proxy -> world', from: src('proxy'), to: world.ipv4, port: 80, state: 'open', seen: world.hostIpv4 },
      { name: 'app -> db:5432 (same network)', from: src('app'), to: db.ip('backend'), port: 5432, state: 'open', seen: app.ip('backend') },
      { name: 'app -> its LAN server', from: src('app'), to: lan.ipv4, port: 80, state: 'open', seen: lan.hostIpv4 },
      { name: 'app -> world', from: src('app'), to: world.ipv4, port: 80, state: 'closed' },
      { name: 'app -> proxy (one-sided grant)', from: src('app'), to: proxy.ip('frontend'), port: 80, state: 'closed' },
      { name: 'db -> lan', from: src('db'), to: lan.ipv4, port: 80, state: 'closed' },
      { name: 'db -> world', from: src('db'), to: world.ipv4, port: 80, state: 'closed' },
      { name: 'world -> app direct', from: peer('world'), to: app.ip('backend'), port: 8080, state: 'closed', reason: 'timeout', timeoutS: 1 },
    ];
    await check(cases);
    await down('webapp', 'web-app.yml');
  });

  it('three-tier.yml: each tier reaches only the next, on one port; ICC off in the back', async () => {
    const s = await up('tiers', 'three-tier.yml');
    const { world } = bed.topology;
    const src = (n: string): ProbeSource => containerSource(bed.engine.docker, s.get(n)!.id, n);
    const [web, api, cache, db, backup] = ['web', 'api', 'cache', 'db', 'backup'].map((n) => s.get(n)!) as [Service, Service, Service, Service, Service];
    const cases: Case[] = [
      { name: 'world -> published web', from: peer('world'), to: world.hostIpv4, port: 18081, state: 'open', seen: web.gateway('front') },
      { name: 'web -> api:8080', from: src('web'), to: api.ip('mid'), port: 8080, state: 'open', seen: web.ip('front') },
      { name: 'web -> cache', from: src('web'), to: cache.ip('mid'), port: 6379, state: 'closed' },
      { name: 'web -> db', from: src('web'), to: db.ip('back'), port: 5432, state: 'closed' },
      { name: 'web -> world', from: src('web'), to: world.ipv4, port: 80, state: 'open', seen: world.hostIpv4 },
      { name: 'api -> cache (same network)', from: src('api'), to: cache.ip('mid'), port: 6379, state: 'open', seen: api.ip('mid') },
      { name: 'api -> db:5432', from: src('api'), to: db.ip('back'), port: 5432, state: 'open', seen: api.ip('mid') },
      { name: 'api -> web', from: src('api'), to: web.ip('front'), port: 80, state: 'closed' },
      { name: 'api -> world', from: src('api'), to: world.ipv4, port: 80, state: 'closed' },
      { name: 'cache -> db', from: src('cache'), to: db.ip('back'), port: 5432, state: 'closed' },
      { name: 'backup -> db:5432 (ICC-off exception)', from: src('backup'), to: db.ip('back'), port: 5432, state: 'open', seen: backup.ip('back') },
      { name: 'db -> backup (ICC off)', from: src('db'), to: backup.ip('back'), port: 80, state: 'closed' },
      { name: 'db -> world', from: src('db'), to: world.ipv4, port: 80, state: 'closed' },
    ];
    await check(cases);
    await down('tiers', 'three-tier.yml');
  });

  it('routed.yml: real addresses on the way out, only the labelled port on the way in', async () => {
    const s = await up('routed', 'routed.yml');
    const { world } = bed.topology;
    const src = (n: string): ProbeSource => containerSource(bed.engine.docker, s.get(n)!.id, n);
    const edge = s.get('edge')!;
    const worker = s.get('worker')!;
    const cases: Case[] = [
      { name: 'worker -> world, unmasqueraded', from: src('worker'), to: world.ipv4, port: 80, state: 'open', seen: worker.ip('routed') },
      { name: 'edge -> world, unmasqueraded', from: src('edge'), to: world.ipv4, port: 80, state: 'open', seen: edge.ip('routed') },
      { name: 'world -> edge:80', from: peer('world'), to: edge.ip('routed'), port: 80, state: 'open', seen: world.ipv4 },
      { name: 'world -> edge:8080', from: peer('world'), to: edge.ip('routed'), port: 8080, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'world -> worker', from: peer('world'), to: worker.ip('routed'), port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
      { name: 'lan -> edge:80', from: peer('lan'), to: edge.ip('routed'), port: 80, state: 'closed', reason: 'timeout', timeoutS: 1 },
    ];
    expect(edge.ip('routed')).toMatch(/^10\.77\.0\./);
    await check(cases);
    await down('routed', 'routed.yml');
  });

  it('reported no label problem but names not started yet (compose starts services one by one)', () => {
    // A grant naming a service compose has not started yet is reported while it
    // does not exist, and resolved once it does (the tables above prove the latter).
    const problems = moatd.lines.filter((l) => String(l.event).startsWith('label_'));
    for (const p of problems) expect(p).toMatchObject({ event: 'label_invalid', reason: expect.stringMatching(/^no container or compose service named/) });
  });
});
