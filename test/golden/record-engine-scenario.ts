// Records a golden scenario's snapshot.json from a real engine's list
// answers (GET /networks, GET /containers/json, as moatd reads them): the
// things newer engines answer differently. Run as root, one engine at a time:
//
//   MOAT_ENGINE=28.5 npx tsx test/golden/record-engine-scenario.ts
//   MOAT_ENGINE=26.1 npx tsx test/golden/record-engine-scenario.ts
//
// writes test/golden/scenarios/engine-<version>/{snapshot.json,config.yaml};
// then `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden` renders
// the expected rules, to be reviewed like any golden diff.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dockerSource } from '../../src/adapters/docker.js';
import { createBed } from '../integration/testbed/bed.js';

const bed = await createBed();
try {
  const version = bed.engine.choice.version;
  const docker = bed.engine.docker;
  await bed.createNetwork({ name: 'dual', subnets: ['172.31.40.0/24', 'fd00:31:40::/64'] });
  await bed.createNetwork({ name: 'vault', subnets: ['172.31.41.0/24', 'fd00:31:41::/64'], internal: true });
  // No IPv6 subnet given: 27+ hand one out of their default pool (26.1 refuses: it has none).
  const newer = version === '28.5';
  await docker.createNetwork({ Name: 'pool6', EnableIPv6: newer, IPAM: { Config: [{ Subnet: '172.31.42.0/24' }] } });
  // IPv6 only (--ipv4=false), from 28.0 on.
  if (newer)
    await docker.createNetwork({ Name: 'only6', EnableIPv4: false, EnableIPv6: true, IPAM: { Config: [{ Subnet: 'fd00:31:43::/64' }] } } as Parameters<
      typeof docker.createNetwork
    >[0]);
  // Straight through the API (testcontainers insists on an IPv4 host port).
  const run = async (
    name: string,
    networks: string[],
    opts: { ports?: { port: string; hostIp?: string; hostPort: number }[]; labels?: Record<string, string> } = {},
  ) => {
    const ports = opts.ports ?? [];
    const c = await docker.createContainer({
      Image: bed.image,
      name,
      Cmd: ['serve', '80', '8080'],
      Labels: opts.labels ?? {},
      ExposedPorts: Object.fromEntries(ports.map((p) => [p.port, {}])),
      HostConfig: {
        NetworkMode: networks[0],
        PortBindings: Object.fromEntries(ports.map((p) => [p.port, [{ HostIp: p.hostIp ?? '', HostPort: String(p.hostPort) }]])),
      },
    });
    for (const n of networks.slice(1)) await docker.getNetwork(n).connect({ Container: c.id });
    await c.start();
  };
  await run('web', ['dual'], {
    ports: [
      { port: '80/tcp', hostPort: 18080 },
      { port: '8080/udp', hostPort: 18081 },
    ],
  });
  await run('local', ['dual'], { ports: [{ port: '80/tcp', hostPort: 18082, hostIp: '127.0.0.1' }] });
  await run('safe', ['vault'], { labels: { 'moat.egress': 'world:443' } });
  await run('pooled', ['pool6'], { ports: [{ port: '80/tcp', hostPort: 18083 }] });
  await run('multi', ['dual', 'vault'], { labels: { 'moat.ingress': 'web:80' } });
  if (newer) await run('six', ['only6'], { ports: [{ port: '80/tcp', hostPort: 18084 }], labels: { 'moat.egress': 'net:dual:80' } });
  const lists = await dockerSource(docker).lists();
  const dir = join(import.meta.dirname, 'scenarios', `engine-${version}`);
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'snapshot.json'), `${JSON.stringify(lists, null, 2)}\n`);
  writeFileSync(
    join(dir, 'config.yaml'),
    `# recorded from Docker ${(await docker.version()).Version} by test/golden/record-engine-scenario.ts\npublishMode: dnat\n`,
  );
  console.log(`wrote ${dir}`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await bed.dispose();
}
