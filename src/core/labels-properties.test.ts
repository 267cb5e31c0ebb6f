// formatEntry, and parseLabelValue's properties over generated and hostile values.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCidr } from './addr.js';
import { formatEntry, MAX_ENTRIES, parseLabelValue, type Entry, type ParsedLabel, type Peer, type Proto } from './labels.js';

type Shape = Omit<Entry, 'text'>;
const one = (value: string, kind: 'egress' | 'ingress' = 'egress'): Shape => {
  const { entries, problems } = parseLabelValue(value, kind);
  expect(problems).toEqual([]);
  expect(entries).toHaveLength(1);
  const { text: _text, ...shape } = entries[0] as Entry;
  return shape;
};
const cidr = (family: 4 | 6, text: string): Peer => ({ kind: 'cidr', family, cidr: text });

describe('formatEntry', () => {
  it('formats canonically, protocol always written', () => {
    const texts = parseLabelValue('world:80 10.0.0.7/24:1-2/udp [2001:DB8::1/64]:443 app/web db net:n/icmp host', 'egress').entries.map(formatEntry);
    expect(texts).toEqual(['world:80/tcp', '10.0.0.0/24:1-2/udp', '[2001:db8::/64]:443/tcp', 'app/web', 'db', 'net:n/icmp', 'host']);
  });
});

// ---- properties ----

const SAFE = /^[A-Za-z0-9_.:/-]*$/;
const PROTOS: readonly (Proto | null)[] = ['tcp', 'udp', 'sctp', 'icmp', null];

function checkInvariants(r: ParsedLabel): void {
  expect(r.entries.length).toBeLessThanOrEqual(MAX_ENTRIES);
  // `none` beside other entries is honoured and reported (src/core/labels.ts, README): never silently.
  if (r.none && r.entries.length > 0) expect(r.problems.some((p) => p.entry === 'none')).toBe(true);
  for (const e of r.entries) {
    const { text: _text, ...fields } = e;
    const walk = (v: unknown): void => {
      if (typeof v === 'string') expect(v).toMatch(SAFE);
      else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk);
    };
    walk(fields);
    expect(PROTOS).toContain(e.proto);
    if (e.ports !== null) {
      expect(Number.isInteger(e.ports.lo) && Number.isInteger(e.ports.hi)).toBe(true);
      expect(e.ports.lo).toBeGreaterThanOrEqual(1);
      expect(e.ports.hi).toBeLessThanOrEqual(65535);
      expect(e.ports.lo).toBeLessThanOrEqual(e.ports.hi);
      expect(e.proto === null || e.proto === 'icmp').toBe(false);
    }
  }
  for (const p of r.problems) {
    expect(p.entry.length).toBeLessThanOrEqual(200);
    expect(p.entry).toMatch(/^[\x20-\x7e]*$/);
    expect(p.reason).toMatch(/^[\x20-\x7e]*$/);
  }
}

