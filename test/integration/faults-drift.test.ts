// Drift and other tools (issue 7): moat's chains flushed, its jumps deleted or
// pushed down, a firewall reload (iptables-restore without --noflush), and
// `nft flush ruleset` are repaired by the drift check (on change, through
// `nft monitor`, on this nf_tables host) well inside a second, far inside
// resyncIntervalS (60 s here). An operator's own ruleset (custom
// chains, INPUT/FORWARD/nat rules, a DROP policy on FORWARD) is never changed.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { foreignOnly, moatPart, probeLoop, savedRules, settled, until } from './faults-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const RESYNC_S = 60;

/** How long a probed flow was seen open: "N of M probes, over T ms". */
const openWindow = (seen: readonly { at: number; state: string }[]) => {
  const open = seen.filter((s) => s.state === 'open');
  return `${open.length} of ${seen.length} probes, over ${open.length > 0 ? open.at(-1)!.at - open[0]!.at : 0} ms`;
};

// The operator's firewall, as `iptables-restore` (no --noflush) would load it at boot.
const OPERATOR_V4 = (lanIf: string, worldIf: string) => `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
:OPS-IN - [0:0]
:OPS-FWD - [0:0]
-A INPUT -i lo -j ACCEPT
-A INPUT -j OPS-IN
-A OPS-IN -p tcp -m tcp --dport 22 -j ACCEPT
-A OPS-IN -s 192.168.77.0/24 -p udp -m udp --dport 161 -j ACCEPT
-A FORWARD -j OPS-FWD
-A OPS-FWD -i ${lanIf} -o ${worldIf} -j ACCEPT
-A OPS-FWD -i ${worldIf} -o ${lanIf} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT
COMMIT
*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:OPS-NAT - [0:0]
-A POSTROUTING -j OPS-NAT
-A OPS-NAT -s 192.168.77.0/24 -o ${worldIf} -j MASQUERADE
COMMIT
`;
const OPERATOR_V6 = `*filter
:INPUT ACCEPT [0:0]
:FORWARD DROP [0:0]
:OUTPUT ACCEPT [0:0]
-A INPUT -p tcp -m tcp --dport 22 -j ACCEPT
COMMIT
`;

