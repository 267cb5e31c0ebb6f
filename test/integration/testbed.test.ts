// Proves the bed itself, without moat: every hole the default policy (docs/policy.md#default-matrix) closes is open on
// an engine running with "iptables": false, probes can tell open from
// closed, and teardown leaves nothing behind.
import { readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBed, type Bed } from './testbed/bed.js';
import { cgroupDirs } from './testbed/cgroups.js';
import { readRuleset } from './testbed/iptables.js';
import { mountsUnder } from './testbed/mounts.js';
import { pidsInNetns, pidsWithCmdline } from './testbed/processes.js';
import { check } from './testbed/check.js';
import { engineLine } from './testbed/engine-choice.js';
import { containerSource, netnsSource } from './testbed/probe.js';
import { execaRun } from './testbed/run.js';
import type { ServerContainer } from './testbed/server-container.js';

const HOST_PORT = 9000; // busybox httpd in the host namespace
const PUBLISHED = 18080; // b1's 8080, published on all host addresses

const rootSnapshot = async () => ({
  ipForward: await readFile('/proc/sys/net/ipv4/ip_forward', 'utf8'),
  ip6Forward: await readFile('/proc/sys/net/ipv6/conf/all/forwarding', 'utf8'),
  // Counters and timestamps aside, the machine's own ruleset must not move.
  v4: (await execaRun('iptables-save', [])).stdout
    .split('\n')
    .filter((l) => !l.startsWith('#'))
    .map((l) => l.replace(/\[\d+:\d+\]/, '')),
});