const keyword = /^(world|lan|host|none)$/;
const nameArb = fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,30}$/).filter((s) => !keyword.test(s) && !/^[0-9.]+$/.test(s));
const projectArb = fc.stringMatching(/^[a-z0-9][a-z0-9_-]{0,20}$/);
const serviceArb = nameArb.filter((s) => !/^(tcp|udp|sctp|icmp)$/i.test(s));
const peerArb: fc.Arbitrary<Peer> = fc.oneof(
  fc.constantFrom<Peer>({ kind: 'world' }, { kind: 'lan' }, { kind: 'host' }),
  fc.stringMatching(/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$/).map((name): Peer => ({ kind: 'network', name })),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, p]): Peer => cidr(4, parseCidr(`${ip}/${p}`)?.text ?? '')),
  fc
    .tuple(fc.ipV6(), fc.integer({ min: 0, max: 128 }))
    .map(([ip, p]) => parseCidr(`${ip}/${p}`))
    .filter((c) => c !== null && c.family === 6)
    .map((c): Peer => cidr(6, c?.text ?? '')),
  nameArb.map((name): Peer => ({ kind: 'container', name })),
  fc.tuple(projectArb, serviceArb).map(([project, service]): Peer => ({ kind: 'service', project, service })),
);
const portsArb = fc.tuple(fc.integer({ min: 1, max: 65535 }), fc.integer({ min: 1, max: 65535 })).map(([a, b]) => ({ lo: Math.min(a, b), hi: Math.max(a, b) }));
const shapeArb: fc.Arbitrary<Shape> = fc.oneof(
  fc.record({ peer: peerArb, ports: portsArb, proto: fc.constantFrom<Proto>('tcp', 'udp', 'sctp') }),
  fc.record({ peer: peerArb, ports: fc.constant(null), proto: fc.constantFrom<Proto | null>(null, 'tcp', 'udp', 'sctp', 'icmp') }),
);
const sepArb = fc.stringMatching(/^[ ,\t\n\r]{1,3}$/);
const nasty = fc.constantFrom(
  ';',
  '$()',
  '$(reboot)',
  '`id`',
  '-j ACCEPT',
  '\n-A FORWARD -j ACCEPT',
  '\u0000',
  '"',
  "'",
  '\\',
  '\r\n',
  '\u202e',
  '\u2028',
  '\ud800',
  'world',
  'none',
  'net:',
  '[',
  ']',
  '/',
  ':',
  '10.0.0.0/8',
  '[::1]',
  'app/web',
  ':80',
  '/tcp',
  '-',
  '..',
  '0',
  '65536',
  '\t',
  ',',
);
const hostileArb = fc
  .array(fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), nasty, shapeArb.map(formatEntry)), { maxLength: 30 })
  .map((parts) => parts.join(''));

describe('parseLabelValue: properties', () => {
  it('never throws, and only safe, in-range fields come out of any text', () => {
    fc.assert(
      fc.property(hostileArb, fc.constantFrom<'egress' | 'ingress'>('egress', 'ingress'), (value, kind) => {
        checkInvariants(parseLabelValue(value, kind));
      }),
      { numRuns: 400 },
    );
  });

  it('holds on very long values and huge entry lists', () => {
    fc.assert(
      fc.property(hostileArb, fc.integer({ min: 60_000, max: 1_100_000 }), (chunk, length) => {
        const value = (chunk || 'x,').repeat(Math.ceil(length / Math.max(2, chunk.length))).slice(0, length);
        checkInvariants(parseLabelValue(value, 'egress'));
      }),
      { numRuns: 20 },
    );
    checkInvariants(parseLabelValue('\u0000;$(x)`\n-A FORWARD -j ACCEPT\u202e'.repeat(40_000), 'egress'));
    checkInvariants(parseLabelValue(Array.from({ length: 100_000 }, (_, i) => `h${i}:${(i % 65535) + 1}`).join(','), 'ingress'));
  });

  it('round-trips a formatted entry', () => {
    fc.assert(
      fc.property(shapeArb, (shape) => {
        const text = formatEntry(shape);
        expect(parseLabelValue(text, 'ingress')).toEqual({ none: false, entries: [{ text, ...shape }], problems: [] });
        if (shape.proto === 'tcp' && shape.ports !== null) expect(one(text.slice(0, -'/tcp'.length))).toEqual(shape);
      }),
      { numRuns: 400 },
    );
  });

  it('round-trips a list, deduped, in order of first appearance', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(shapeArb, sepArb), { maxLength: 40 }), (items) => {
        const value = items.map(([s, sep]) => formatEntry(s) + sep).join('');
        const want = new Map(items.map(([s]) => [formatEntry(s), s] as const).reverse());
        const firsts = [...new Set(items.map(([s]) => formatEntry(s)))];
        const { entries, problems } = parseLabelValue(value, 'ingress');
        expect(problems).toEqual([]);
        expect(entries.map((e) => e.text)).toEqual(firsts);
        expect(entries.map(({ text: _t, ...s }) => s)).toEqual(firsts.map((t) => want.get(t)));
      }),
      { numRuns: 100 },
    );
  });
});
