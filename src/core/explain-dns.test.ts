// moat explain and dns: grants (docs/cli.md#moat-explain): the learned address that
// allowed a connection, and `unknown` when the answer depends on addresses moatd
// learned and its table is not available.
import { describe, expect, it } from 'vitest';
import { dockerLists, type CtrSpec } from '../../test/fakes/docker-lists.js';
import { ConfigSchema } from './config.js';
import { computeDesired } from './desired.js';
import { dnsSetName } from './dns-name.js';
import { explain, type Explanation } from './explain.js';
import { learnedFromStatus } from './explain-dns.js';

const config = ConfigSchema.parse({ dns: { listen: '198.51.100.53' } });
const NETS = {
  shut: { subnets: ['10.10.101.0/24'], labels: { 'moat.egress': 'none' } },
  open: { subnets: ['10.10.102.0/24'] },
};
const policy = (ctrs: Record<string, CtrSpec>) => computeDesired(dockerLists(NETS, ctrs), config, [4, 6]).policy;
const WEB = { web: { nets: { shut: '10.10.101.3' }, labels: { 'moat.egress': 'dns:api.example.com:443 dns:*.cdn.example.net:443' } } };
const LEARNED = new Map([
  ['api.example.com', [{ address: '203.0.113.7', name: 'api.example.com', expiresAt: '2026-12-01T15:00:00.000Z' }]],
  ['*.cdn.example.net', [{ address: '203.0.113.8', name: 'img.eu.cdn.example.net', expiresAt: '2026-12-01T15:05:00.000Z' }]],
]);
const ask = (dst: string, port: number | null, learned?: typeof LEARNED, ctrs: Record<string, CtrSpec> = WEB): Explanation => {
  const r = explain(policy(ctrs), config, 'web', dst, port, null, { learned });
  if (!r.ok) throw new Error(r.error);
  return r.explanation;
};

describe('explain: dns: grants', () => {
  it('names the entry and the learned address, with the name asked and its expiry', () => {
    const e = ask('203.0.113.7', 443, LEARNED);
    expect(e.verdict).toBe('allowed');
    expect(e.decision.kind).toBe('label');
    expect(e.decision.reason).toBe(
      'label moat.egress on web: dns:api.example.com:443, learned address 203.0.113.7 (asked as api.example.com, expires at 2026-12-01T15:00:00.000Z)',
    );
    expect(e.decision.rule).toMatch(/^moat:label:[0-9a-f]{12}:egress:0$/);
    // The first rule that matches decides: the wildcard's set is not looked up.
    expect(e.dns).toEqual([
      { pattern: 'api.example.com', set: dnsSetName('api.example.com', 4), address: '203.0.113.7', known: true, learned: LEARNED.get('api.example.com')![0] },
    ]);
  });

  it('a wildcard grant names the name that was asked (a CNAME chain counts for it)', () => {
    const e = ask('203.0.113.8', 443, LEARNED);
    expect(e.verdict).toBe('allowed');
    expect(e.decision.reason).toContain('dns:*.cdn.example.net:443, learned address 203.0.113.8 (asked as img.eu.cdn.example.net');
  });

  it('denies an address that was not learned, or another port, by what decides without the grant', () => {
    const e = ask('203.0.113.9', 443, LEARNED);
    expect(e.verdict).toBe('denied');
    expect(e.decision.reason).toContain('web may not reach world');
    expect(e.dns?.every((l) => l.known && l.learned === null)).toBe(true);
    const other = ask('203.0.113.7', 80, LEARNED);
    expect(other.verdict).toBe('denied');
    expect(other.dns).toBeUndefined(); // the set is never looked up: the port does not match
  });

  it('never lets a learned address open a container or the host; a lan address opens as a CIDR entry would', () => {
    const at = (address: string) => new Map([['api.example.com', [{ address, name: 'api.example.com', expiresAt: '2026-12-01T15:00:00.000Z' }]]]);
    const toHost = explain(policy(WEB), config, 'web', '192.0.2.1', 443, null, { learned: at('192.0.2.1'), hostAddresses: ['192.0.2.1'] });
    expect(toHost.ok && toHost.explanation.verdict).toBe('denied');
    expect(ask('192.168.1.5', 443, at('192.168.1.5')).verdict).toBe('allowed');
    const inDocker = new Map([['api.example.com', [{ address: '10.10.102.9', name: 'api.example.com', expiresAt: '2026-12-01T15:00:00.000Z' }]]]);
    const ctrs = { ...WEB, db: { nets: { open: '10.10.102.9' } } };
    expect(ask('10.10.102.9', 443, inDocker, ctrs).verdict).toBe('denied');
  });

  it('says unknown, with both outcomes, when the verdict depends on learned addresses moat cannot see', () => {
    const e = ask('203.0.113.7', 443, undefined);
    expect(e.verdict).toBe('unknown');
    expect(e.action).toBeNull();
    expect(e.decision.reason).toBe(
      'label moat.egress on web: dns:api.example.com:443 allows it if 203.0.113.7 was learned for that name; ' +
        'learned addresses unknown (moatd not reachable): dns:api.example.com. If it was not: denied, web may not reach world: network shut: egress none (network label moat.egress=none)',
    );
    expect(e.dns?.map((l) => [l.pattern, l.known])).toEqual([['api.example.com', false]]);
  });

  it('keeps a verdict that holds either way, with a note', () => {
    const ctrs = { web: { nets: { open: '10.10.102.3' }, labels: { 'moat.egress': 'dns:api.example.com:443' } } };
    const e = ask('203.0.113.7', 443, undefined, ctrs);
    expect(e.verdict).toBe('allowed');
    expect(e.decision.reason).toContain('web may reach world');
    expect(e.notes).toContain(
      'learned addresses unknown (moatd not reachable): dns:api.example.com; this verdict holds whether or not 203.0.113.7 was learned',
    );
  });

  it('notes that a query without an address cannot say what dns: entries allow', () => {
    const e = ask('world', 443, LEARNED);
    expect(e.verdict).toBe('denied');
    expect(e.notes).toContain("web's dns: entries allow only the addresses learned for their names: ask about one address to see them");
  });
});

describe('learnedFromStatus', () => {
  it("reads the status document's dns.grants, skipping malformed entries", () => {
    const doc = {
      dns: {
        enabled: true,
        grants: [
          {
            pattern: 'api.example.com',
            sets: { '4': 'x' },
            learned: [
              { address: '203.0.113.7', family: 4, name: 'api.example.com', expiresAt: '2026-12-01T15:00:00.000Z', askedBy: 'web' },
              { address: 7, name: 'x', expiresAt: 'y' },
            ],
          },
          { pattern: 5, learned: [] },
        ],
      },
    };
    expect(learnedFromStatus(doc)).toEqual(
      new Map([['api.example.com', [{ address: '203.0.113.7', name: 'api.example.com', expiresAt: '2026-12-01T15:00:00.000Z' }]]]),
    );
    expect(learnedFromStatus({})).toBeNull();
    expect(learnedFromStatus(null)).toBeNull();
    expect(learnedFromStatus({ dns: { grants: 'x' } })).toBeNull();
  });
});