describe('drift and other tools', () => {
  let bed: Bed;
  let moatd: Moatd;
  let a1: ServerContainer, a2: ServerContainer, b1: ServerContainer;
  let foreign4: string, foreign6: string;
  const figures: Record<string, number | string | null> = {};
  const src = (c: ServerContainer) => containerSource(bed.engine.docker, c.id, c.name);
  const ipt = (...args: string[]) => bed.topology.host.run('iptables', ['-w', ...args]);
  const ip6t = (...args: string[]) => bed.topology.host.run('ip6tables', ['-w', ...args]);
  const monitored = () => moatd.lines.some((l) => l.event === 'drift_watch' && l.mode === 'monitor');
  const both = async () => `${moatPart(await savedRules(bed.topology.host, 4))}\n--v6--\n${moatPart(await savedRules(bed.topology.host, 6))}`;

  /** Tampers, then measures how long until moat's part of both rulesets is what it was. */
  const repairedAfter = async (name: string, tamper: () => Promise<unknown>) => {
    await settled(moatd);
    const want = await both();
    const mark = moatd.mark();
    await tamper();
    expect(await both()).not.toBe(want);
    const ms = await until(async () => (await both()) === want, 10_000, 50);
    figures[name] = ms;
    const now = (await both()).split('\n');
    const was = want.split('\n');
    expect(
      ms,
      `${name}: not repaired within 10 s; gone: ${JSON.stringify(was.filter((l) => !now.includes(l)))} new: ${JSON.stringify(now.filter((l) => !was.includes(l)))}`,
    ).not.toBeNull();
    // The drift check, not the 60 s resync, found it: on change with nft monitor, else polled every 2–5 s.
    expect(ms!).toBeLessThan(monitored() ? 2_000 : 8_000);
    await moatd.waitForEvent('drift_repaired', { since: mark, timeoutMs: 3_000 });
    expect(
      moatd.lines
        .slice(mark)
        .filter((l) => l.event === 'reconcile')
        .map((l) => l.trigger),
    ).not.toContain('resync');
  };

  const denied = () =>
    check([
      { name: 'same network', from: src(a1), to: a2.ipv4('dr-a'), port: 80, state: 'open' },
      { name: 'other network (denied)', from: src(a1), to: b1.ipv4('dr-b'), port: 80, state: 'closed' },
      { name: 'world', from: src(a1), to: bed.topology.world.ipv4, port: 80, state: 'open' },
    ]);

  beforeAll(async () => {
    bed = await createBed();
    const { host, lan, world } = bed.topology;
    await host.run('iptables-restore', [], { input: OPERATOR_V4(lan.hostIf, world.hostIf) });
    await host.run('ip6tables-restore', [], { input: OPERATOR_V6 });
    foreign4 = await savedRules(host, 4);
    foreign6 = await savedRules(host, 6);
    await bed.createNetwork({ name: 'dr-a', subnets: ['172.30.51.0/24', 'fd00:51::/64'] });
    await bed.createNetwork({ name: 'dr-b', subnets: ['172.30.52.0/24'] });
    [a1, a2, b1] = await Promise.all([
      bed.startServer({ name: 'dra1', networks: ['dr-a'] }),
      bed.startServer({ name: 'dra2', networks: ['dr-a'] }),
      bed.startServer({ name: 'drb1', networks: ['dr-b'] }),
    ]);
    moatd = bed.startMoatd({ configPath: await bed.writeFile('config.yaml', `reconcile: { resyncIntervalS: ${RESYNC_S} }\n`) });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
    figures.driftWatch = moatd.lines.find((l) => l.event === 'drift_watch')?.mode as string;
  });

  afterAll(async () => {
    console.log(`[faults-drift] repair ms ${JSON.stringify(figures)}`);
    await bed?.dispose();
  });

  it("enforces the policy on top of the operator's FORWARD DROP policy", async () => {
    await denied();
  });

  it('repairs a flushed moat chain', async () => {
    await repairedAfter('flushed MOAT-FORWARD', () => ipt('-F', 'MOAT-FORWARD'));
    await repairedAfter('flushed nat MOAT-POSTROUTING', () => ipt('-t', 'nat', '-F', 'MOAT-POSTROUTING'));
    await denied();
  });

  it('repairs a deleted jump, IPv4 and IPv6', async () => {
    await repairedAfter('deleted FORWARD jump', () => ipt('-D', 'FORWARD', '-j', 'MOAT-FORWARD'));
    await repairedAfter('deleted ip6 INPUT jump', () => ip6t('-D', 'INPUT', '-j', 'MOAT-INPUT'));
    await denied();
  });

  it('puts its jump back first when a rule is inserted above it, keeping that rule; the hole closes in seconds', async () => {
    const open = probeLoop(src(a1), b1.ipv4('dr-b'), 80);
    let forward: string[] = [];
    try {
      await repairedAfter('ACCEPT inserted above the FORWARD jump', () => ipt('-I', 'FORWARD', '1', '-j', 'ACCEPT'));
      forward = (await savedRules(bed.topology.host)).split('\n').filter((l) => l.startsWith('-A FORWARD '));
    } finally {
      await open.stop();
      await bed.topology.host.run('iptables', ['-w', '-D', 'FORWARD', '-j', 'ACCEPT'], { check: false });
    }
    figures['ACCEPT inserted: denied flow open'] = openWindow(open.seen);
    expect(forward).toEqual(['-A FORWARD -j MOAT-FORWARD', '-A FORWARD -j ACCEPT', '-A FORWARD -j OPS-FWD']);
    await denied();
  });

  it("never changes the operator's rules, chains or policies through churn and repairs", async () => {
    for (let i = 0; i < 3; i++) {
      const c = await bed.startServer({ name: `drc${i}`, networks: [i % 2 ? 'dr-a' : 'dr-b'] });
      await bed.engine.docker.getNetwork('dr-b').connect({ Container: a2.id });
      await bed.engine.docker.getNetwork('dr-b').disconnect({ Container: a2.id });
      await c.stop();
    }
    await settled(moatd);
    expect(foreignOnly(await savedRules(bed.topology.host, 4))).toBe(foreignOnly(foreign4));
    expect(foreignOnly(await savedRules(bed.topology.host, 6))).toBe(foreignOnly(foreign6));
    expect(await savedRules(bed.topology.host, 4)).toMatch(/^:FORWARD DROP/m);
  });

  it('repairs a firewall reload (iptables-restore without --noflush) and leaves the reloaded rules as loaded', async () => {
    const { host, lan, world } = bed.topology;
    await repairedAfter('firewall reload (iptables-restore, no --noflush)', () =>
      host.run('iptables-restore', [], { input: OPERATOR_V4(lan.hostIf, world.hostIf) }),
    );
    expect(foreignOnly(await savedRules(host, 4))).toBe(foreignOnly(foreign4));
    await denied();
  });

  it('repairs `nft flush ruleset` in both families', async () => {
    const open = probeLoop(src(a1), b1.ipv4('dr-b'), 80);
    try {
      await repairedAfter('nft flush ruleset', () => bed.topology.host.run('nft', ['flush', 'ruleset']));
    } finally {
      await open.stop();
    }
    figures['nft flush: denied flow open'] = openWindow(open.seen);
    await denied();
    expect(moatd.running()).toBe(true);
  });
});
