// Records two golden scenarios from a real engine's list answers (GET
// /networks, GET /containers/json, as moatd reads them), beside
// record-engine-scenario.ts, for what Docker 28 added:
//
//   engine-<v>-gateway-modes   gateway_mode_ipv4/ipv6 = nat, nat-unprotected,
//                              routed (host port given and not), mixed, isolated;
//                              an IPv4-only network; an exposed, unpublished port
//   engine-<v>-multi-network   containers on several networks: GwPriority,
//                              network name order, internal last, split IPv4 / IPv6
//                              gateways, a dual-stack network beating a higher priority
//
// Each folder also gets routes.json: every container's default routes as its
// kernel holds them (network name per family, read with nsenter), which
// src/core/gateway.test.ts holds moat's gateway choice to. Run as root:
//
//   MOAT_ENGINE=28.5 npx tsx test/golden/record-gateway-scenarios.ts
//
// then `UPDATE_GOLDEN=1 npx vitest run --project unit test/golden` renders
// the expected rules, to be reviewed like any golden diff. 28.0+ only
// (gateway modes, GwPriority and IPv6-only networks are 28's).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type Docker from 'dockerode';
import { dockerSource } from '../../src/adapters/docker.js';
import { createBed } from '../integration/testbed/bed.js';
import { execaRun } from '../integration/testbed/run.js';

const MODE = 'com.docker.network.bridge.gateway_mode_ipv';

interface Port {
  readonly port: string;
  readonly hostPort?: string;
  readonly hostIp?: string;
}
interface Attach {
  readonly net: string;
  readonly gwPriority?: number;
}

