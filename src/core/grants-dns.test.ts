// dns: entries as grants (docs/policy.md#dns-names), by the rules they render: the
// container's addresses to the pattern's set, outside Docker only, both families;
// the forwarder's port 53 on dns.listen; nothing at all while dns.listen is null.
import { describe, expect, it } from 'vitest';
import { dockerLists, netId, type CtrSpec } from '../../test/fakes/docker-lists.js';
import { ConfigSchema } from './config.js';
import { computeDesired, createDesiredMemo } from './desired.js';
import { dnsSetName } from './dns-name.js';
import type { DockerLists } from './from-docker.js';
import { parsePolicyFile } from './policy-file.js';
import { renderText } from './render.js';
import { revokedFilters } from './revocation.js';
import { renderRule } from './rule.js';

const on = ConfigSchema.parse({ dns: { listen: '198.51.100.53' } });
const off = ConfigSchema.parse({});
const NETS = {
  front: { subnets: ['10.10.101.0/24', 'fd00:101::/64'] },
  back: { subnets: ['10.10.102.0/24'], labels: { 'moat.egress': 'none' } },
  vault: { subnets: ['10.10.104.0/24'], internal: true },
};
const lists = (ctrs: Record<string, CtrSpec>): DockerLists => dockerLists(NETS, ctrs);
const short = (net: string) => netId(net).slice(0, 12);
const rules = (text: string, needle: string) =>
  text
    .split('\n')
    .filter((l) => l.includes(needle))
    .map((l) => l.replace(/ -m comment --comment "[^"]*"/, ''));
const API4 = dnsSetName('api.example.com', 4);
const API6 = dnsSetName('api.example.com', 6);
const WILD4 = dnsSetName('*.cdn.example.net', 4);

describe('dns: grants', () => {
  it('render the container -> set rule in MOAT-OUT of each endpoint, jumping to MOAT-TO-EXTERNAL, both families', () => {
    const d = computeDesired(
      lists({ web: { nets: { front: '10.10.101.3,fd00:101::3' }, labels: { 'moat.egress': 'dns:api.example.com:443 dns:*.cdn.example.net/udp' } } }),
      on,
      [4, 6],
    );
    expect(d.problems).toEqual([]);
    expect(rules(renderText(d.rendered[0]!), 'moat:label:')).toEqual([
      `-A MOAT-OUT-${short('front')} -s 10.10.101.3/32 -p tcp -m tcp --dport 443 -m set --match-set ${API4} dst -j MOAT-TO-EXTERNAL`,
      `-A MOAT-OUT-${short('front')} -s 10.10.101.3/32 -p udp -m set --match-set ${WILD4} dst -j MOAT-TO-EXTERNAL`,
    ]);
    expect(rules(renderText(d.rendered[1]!), 'moat:label:')).toEqual([
      `-A MOAT-OUT-${short('front')} -s fd00:101::3/128 -p tcp -m tcp --dport 443 -m set --match-set ${API6} dst -j MOAT-TO-EXTERNAL`,
      `-A MOAT-OUT-${short('front')} -s fd00:101::3/128 -p udp -m set --match-set ${dnsSetName('*.cdn.example.net', 6)} dst -j MOAT-TO-EXTERNAL`,
    ]);
    expect(d.dnsSets.map((s) => s.name)).toEqual([API4, API6, WILD4, dnsSetName('*.cdn.example.net', 6)].sort());
    expect(d.dnsSets.find((s) => s.name === API6)).toEqual({ pattern: 'api.example.com', family: 6, name: API6 });
  });

  it('list one set per pattern and family whoever holds the grant, and no v6 set without IPv6 rendered or an IPv6 address', () => {
    const ctrs = {
      web: { nets: { front: '10.10.101.3' }, labels: { 'moat.egress': 'dns:api.example.com:443' } },
      app: { nets: { back: '10.10.102.3' }, labels: { 'moat.egress': 'dns:API.example.com.:443' } },
    };
    const d = computeDesired(lists(ctrs), on, [4, 6]);
    expect(d.dnsSets).toEqual([{ pattern: 'api.example.com', family: 4, name: API4 }]);
    const text = renderText(d.rendered[0]!);
    expect(rules(text, API4)).toHaveLength(2);
    // egress none on back does not matter: the grant is the entry.
    expect(rules(text, API4).some((r) => r.startsWith(`-A MOAT-OUT-${short('back')} -s 10.10.102.3/32`))).toBe(true);
    const v4only = computeDesired(lists({ web: { nets: { front: '10.10.101.3,fd00:101::3' }, labels: { 'moat.egress': 'dns:api.example.com' } } }), on, [4]);
    expect(v4only.dnsSets.map((s) => s.name)).toEqual([API4]);
  });

  it('come from policy files too', () => {
    const { rules: policy, errors } = parsePolicyFile('/etc/moat/policy.d/dns.yaml', '- select: { container: web }\n  egress: ["dns:api.example.com:443"]\n');
    expect(errors).toEqual([]);
    const d = computeDesired(lists({ web: { nets: { front: '10.10.101.3' } } }), on, [4, 6], policy);
    expect(rules(renderText(d.rendered[0]!), 'moat:policy:')).toEqual([
      `-A MOAT-OUT-${short('front')} -s 10.10.101.3/32 -p tcp -m tcp --dport 443 -m set --match-set ${API4} dst -j MOAT-TO-EXTERNAL`,
    ]);
    expect(d.dnsSets.map((s) => s.name)).toEqual([API4]);
  });

  it('grant nothing and are reported while dns.listen is null', () => {
    const d = computeDesired(lists({ web: { nets: { front: '10.10.101.3' }, labels: { 'moat.egress': 'dns:api.example.com:443 10.0.0.5:80' } } }), off, [4, 6]);
    expect(renderText(d.rendered[0]!)).not.toContain('match-set');
    expect(renderText(d.rendered[0]!)).toContain('-d 10.0.0.5/32');
    expect(d.dnsSets).toEqual([]);
    expect(d.problems).toEqual([
      expect.objectContaining({
        kind: 'label_invalid',
        container: 'web',
        key: 'moat.egress',
        value: 'dns:api.example.com:443',
        reason: 'dns: grants are off: dns.listen is null',
      }),
    ]);
  });

  it('never open from an internal network (reported), nor write the forwarder rule there', () => {
    const d = computeDesired(lists({ safe: { nets: { vault: '10.10.104.3' }, labels: { 'moat.egress': 'dns:api.example.com:443' } } }), on, [4, 6]);
    expect(renderText(d.rendered[0]!)).not.toContain('match-set');
    expect(d.dnsSets).toEqual([]);
    expect(d.problems).toEqual([expect.objectContaining({ kind: 'label_ignored', container: 'safe', reason: expect.stringContaining('internal') })]);
    expect(rules(renderText(d.rendered[0]!), `MOAT-HOST-${short('vault')}`).join('\n')).not.toContain('dns-forwarder');
  });

  it('drop the set from dnsSets when the last grant for it goes (the incremental path too)', () => {
    const memo = createDesiredMemo();
    const a = computeDesired(lists({ web: { nets: { front: '10.10.101.3' }, labels: { 'moat.egress': 'dns:api.example.com' } } }), on, [4, 6], [], memo);
    expect(a.dnsSets.map((s) => s.name)).toEqual([API4]);
    const b = computeDesired(lists({ web: { nets: { front: '10.10.101.3' } } }), on, [4, 6], [], memo);
    expect(b.dnsSets).toEqual([]);
  });
});

describe('the DNS forwarder rule', () => {
  const hostRules = (text: string) => text.split('\n').filter((l) => l.includes('moat:dns-forwarder'));

  it('lets every managed network reach dns.listen port 53 udp and tcp in MOAT-HOST, in its family only', () => {
    const d = computeDesired(lists({ web: { nets: { front: '10.10.101.3' } } }), on, [4, 6]);
    const v4 = hostRules(renderText(d.rendered[0]!));
    expect(v4.sort()).toEqual(
      ['front', 'back']
        .flatMap((n) => [
          `-A MOAT-HOST-${short(n)} -d 198.51.100.53/32 -p udp -m udp --dport 53 -m comment --comment "moat:dns-forwarder" -j ACCEPT`,
          `-A MOAT-HOST-${short(n)} -d 198.51.100.53/32 -p tcp -m tcp --dport 53 -m comment --comment "moat:dns-forwarder" -j ACCEPT`,
        ])
        .sort(),
    );
    expect(hostRules(renderText(d.rendered[1]!))).toEqual([]);
  });

  it('is IPv6 for an IPv6 listen address, and absent while dns.listen is null', () => {
    const v6 = ConfigSchema.parse({ dns: { listen: '2001:DB8:53::1' } });
    const d = computeDesired(lists({}), v6, [4, 6]);
    expect(hostRules(renderText(d.rendered[0]!))).toEqual([]);
    expect(hostRules(renderText(d.rendered[1]!))).toContain(
      `-A MOAT-HOST-${short('front')} -d 2001:db8:53::1/128 -p udp -m udp --dport 53 -m comment --comment "moat:dns-forwarder" -j ACCEPT`,
    );
    expect(renderText(computeDesired(lists({}), off, [4, 6]).rendered[0]!)).not.toContain('dns-forwarder');
  });
});

describe('Rule.dstSet', () => {
  it('renders right after the port match, and only a name dnsSetName makes', () => {
    const rule = { src: '10.0.0.1/32', proto: 'tcp', dport: '443', dstSet: API4, comment: 'moat:x', jump: 'ACCEPT' } as const;
    expect(renderRule(rule, 4)).toBe(`-s 10.0.0.1/32 -p tcp -m tcp --dport 443 -m set --match-set ${API4} dst -m comment --comment "moat:x" -j ACCEPT`);
    expect(() => renderRule({ ...rule, dstSet: 'moat-dns4-x dst -j ACCEPT' }, 4)).toThrow(/refusing to render set name/);
    expect(() => renderRule({ ...rule, dstSet: 'other' }, 4)).toThrow(/refusing/);
  });
});

describe('revoking a dns: grant', () => {
  it("cuts the container's connections on the grant's port (the ones still allowed are picked up again)", () => {
    const before = computeDesired(lists({ web: { nets: { front: '10.10.101.3' }, labels: { 'moat.egress': 'dns:api.example.com:443' } } }), on, [4]);
    const after = computeDesired(lists({ web: { nets: { front: '10.10.101.3' } } }), on, [4]);
    expect(revokedFilters(before.rulesets[0]!, after.rulesets[0]!)).toEqual([{ family: 4, args: ['-s', '10.10.101.3', '-p', 'tcp', '--dport', '443'] }]);
  });
});
