// Bad labels (docs/policy.md#problems) and the configurable prefix (docs/policy.md#labels), by real connections and
// the namespace's live ruleset:
// - an entry that does not parse, or names nothing, is skipped and logged as
//   label_invalid with container, key, value and reason; the label's valid
//   entries still apply, and nothing about any other container changes;
// - hostile label text (newlines, quotes, `-j ACCEPT`, shell syntax) reaches
//   no rule: iptables-save holds only validated tokens;
// - a name that resolves to nothing today resolves once the container exists;
// - an address range inside a Docker network is reported (label_ignored), not granted;
// - with `labelPrefix: acme.fw` only acme.fw.* labels count, on containers
//   and on networks, and moat.* labels are plain labels.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { allOpen, flowCases, startFlowsMoatd } from './flows-cases.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import { readRuleset } from './testbed/iptables.js';
import type { Moatd, MoatdLine } from './testbed/moatd.js';
import type { ServerContainer } from './testbed/server-container.js';

const NETS = {
  la: { subnets: ['172.31.30.0/24', 'fd00:31:30::/64'] },
  lb: { subnets: ['172.31.31.0/24', 'fd00:31:31::/64'] },
  lz: { subnets: ['172.31.32.0/24', 'fd00:31:32::/64'], labels: { 'moat.egress': 'none' } },
  lx: { subnets: ['172.31.33.0/24'], labels: { 'acme.fw.egress': 'none' } },
  lq: { subnets: ['172.31.34.0/24'], labels: { 'acme.fw.icc': 'false' } },
  lm: { subnets: ['172.31.35.0/24'], labels: { 'moat.icc': 'false' } },
} as const;
type Net = keyof typeof NETS;

const HOSTILE_EGRESS = 'world:80 -j ACCEPT\n-A MOAT-FORWARD -j ACCEPT\n"x";$(touch /tmp/moat-pwned) \'q\' `id` COMMIT\r\n';
const HOSTILE_INGRESS = "lan:80'; DROP TABLE\r\n-I INPUT 1 -j ACCEPT\u2028[::]/0 world\u00a0:80";
const BAD_ENTRIES = ['t1:99999', 'nosuch:80', 'world/TCP', 'net:ghost:80', '8080', '[::1'];

const CONTAINERS: Record<string, { net: Net; labels?: Record<string, string> }> = {
  good: { net: 'la', labels: { 'moat.egress': 't1:80' } },
  bad: { net: 'la', labels: { 'moat.egress': `${BAD_ENTRIES.slice(0, 4).join(' ')} t1:8080, ${BAD_ENTRIES.slice(4).join(',')}` } },
  evil: { net: 'lz', labels: { 'moat.egress': HOSTILE_EGRESS } },
  evil2: { net: 'lb', labels: { 'moat.ingress': HOSTILE_INGRESS } },
  t1: { net: 'lb' },
  'later-ref': { net: 'la', labels: { 'moat.egress': 'later:80' } },
  // lb's subnet: it covers lb's containers (docs/policy.md#peer-kinds), never an external address;
  // a range there that no container's address falls in grants nothing and is reported
  'cidr-in-docker': { net: 'la', labels: { 'moat.egress': '172.31.31.0/24:80' } },
  'cidr-empty': { net: 'la', labels: { 'moat.egress': '172.31.31.192/26:80' } },
  pre1: { net: 'la', labels: { 'acme.fw.egress': 't1:8080', 'acme.fw.ingress': 'bogus!', 'moat.egress': 't1:80' } },
  pre2: { net: 'lb', labels: { 'acme.fw.ingress': 'good:8080' } },
  x1: { net: 'lx' },
  z1: { net: 'lz' },
  q1: { net: 'lq' },
  q2: { net: 'lq' },
  m1: { net: 'lm' },
  m2: { net: 'lm' },
};

/** Containers started during the tests. */
const LATE: Record<string, Net> = { later: 'lb', bad2: 'la' };