const bed = await createBed();
try {
  const version = bed.engine.choice.version;
  if (Number.parseFloat(version) < 28) throw new Error(`Docker ${version}: gateway modes and GwPriority need 28.0+`);
  const docker = bed.engine.docker;
  const networks: string[] = [];
  const net = async (Name: string, opts: { subnets: string[]; internal?: boolean; options?: Record<string, string> }) => {
    const v6 = opts.subnets.some((s) => s.includes(':'));
    const v4 = opts.subnets.some((s) => !s.includes(':'));
    await docker.createNetwork({
      Name,
      Driver: 'bridge',
      EnableIPv6: v6,
      EnableIPv4: v4,
      Internal: opts.internal ?? false,
      IPAM: { Config: opts.subnets.map((Subnet) => ({ Subnet })) },
      Options: opts.options ?? {},
    } as Parameters<Docker['createNetwork']>[0]);
    networks.push(Name);
  };
  const containers: string[] = [];
  // Straight through the API: the first network at create (with its GwPriority), the others by connect.
  const run = async (name: string, attach: Attach[], opts: { ports?: Port[]; expose?: string[]; labels?: Record<string, string> } = {}) => {
    const ports = opts.ports ?? [];
    const [first, ...rest] = attach;
    const bindings: Record<string, { HostIp: string; HostPort: string }[]> = {};
    for (const p of ports) (bindings[p.port] ??= []).push({ HostIp: p.hostIp ?? '', HostPort: p.hostPort ?? '' });
    const c = await docker.createContainer({
      Image: bed.image,
      name,
      Cmd: ['serve', '80', '8080'],
      Labels: opts.labels ?? {},
      ExposedPorts: Object.fromEntries([...ports.map((p) => p.port), ...(opts.expose ?? [])].map((p) => [p, {}])),
      HostConfig: { NetworkMode: first!.net, PortBindings: bindings },
      NetworkingConfig: { EndpointsConfig: { [first!.net]: { GwPriority: first!.gwPriority ?? 0 } } },
    } as unknown as Parameters<Docker['createContainer']>[0]);
    for (const a of rest) await docker.getNetwork(a.net).connect({ Container: c.id, EndpointConfig: { GwPriority: a.gwPriority ?? 0 } } as object);
    await c.start();
    containers.push(name);
  };

  // The default routes the engine gave each container, by the network whose gateway they go through.
  const routes = async () => {
    const out: Record<string, { v4: string | null; v6: string | null }> = {};
    for (const name of containers) {
      const info = await docker.getContainer(name).inspect();
      const byGateway = new Map<string, string>();
      for (const [n, ep] of Object.entries(info.NetworkSettings.Networks)) {
        if (ep.Gateway) byGateway.set(ep.Gateway, n);
        if (ep.IPv6Gateway) byGateway.set(ep.IPv6Gateway, n);
      }
      const via = async (family: '-4' | '-6') => {
        const r = await execaRun('nsenter', [`--net=/proc/${info.State.Pid}/ns/net`, 'ip', family, 'route', 'show', 'default']);
        const gw = /via (\S+)/.exec(r.stdout)?.[1];
        return gw ? (byGateway.get(gw) ?? `unknown gateway ${gw}`) : null;
      };
      out[name] = { v4: await via('-4'), v6: await via('-6') };
    }
    return out;
  };

  const write = async (scenario: string, note: string) => {
    const lists = await dockerSource(docker).lists();
    const dir = join(import.meta.dirname, 'scenarios', `engine-${version}-${scenario}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'snapshot.json'), `${JSON.stringify(lists, null, 2)}\n`);
    writeFileSync(join(dir, 'routes.json'), `${JSON.stringify(await routes(), null, 2)}\n`);
    writeFileSync(
      join(dir, 'config.yaml'),
      `# recorded from Docker ${(await docker.version()).Version} by test/golden/record-gateway-scenarios.ts\n# ${note}\npublishMode: dnat\n`,
    );
    console.log(`wrote ${dir}`);
    for (const c of containers.splice(0)) await docker.getContainer(c).remove({ force: true });
    for (const n of networks.splice(0)) await docker.getNetwork(n).remove();
  };

  await net('gw-nat', { subnets: ['172.31.50.0/24', 'fd00:31:50::/64'], options: { [`${MODE}4`]: 'nat', [`${MODE}6`]: 'nat' } });
  await net('gw-unprotected', {
    subnets: ['172.31.51.0/24', 'fd00:31:51::/64'],
    options: { [`${MODE}4`]: 'nat-unprotected', [`${MODE}6`]: 'nat-unprotected' },
  });
  await net('gw-routed', { subnets: ['172.31.52.0/24', 'fd00:31:52::/64'], options: { [`${MODE}4`]: 'routed', [`${MODE}6`]: 'routed' } });
  await net('gw-mixed', { subnets: ['172.31.53.0/24', 'fd00:31:53::/64'], options: { [`${MODE}4`]: 'nat', [`${MODE}6`]: 'routed' } });
  // 28.5 refuses isolated on a network that is not internal.
  await net('gw-isolated', { subnets: ['172.31.54.0/24', 'fd00:31:54::/64'], internal: true, options: { [`${MODE}4`]: 'isolated', [`${MODE}6`]: 'isolated' } });
  await net('plain4', { subnets: ['172.31.55.0/24'] });
  await run('nat-web', [{ net: 'gw-nat' }], { ports: [{ port: '80/tcp', hostPort: '28080' }, { port: '8080/udp', hostPort: '28081' }, { port: '9000/tcp' }] });
  await run('unprotected-web', [{ net: 'gw-unprotected' }], { ports: [{ port: '80/tcp', hostPort: '28082' }] });
  // Routed: a host port given is ignored, and none given is the usual form.
  await run('routed-web', [{ net: 'gw-routed' }], {
    ports: [{ port: '80/tcp', hostPort: '28083' }, { port: '8080/udp' }, { port: '81/tcp', hostIp: '127.0.0.1', hostPort: '28089' }],
    expose: ['443/tcp'],
  });
  await run('mixed-web', [{ net: 'gw-mixed' }], { ports: [{ port: '80/tcp', hostPort: '28084' }] });
  await run('isolated', [{ net: 'gw-isolated' }], { ports: [{ port: '80/tcp', hostPort: '28085' }], labels: { 'moat.egress': 'world' } });
  await run('v4-only', [{ net: 'plain4' }], {
    ports: [
      { port: '80/tcp', hostPort: '28086' },
      { port: '81/tcp', hostPort: '28087', hostIp: '::' },
      { port: '82/tcp', hostPort: '28088', hostIp: '0.0.0.0' },
    ],
  });
  await write('gateway-modes', 'gateway_mode_ipv4/ipv6: nat, nat-unprotected, routed, mixed (4 nat, 6 routed), isolated (internal); an IPv4-only network');

  await net('front', { subnets: ['172.31.60.0/24', 'fd00:31:60::/64'] });
  await net('back', { subnets: ['172.31.61.0/24', 'fd00:31:61::/64'] });
  await net('vault', { subnets: ['172.31.62.0/24', 'fd00:31:62::/64'], internal: true });
  await net('only4', { subnets: ['172.31.63.0/24'] });
  await net('only6', { subnets: ['fd00:31:64::/64'] });
  const web = { ports: [{ port: '80/tcp' }] };
  // back sorts first by name; front's priority wins.
  await run('prio', [{ net: 'back' }, { net: 'front', gwPriority: 10 }], web);
  await run('by-name', [{ net: 'front' }, { net: 'back' }], web);
  // A negative priority loses to the default 0.
  await run('demoted', [{ net: 'back', gwPriority: -1 }, { net: 'front' }], web);
  await run('with-vault', [{ net: 'vault', gwPriority: 100 }, { net: 'front' }], web);
  await run('split', [{ net: 'only6' }, { net: 'only4' }], web);
  // libnetwork's selectGatewayEndpoint: the first dual-stack endpoint takes both families.
  await run('dual-wins', [{ net: 'only4', gwPriority: 10 }, { net: 'front' }], web);
  await write('multi-network', 'containers on several networks: GwPriority, then the network name; internal last; IPv4 and IPv6 gateways apart');
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await bed.dispose();
}
