// dns: entries in the label grammar (labels-dns.ts, docs/policy.md#dns-names).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { matchesDnsPattern, normaliseQueryName } from './dns-name.js';
import { formatEntry, parseLabelValue, type Entry } from './labels.js';
import { parsePolicyFile } from './policy-file.js';

const one = (value: string): Omit<Entry, 'text'> => {
  const { entries, problems } = parseLabelValue(value, 'egress');
  expect(problems).toEqual([]);
  expect(entries).toHaveLength(1);
  const { text: _text, ...shape } = entries[0]!;
  return shape;
};
const reasonOf = (value: string, kind: 'egress' | 'ingress' = 'egress'): string => {
  const { entries, problems } = parseLabelValue(value, kind);
  expect(entries).toEqual([]);
  expect(problems).toHaveLength(1);
  return problems[0]!.reason;
};
const dns = (pattern: string) => ({ kind: 'dns', pattern }) as const;

describe('parseLabelValue: dns: entries', () => {
  it('reads names and patterns with ports and protocols', () => {
    expect(one('dns:api.github.com')).toEqual({ peer: dns('api.github.com'), ports: null, proto: null });
    expect(one('dns:api.github.com:443')).toEqual({ peer: dns('api.github.com'), ports: { lo: 443, hi: 443 }, proto: 'tcp' });
    expect(one('dns:*.githubusercontent.com:443')).toEqual({ peer: dns('*.githubusercontent.com'), ports: { lo: 443, hi: 443 }, proto: 'tcp' });
    expect(one('dns:ntp.example.org:123/udp')).toEqual({ peer: dns('ntp.example.org'), ports: { lo: 123, hi: 123 }, proto: 'udp' });
    expect(one('dns:*.example.org:8000-8100')).toEqual({ peer: dns('*.example.org'), ports: { lo: 8000, hi: 8100 }, proto: 'tcp' });
    expect(one('dns:ping.example.org/icmp')).toEqual({ peer: dns('ping.example.org'), ports: null, proto: 'icmp' });
  });

  it('stores the name lower-case without its trailing dot, so spellings of one entry are one', () => {
    expect(one('dns:API.GitHub.com.:443').peer).toEqual(dns('api.github.com'));
    const { entries } = parseLabelValue('dns:api.github.com:443 dns:API.github.com.:443/tcp', 'egress');
    expect(entries.map(formatEntry)).toEqual(['dns:api.github.com:443/tcp']);
  });

  it('sits beside other entries', () => {
    const { entries, problems } = parseLabelValue('dns:a.example.com:443, 10.0.0.5:80 world:53/udp', 'egress');
    expect(problems).toEqual([]);
    expect(entries.map(formatEntry)).toEqual(['dns:a.example.com:443/tcp', '10.0.0.5/32:80/tcp', 'world:53/udp']);
  });

  it('is egress only', () => {
    expect(reasonOf('dns:api.github.com:443', 'ingress')).toContain('dns: is egress only');
  });

  it('refuses what is not a name, with the reason', () => {
    expect(reasonOf('dns:localhost')).toContain('a host name needs a dot');
    expect(reasonOf('dns:*.com:443')).toContain('at least two labels');
    expect(reasonOf('dns:a.*.example.com')).toContain("'*'");
    expect(reasonOf('dns:')).toContain('missing name');
    expect(reasonOf('dns::443')).toContain('missing name');
    expect(reasonOf('dns:bücher.example')).toContain('punycode');
    expect(reasonOf('dns:-a.example.com')).toContain("'-'");
    expect(reasonOf(`dns:${'a'.repeat(64)}.example.com`)).toContain('longer than 63');
    expect(reasonOf('dns:10.0.0.5:80')).toContain('address entry');
    expect(reasonOf('dns:a.example.com:0')).toContain('out of range');
    expect(reasonOf('dns:a.example.com:443/web')).toContain('unknown protocol');
    expect(reasonOf('dns:a.example.com/x/tcp')).toContain("'/'");
    expect(reasonOf('dns:a.example.com:443/TCP')).toContain('lower-case');
    expect(reasonOf('dns:a.example.com/icmp:80')).toBeTruthy();
  });

  it("keeps '*' out of every other entry", () => {
    expect(reasonOf('web*')).toContain("invalid character '*'");
    expect(reasonOf('net:a*')).toContain("invalid character '*'");
    expect(reasonOf('*.example.com')).toContain("invalid character '*'");
    expect(reasonOf('10.0.0.*')).toContain("invalid character '*'");
    expect(reasonOf('DNS:a.example.com')).not.toContain('dns'); // keywords are lower-case: a container name DNS and a bad port
  });
});

describe('policy files: dns: entries', () => {
  it('take the same grammar, egress only, with the line', () => {
    const ok = parsePolicyFile('/etc/moat/policy.d/dns.yaml', '- select: { service: web }\n  egress: ["dns:*.Example.com:443", "dns:api.example.net"]\n');
    expect(ok.errors).toEqual([]);
    expect(ok.rules[0]!.egress.map(formatEntry)).toEqual(['dns:*.example.com:443/tcp', 'dns:api.example.net']);
    const bad = parsePolicyFile('/etc/moat/policy.d/dns.yaml', '- select: { service: web }\n  egress: [world]\n  ingress:\n    - "dns:api.example.net"\n');
    expect(bad.errors).toEqual([{ file: '/etc/moat/policy.d/dns.yaml', line: 4, message: expect.stringContaining('dns: is egress only') }]);
  });
});

describe('dns: entries, properties', () => {
  const label = fc.stringMatching(/^[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,10}[a-zA-Z0-9_])?$/);
  const name = fc.array(label, { minLength: 2, maxLength: 5 }).map((ls) => ls.join('.'));

  it('any text after dns: yields a canonical pattern of safe characters, or a reason; never a crash', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300 }), (text) => {
        const r = parseLabelValue(`dns:${text}`, 'egress');
        for (const e of r.entries) {
          if (e.peer.kind !== 'dns') continue;
          expect(e.peer.pattern).toMatch(/^(\*\.)?[a-z0-9_.-]{1,253}$/);
          expect(e.peer.pattern).toBe(e.peer.pattern.toLowerCase());
        }
        for (const p of r.problems) expect(p.reason).not.toBe('');
      }),
    );
  });

  it("'*' outside a dns: entry is always refused", () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 40 }), fc.string({ maxLength: 40 }), (a, b) => {
        const text = `${a}*${b}`;
        fc.pre(!text.startsWith('dns:') && !/[\s,]/.test(text));
        expect(parseLabelValue(text, 'egress').entries).toEqual([]);
      }),
    );
  });

  it('a name parses to itself lower-cased, matches itself and every name under its wildcard', () => {
    fc.assert(
      fc.property(name, label, (n, sub) => {
        fc.pre(!/^[0-9]+$/.test(n.split('.').at(-1)!)); // an address, not a name
        const exact = one(`dns:${n}.`).peer;
        expect(exact).toEqual({ kind: 'dns', pattern: n.toLowerCase() });
        const q = normaliseQueryName(`${sub}.${n}`.toUpperCase())!;
        expect(matchesDnsPattern(`*.${n.toLowerCase()}`, q)).toBe(true);
        expect(matchesDnsPattern(`*.${n.toLowerCase()}`, n.toLowerCase())).toBe(false);
        expect(matchesDnsPattern(n.toLowerCase(), q)).toBe(false);
      }),
    );
  });
});