describe('test bed (no moat)', () => {
  let before: Awaited<ReturnType<typeof rootSnapshot>>;
  let bed: Bed;
  let a1: ServerContainer;
  let a2: ServerContainer;
  let b1: ServerContainer;

  beforeAll(async () => {
    before = await rootSnapshot();
    bed = await createBed({ hostHttpPorts: [HOST_PORT] });
    // 20.10: an IPv6 user network needs only --ipv6 and a subnet on the network, no daemon flag.
    await bed.createNetwork({ name: 'bed-a', subnets: ['172.30.1.0/24', 'fd00:cafe::/64'] });
    await bed.createNetwork({ name: 'bed-b', subnets: ['172.30.2.0/24', 'fd00:beef::/64'] });
    [a1, a2, b1] = await Promise.all([
      bed.startServer({ name: 'a1', networks: ['bed-a'] }),
      bed.startServer({ name: 'a2', networks: ['bed-a'] }),
      bed.startServer({ name: 'b1', networks: ['bed-b'], publish: [{ containerPort: 8080, hostPort: PUBLISHED }] }),
    ]);
  });

  afterAll(async () => {
    await bed?.dispose(); // no-op when the teardown test already ran
  });

  it('runs a private engine with "iptables": false in its own namespace', async () => {
    const info = await bed.engine.docker.info();
    expect(engineLine(info.ServerVersion ?? '')).toBe(bed.engine.choice.version);
    const v4 = await readRuleset(bed.topology.host, 4);
    expect(v4.rules('filter')).toEqual([]);
    expect(v4.rules('nat')).toEqual([]);
    expect((await readRuleset(bed.topology.host, 6)).rules('filter')).toEqual([]);
    expect((await bed.topology.host.run('sysctl', ['-n', 'net.ipv4.ip_forward'])).stdout).toBe('1');
    expect(a1.ipv6('bed-a')).toMatch(/^fd00:cafe::/);
  });

  it('has every IPv4 hole moat closes open, and probes can tell closed', async () => {
    const a = containerSource(bed.engine.docker, a1.id, 'a1');
    const { lan, world, host } = bed.topology;
    const fromLan = netnsSource(lan.netns, 'lan');
    const fromWorld = netnsSource(world.netns, 'world');
    const a1ip = a1.ipv4('bed-a');
    await check([
      { name: 'a1 -> a2 same network', from: a, to: a2.ipv4('bed-a'), port: 80, state: 'open', seen: a1ip },
      { name: 'a1 -> b1 other network', from: a, to: b1.ipv4('bed-b'), port: 80, state: 'open', seen: a1ip },
      { name: 'a1 -> host gateway', from: a, to: '172.30.1.1', port: HOST_PORT, state: 'open', seen: a1ip },
      { name: 'a1 -> host lan uplink', from: a, to: lan.hostIpv4, port: HOST_PORT, state: 'open', seen: a1ip },
      { name: 'a1 -> host world uplink', from: a, to: world.hostIpv4, port: HOST_PORT, state: 'open', seen: a1ip },
      // No masquerade without Docker's iptables: peers see the container's own address.
      { name: 'a1 -> lan peer', from: a, to: lan.ipv4, port: 80, state: 'open', seen: a1ip },
      { name: 'a1 -> world', from: a, to: world.ipv4, port: 80, state: 'open', seen: a1ip },
      { name: 'lan -> a1 unpublished', from: fromLan, to: a1ip, port: 80, state: 'open', seen: lan.ipv4 },
      { name: 'world -> a1 unpublished', from: fromWorld, to: a1ip, port: 80, state: 'open', seen: world.ipv4 },
      { name: 'world -> b1 unpublished port', from: fromWorld, to: b1.ipv4('bed-b'), port: 80, state: 'open', seen: world.ipv4 },
      // docker-proxy answers on the host and connects from the bridge gateway.
      { name: 'world -> published', from: fromWorld, to: world.hostIpv4, port: PUBLISHED, state: 'open', seen: '172.30.2.1' },
      { name: 'lan -> published', from: fromLan, to: lan.hostIpv4, port: PUBLISHED, state: 'open', seen: '172.30.2.1' },
      { name: 'host -> a1', from: netnsSource(host, 'host'), to: a1ip, port: 80, state: 'open', seen: '172.30.1.1' },
      { name: 'world -> unpublished host port', from: fromWorld, to: world.hostIpv4, port: PUBLISHED + 1, state: 'closed' },
      { name: 'a1 -> world closed port', from: a, to: world.ipv4, port: 81, state: 'closed' },
    ]);
  });

  it('has the same holes over IPv6 on --ipv6 networks', async () => {
    const a = containerSource(bed.engine.docker, a1.id, 'a1');
    const { lan, world } = bed.topology;
    const fromLan = netnsSource(lan.netns, 'lan');
    const fromWorld = netnsSource(world.netns, 'world');
    const a1ip = a1.ipv6('bed-a');
    await check([
      { name: 'a1 -> a2 same network', from: a, to: a2.ipv6('bed-a'), port: 80, state: 'open', seen: a1ip },
      { name: 'a1 -> b1 other network', from: a, to: b1.ipv6('bed-b'), port: 80, state: 'open', seen: a1ip },
      { name: 'a1 -> host gateway', from: a, to: 'fd00:cafe::1', port: HOST_PORT, state: 'open', seen: a1ip },
      { name: 'a1 -> host lan uplink', from: a, to: lan.hostIpv6, port: HOST_PORT, state: 'open', seen: a1ip },
      { name: 'a1 -> host world uplink', from: a, to: world.hostIpv6, port: HOST_PORT, state: 'open', seen: a1ip },
      { name: 'a1 -> lan peer', from: a, to: lan.ipv6, port: 80, state: 'open', seen: a1ip },
      { name: 'a1 -> world', from: a, to: world.ipv6, port: 80, state: 'open', seen: a1ip },
      { name: 'lan -> a1 unpublished', from: fromLan, to: a1ip, port: 80, state: 'open', seen: lan.ipv6 },
      { name: 'world -> a1 unpublished', from: fromWorld, to: a1ip, port: 80, state: 'open', seen: world.ipv6 },
      // docker-proxy also listens on [::]; on an IPv6 network it relays to the
      // container's IPv6 address, from the bridge's IPv6 gateway.
      { name: 'world -> published', from: fromWorld, to: world.hostIpv6, port: PUBLISHED, state: 'open', seen: 'fd00:beef::1' },
      { name: 'a1 -> world closed port', from: a, to: world.ipv6, port: 81, state: 'closed' },
    ]);
  });

  it('tells drop, reject and admin-prohibited apart (rules in the bed host namespace only)', async () => {
    const { lan, world, host } = bed.topology;
    const a1ip = a1.ipv4('bed-a');
    const rules = [
      ['-s', world.ipv4, '-d', a1ip, '-p', 'tcp', '--dport', '8080', '-j', 'DROP'],
      ['-s', lan.ipv4, '-d', a1ip, '-p', 'tcp', '--dport', '8080', '-j', 'REJECT', '--reject-with', 'tcp-reset'],
      ['-s', lan.ipv4, '-d', a1ip, '-p', 'tcp', '--dport', '80', '-j', 'REJECT', '--reject-with', 'icmp-admin-prohibited'],
    ];
    for (const rule of rules) await host.run('iptables', ['-w', '-A', 'FORWARD', ...rule]);
    try {
      expect((await readRuleset(host, 4)).rules('filter', 'FORWARD')).toHaveLength(3);
      const fromLan = netnsSource(lan.netns, 'lan');
      const fromWorld = netnsSource(world.netns, 'world');
      await check([
        { name: 'world -> a1:8080 dropped', from: fromWorld, to: a1ip, port: 8080, state: 'closed', reason: 'timeout', timeoutS: 1 },
        { name: 'lan -> a1:8080 reset', from: fromLan, to: a1ip, port: 8080, state: 'closed', reason: 'refused' },
        { name: 'lan -> a1:80 prohibited', from: fromLan, to: a1ip, port: 80, state: 'closed', reason: 'unreachable' },
        { name: 'world -> a1:80 untouched', from: fromWorld, to: a1ip, port: 80, state: 'open', seen: world.ipv4 },
      ]);
    } finally {
      for (const rule of rules) await host.run('iptables', ['-w', '-D', 'FORWARD', ...rule]);
    }
  });

  it('runs a daemon in the host namespace and follows its JSON events (fake moatd)', async () => {
    // Stands in for bin/moatd: same argv, env and stdout contract, and a TERM handler.
    const fake = await bed.writeFile(
      'fake-moatd',
      `#!/bin/sh
echo "{\\"event\\":\\"start\\",\\"argv\\":\\"$*\\",\\"dockerHost\\":\\"$DOCKER_HOST\\",\\"netns\\":\\"$(readlink /proc/self/ns/net)\\"}"
echo 'not json'
trap 'echo "{\\"event\\":\\"stop\\"}"; exit 0' TERM
i=0
while :; do i=$((i+1)); echo "{\\"event\\":\\"reconcile\\",\\"committed\\":true,\\"n\\":$i}"; sleep 0.05; done
`,
    );
    await execaRun('chmod', ['+x', fake]);
    const config = await bed.writeFile('moat.yaml', 'log: { level: debug }\n');
    const moatd = bed.startMoatd({ configPath: config, bin: fake });
    const start = await moatd.waitForEvent('start');
    expect(start).toEqual({ event: 'start', argv: `--config ${config}`, dockerHost: bed.engine.dockerHost, netns: `net:[${bed.topology.host.inode}]` });
    const mark = moatd.mark();
    const third = await moatd.waitForEvent((l) => l.event === 'reconcile' && Number(l.n) >= 3, { since: mark });
    expect(third).toMatchObject({ committed: true });
    await expect(moatd.waitForEvent('never', { timeoutMs: 200 })).rejects.toThrow(/no matching moatd event within 200 ms/);
    expect(moatd.noise).toContain('not json');
    expect(await moatd.stop()).toEqual({ exitCode: 0, signal: null });
    expect(moatd.lines.at(-1)).toEqual({ event: 'stop' });
    await expect(moatd.waitForEvent('never')).rejects.toThrow(/moatd exited/);
  });

  it('tears down without leaving a namespace, mount, cgroup, process or file', async () => {
    const { prefix, dir } = bed;
    const namespaces = bed.topology.namespaces.map((ns) => ({ name: ns.name, inode: ns.inode }));
    expect(namespaces).toHaveLength(3);

    const report = await bed.dispose();

    expect(report).toEqual({ forced: [], unmounted: [], cgroupsLeft: [] });
    const netnsList = (await execaRun('ip', ['netns', 'list'])).stdout;
    for (const ns of namespaces) {
      expect(netnsList).not.toContain(ns.name);
      expect(await pidsInNetns(ns.inode)).toEqual([]);
    }
    expect(await mountsUnder(dir)).toEqual([]);
    expect(await mountsUnder(`/run/netns/${prefix}`)).toEqual([]);
    expect((await readFile('/proc/self/mountinfo', 'utf8')).includes(prefix)).toBe(false);
    expect(await pidsWithCmdline(prefix)).toEqual([]);
    expect(await cgroupDirs(prefix)).toEqual([]);
    expect(existsSync(dir)).toBe(false);
    expect(await rootSnapshot()).toEqual(before);
  });
});