describe('bad labels and the label prefix (docs/policy.md#problems)', () => {
  let bed: Bed;
  let moatd: Moatd;
  const c: Record<string, ServerContainer> = {};

  beforeAll(async () => {
    bed = await createBed({ peerHttpPorts: [80, 8081] });
    for (const [name, spec] of Object.entries(NETS)) await bed.createNetwork({ name, ...spec });
    const started = await Promise.all(Object.entries(CONTAINERS).map(([name, spec]) => bed.startServer({ name, networks: [spec.net], labels: spec.labels })));
    for (const s of started) c[s.name] = s;
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const netOf = (name: string): Net => CONTAINERS[name]?.net ?? LATE[name] ?? 'lb';
  const { cc, toPeer, fromPeer } = flowCases({ bed: () => bed, containers: c, networkOf: netOf });
  const invalid = (m: Moatd, container: string): MoatdLine[] => m.lines.filter((l) => l.event === 'label_invalid' && l.container === container);

  const badCases = (): Case[] => [
    cc('good', 't1', 80, 'open'),
    cc('good', 't1', 8080, 'closed'),
    // bad: its one valid entry applies, the rest open nothing
    cc('bad', 't1', 8080, 'open'),
    cc('bad', 't1', 80, 'closed'),
    toPeer('bad', 'world', 80, 'open'), // la's default world egress is untouched by the bad entries
    // evil: world:80 is the one valid entry; everything else in the text is inert
    toPeer('evil', 'world', 80, 'open'),
    toPeer('evil', 'world', 8081, 'closed'),
    toPeer('evil', 'lan', 80, 'closed'),
    cc('evil', 't1', 80, 'closed'),
    fromPeer('lan', 'evil2', 80, 'closed'),
    fromPeer('world', 'evil2', 80, 'closed'),
    cc('good', 'evil2', 80, 'closed'),
    // a name that does not exist yet opens nothing
    cc('later-ref', 't1', 80, 'closed'),
    // an address range inside a Docker network opens the containers in it, and only them
    cc('cidr-in-docker', 't1', 80, 'open'),
    cc('cidr-in-docker', 't1', 8080, 'closed'),
    cc('cidr-empty', 't1', 80, 'closed'),
  ];

  const prefixCases = (prefix: 'moat' | 'acme.fw'): Case[] => {
    const acme = prefix === 'acme.fw';
    const st = (open: boolean) => (open ? 'open' : 'closed');
    return [
      cc('pre1', 't1', 80, st(!acme)),
      cc('pre1', 't1', 8080, st(acme)),
      cc('good', 'pre2', 8080, st(acme)),
      cc('good', 't1', 80, st(!acme)),
      toPeer('x1', 'world', 80, st(!acme)),
      toPeer('z1', 'world', 80, st(acme)),
      cc('q1', 'q2', 80, st(!acme)),
      cc('m1', 'm2', 80, st(acme)),
    ];
  };

  it('has every probed cell open before moatd runs', async () => {
    const all = [...badCases(), ...prefixCases('moat'), ...prefixCases('acme.fw')];
    await check(allOpen(all));
    moatd = await startFlowsMoatd(bed);
  });

  it('applies the valid entries of a bad label and nothing else', async () => {
    await check(badCases());
  });

  it('logs label_invalid with container, key, value and reason for each bad entry', () => {
    const bad = invalid(moatd, 'bad');
    expect(bad.map((l) => l.value).sort()).toEqual([...BAD_ENTRIES].sort());
    for (const l of bad) {
      expect(l).toMatchObject({ key: 'moat.egress', container: 'bad', reason: expect.any(String) });
      expect(String(l.reason).length).toBeGreaterThan(5);
    }
    expect(bad.find((l) => l.value === 'nosuch:80')?.reason).toMatch(/no container or compose service named "nosuch"/);
    expect(bad.find((l) => l.value === 'net:ghost:80')?.reason).toMatch(/no network named "ghost"/);
    expect(bad.find((l) => l.value === 't1:99999')?.reason).toMatch(/out of range/);
    expect(moatd.lines.filter((l) => l.event === 'label_ignored')).toEqual([
      expect.objectContaining({
        container: 'cidr-empty',
        key: 'moat.egress',
        value: '172.31.31.192/26:80',
        reason: expect.stringMatching(/Docker network "lb"/),
      }),
    ]);
    expect(invalid(moatd, 'later-ref')).toEqual([
      expect.objectContaining({ key: 'moat.egress', value: 'later:80', reason: expect.stringMatching(/no container/) }),
    ]);
    // Hostile text is reported escaped: one log line per problem, no raw control characters.
    const evil = [...invalid(moatd, 'evil'), ...invalid(moatd, 'evil2')];
    expect(evil.length).toBeGreaterThanOrEqual(8);
    for (const l of evil) expect(String(l.value)).not.toMatch(/[\n\r\u2028\u00a0]/);
    expect(moatd.noise).toEqual([]);
  });

  it('lets no label text reach the ruleset: only validated tokens, every rule tagged', async () => {
    const evilId = c.evil!.id.slice(0, 12);
    const evil2Id = c.evil2!.id.slice(0, 12);
    for (const family of [4, 6] as const) {
      const rs = await readRuleset(bed.topology.host, family);
      for (const needle of ['pwned', '$(', '`', "'", 'DROP TABLE', 'COMMIT\r', 'bogus', 'ghost', 'nosuch', '"x"'])
        expect(rs.text, needle).not.toContain(needle);
      // Built-in chains hold only moat's jump (the bed adds no rules of its own here).
      expect(rs.rules('filter', 'INPUT').map((r) => r.spec)).toEqual(['-j MOAT-INPUT']);
      expect(rs.rules('filter', 'FORWARD').map((r) => r.spec)).toEqual(['-j MOAT-FORWARD']);
      const moatRules = rs.rules('filter').filter((r) => r.chain.startsWith('MOAT-'));
      for (const r of moatRules) expect(r.spec, `${r.chain} ${r.spec}`).toMatch(/--comment "?moat:[A-Za-z0-9_.:/=-]+"? /);
      // evil's only rules come from its one valid entry; evil2 has none.
      const evilIds = new Set(moatRules.flatMap((r) => [...r.spec.matchAll(new RegExp(`moat:label:${evilId}:[a-z]+:\\d+`, 'g'))].map((m) => m[0])));
      expect([...evilIds]).toEqual([`moat:label:${evilId}:egress:0`]);
      expect(rs.text).not.toContain(`label:${evil2Id}`);
    }
  });

  it('resolves a name once its container exists, and a new bad label removes no other flow', async () => {
    let mark = moatd.mark();
    c.later = await bed.startServer({ name: 'later', networks: ['lb'] });
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true, { since: mark });
    await check([cc('later-ref', 'later', 80, 'open'), cc('later-ref', 'later', 8080, 'closed')]);

    mark = moatd.mark();
    c.bad2 = await bed.startServer({ name: 'bad2', networks: ['la'], labels: { 'moat.egress': 't1:80 ghost2 t1:0', 'moat.ingress': 'good:8080 net:' } });
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true, { since: mark });
    await check([
      cc('good', 't1', 80, 'open'),
      cc('bad', 't1', 8080, 'open'),
      cc('later-ref', 'later', 80, 'open'),
      cc('bad2', 't1', 80, 'open'),
      cc('good', 'bad2', 8080, 'open'),
      cc('good', 'bad2', 80, 'open'), // same network: ICC, untouched by bad2's labels
    ]);
    const reported = moatd.lines.slice(mark).filter((l) => l.event === 'label_invalid' && l.container === 'bad2');
    expect(reported.map((l) => `${String(l.key)} ${String(l.value)}`).sort()).toEqual(['moat.egress ghost2', 'moat.egress t1:0', 'moat.ingress net:']);
  });

  it('with labelPrefix: acme.fw, only acme.fw.* labels count, on containers and networks', async () => {
    await check(prefixCases('moat'));
    await moatd.stop();
    moatd = await startFlowsMoatd(bed, 'labelPrefix: acme.fw\n');
    await check(prefixCases('acme.fw'));
    // moat.* labels are now ordinary labels: none of the bad ones above is reported.
    const reported = moatd.lines.filter((l) => l.event === 'label_invalid');
    expect(reported).toEqual([expect.objectContaining({ container: 'pre1', key: 'acme.fw.ingress', value: 'bogus!' })]);
  });
});
