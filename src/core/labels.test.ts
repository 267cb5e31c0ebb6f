import { describe, expect, it } from 'vitest';
import { parseLabelValue, type Entry, type Peer } from './labels.js';

type Shape = Omit<Entry, 'text'>;
const world = { kind: 'world' } as const;
const one = (value: string, kind: 'egress' | 'ingress' = 'egress'): Shape => {
  const { entries, problems } = parseLabelValue(value, kind);
  expect(problems).toEqual([]);
  expect(entries).toHaveLength(1);
  const { text: _text, ...shape } = entries[0] as Entry;
  return shape;
};
const reasonOf = (value: string, kind: 'egress' | 'ingress' = 'egress'): string => {
  const { entries, problems } = parseLabelValue(value, kind);
  expect(entries).toEqual([]);
  expect(problems).toHaveLength(1);
  return problems[0]?.reason ?? '';
};
const cidr = (family: 4 | 6, text: string): Peer => ({ kind: 'cidr', family, cidr: text });
const port = (lo: number, hi = lo) => ({ lo, hi });

describe('parseLabelValue: peers', () => {
  it.each<[string, Peer]>([
    ['world', world],
    ['lan', { kind: 'lan' }],
    ['host', { kind: 'host' }],
    ['net:backend', { kind: 'network', name: 'backend' }],
    ['net:my_net.v2-x', { kind: 'network', name: 'my_net.v2-x' }],
    ['10.10.10.55', cidr(4, '10.10.10.55/32')],
    ['10.10.10.0/24', cidr(4, '10.10.10.0/24')],
    ['10.10.10.7/24', cidr(4, '10.10.10.0/24')],
    ['0.0.0.0/0', cidr(4, '0.0.0.0/0')],
    ['[2001:db8::5]', cidr(6, '2001:db8::5/128')],
    ['[2001:DB8:0:0::5]', cidr(6, '2001:db8::5/128')],
    ['[2001:db8::/64]', cidr(6, '2001:db8::/64')],
    ['[2001:db8::1/64]', cidr(6, '2001:db8::/64')],
    ['wordpress', { kind: 'container', name: 'wordpress' }],
    ['app1-wordpress-1', { kind: 'container', name: 'app1-wordpress-1' }],
    ['My.Container_2', { kind: 'container', name: 'My.Container_2' }],
    ['app/web', { kind: 'service', project: 'app', service: 'web' }],
    ['my-proj_1/Web.Svc', { kind: 'service', project: 'my-proj_1', service: 'Web.Svc' }],
    ['123/web', { kind: 'service', project: '123', service: 'web' }],
  ])('%s', (text, peer) => {
    expect(one(text)).toEqual({ peer, ports: null, proto: null });
  });
});

describe('parseLabelValue: ports and protocols', () => {
  it.each<[string, Shape]>([
    ['world:80', { peer: world, ports: port(80), proto: 'tcp' }],
    ['world:1', { peer: world, ports: port(1), proto: 'tcp' }],
    ['world:65535', { peer: world, ports: port(65535), proto: 'tcp' }],
    ['world:8000-8080', { peer: world, ports: port(8000, 8080), proto: 'tcp' }],
    ['world:53-53/udp', { peer: world, ports: port(53), proto: 'udp' }],
    ['world:080', { peer: world, ports: port(80), proto: 'tcp' }],
    ['world:80/tcp', { peer: world, ports: port(80), proto: 'tcp' }],
    ['world:53/udp', { peer: world, ports: port(53), proto: 'udp' }],
    ['world:3868/sctp', { peer: world, ports: port(3868), proto: 'sctp' }],
    ['world/icmp', { peer: world, ports: null, proto: 'icmp' }],
    ['world/tcp', { peer: world, ports: null, proto: 'tcp' }],
    ['world/udp', { peer: world, ports: null, proto: 'udp' }],
    ['world/sctp', { peer: world, ports: null, proto: 'sctp' }],
    ['lan:22', { peer: { kind: 'lan' }, ports: port(22), proto: 'tcp' }],
    ['host:53/udp', { peer: { kind: 'host' }, ports: port(53), proto: 'udp' }],
    ['net:backend:5432', { peer: { kind: 'network', name: 'backend' }, ports: port(5432), proto: 'tcp' }],
    ['net:backend/udp', { peer: { kind: 'network', name: 'backend' }, ports: null, proto: 'udp' }],
    ['10.10.10.55:80', { peer: cidr(4, '10.10.10.55/32'), ports: port(80), proto: 'tcp' }],
    ['[2001:db8::5]:443/tcp', { peer: cidr(6, '2001:db8::5/128'), ports: port(443), proto: 'tcp' }],
    ['[2001:db8::/64]:1000-2000/udp', { peer: cidr(6, '2001:db8::/64'), ports: port(1000, 2000), proto: 'udp' }],
    ['[fe80::1]/icmp', { peer: cidr(6, 'fe80::1/128'), ports: null, proto: 'icmp' }],
    ['db:3306', { peer: { kind: 'container', name: 'db' }, ports: port(3306), proto: 'tcp' }],
  ])('%s', (text, shape) => {
    expect(one(text)).toEqual(shape);
  });
});

describe('parseLabelValue: ambiguities, as documented in labels.ts', () => {
  it.each<[string, Shape]>([
    // A trailing known protocol is always the protocol.
    ['db/udp', { peer: { kind: 'container', name: 'db' }, ports: null, proto: 'udp' }],
    ['app/web/udp', { peer: { kind: 'service', project: 'app', service: 'web' }, ports: null, proto: 'udp' }],
    ['app/web:80/tcp', { peer: { kind: 'service', project: 'app', service: 'web' }, ports: port(80), proto: 'tcp' }],
    // After an IPv4 address, /DIGITS is the prefix; the port follows the whole CIDR.
    ['10.0.0.0/8:5432', { peer: cidr(4, '10.0.0.0/8'), ports: port(5432), proto: 'tcp' }],
    ['10.0.0.0/8/udp', { peer: cidr(4, '10.0.0.0/8'), ports: null, proto: 'udp' }],
    ['10.0.0.0/8:53/udp', { peer: cidr(4, '10.0.0.0/8'), ports: port(53), proto: 'udp' }],
    ['10.0.0.5/udp', { peer: cidr(4, '10.0.0.5/32'), ports: null, proto: 'udp' }],
    // Keywords are keywords only as the whole peer, and only in lower case.
    ['World', { peer: { kind: 'container', name: 'World' }, ports: null, proto: null }],
    ['HOST:22', { peer: { kind: 'container', name: 'HOST' }, ports: port(22), proto: 'tcp' }],
    ['world/web', { peer: { kind: 'service', project: 'world', service: 'web' }, ports: null, proto: null }],
    ['none/web', { peer: { kind: 'service', project: 'none', service: 'web' }, ports: null, proto: null }],
    ['network:80', { peer: { kind: 'container', name: 'network' }, ports: port(80), proto: 'tcp' }],
    ['udp', { peer: { kind: 'container', name: 'udp' }, ports: null, proto: null }],
    ['tcp:80/udp', { peer: { kind: 'container', name: 'tcp' }, ports: port(80), proto: 'udp' }],
  ])('%s', (text, shape) => {
    expect(one(text)).toEqual(shape);
  });

  it.each<[string, string]>([
    // Only a protocol may follow a port, net:NAME, ']' or a second '/'.
    ['app:80/web', "unknown protocol 'web' (tcp, udp, sctp, icmp)"],
    ['app/web/extra', "unknown protocol 'extra' (tcp, udp, sctp, icmp)"],
    ['10.0.0.5/http', "unknown protocol 'http' (tcp, udp, sctp, icmp)"],
    ['10.0.0.0/8/http', "unknown protocol 'http' (tcp, udp, sctp, icmp)"],
    ['net:backend/web', "unknown protocol 'web' (tcp, udp, sctp, icmp)"],
    ['[2001:db8::5]/http', "unknown protocol 'http' (tcp, udp, sctp, icmp)"],
    // A protocol before the port, or twice.
    ['world/udp:80', "protocol 'udp' is misplaced: one protocol, last, lower-case (PEER:PORT/PROTO)"],
    ['10.0.0.5/udp:80', "protocol 'udp' is misplaced: one protocol, last, lower-case (PEER:PORT/PROTO)"],
    ['net:foo/udp:80', "protocol 'udp' is misplaced: one protocol, last, lower-case (PEER:PORT/PROTO)"],
    ['app:80/udp/tcp', "protocol 'udp' is misplaced: one protocol, last, lower-case (PEER:PORT/PROTO)"],
    ['10.0.0.0/8/udp/tcp', "protocol 'udp' is misplaced: one protocol, last, lower-case (PEER:PORT/PROTO)"],
    // So a service literally named like a protocol can't be written as PROJECT/SERVICE.
    ['db/udp:53', "protocol 'udp' is misplaced: one protocol, last, lower-case (PEER:PORT/PROTO)"],
    ['db/Udp/tcp', "protocol 'Udp' is misplaced: one protocol, last, lower-case (PEER:PORT/PROTO)"],
    ['db/TCP', "protocol 'TCP' must be lower-case (tcp, udp, sctp, icmp)"],
    // Digits and dots are an address, never a container name.
    ['8080', "'8080' is not a peer: a port needs one (e.g. world:8080), an address needs four parts"],
    ['8080/tcp', "'8080' is not a peer: a port needs one (e.g. world:8080), an address needs four parts"],
    ['1.2.3', "invalid IPv4 address '1.2.3'"],
    ['1.2.3/web', "invalid IPv4 address '1.2.3'"],
    // net: is a keyword only in lower case; NET:foo is container NET with port foo.
    ['NET:foo', "invalid port 'foo' (a number 1-65535 or a range LO-HI)"],
    // The prefix of an IPv6 CIDR goes inside the brackets.
    ['[2001:db8::5]/64', 'a CIDR prefix goes inside the brackets, e.g. [2001:db8::/64]'],
  ])('%s is refused', (text, reason) => {
    expect(reasonOf(text)).toBe(reason);
  });
});

describe('parseLabelValue: separators, order, dedupe', () => {
  it('splits on any mix of commas and ASCII whitespace and ignores empty entries', () => {
    const { entries, problems } = parseLabelValue(' ,world,, lan\thost\n\r\n net:x ,\v\f10.0.0.1 ,', 'egress');
    expect(problems).toEqual([]);
    expect(entries.map((e) => e.text)).toEqual(['world', 'lan', 'host', 'net:x', '10.0.0.1']);
  });

  it('gives nothing for an empty or blank value', () => {
    for (const v of ['', ' ', ',,,', ' \n\t, ']) expect(parseLabelValue(v, 'ingress')).toEqual({ none: false, entries: [], problems: [] });
  });

  it('keeps the first of entries that mean the same, in order of first appearance', () => {
    const { entries } = parseLabelValue('lan world:80 world:80/tcp world:80-80 lan 10.0.0.1/24 10.0.0.0/24', 'egress');
    expect(entries.map((e) => e.text)).toEqual(['lan', 'world:80', '10.0.0.1/24']);
  });

  it('skips a bad entry and keeps the others', () => {
    const { entries, problems } = parseLabelValue('world:443, world:0, lan:22/udp, db:80/http', 'egress');
    expect(entries.map((e) => e.text)).toEqual(['world:443', 'lan:22/udp']);
    expect(problems).toEqual([
      { entry: 'world:0', reason: "port '0' is out of range 1-65535" },
      { entry: 'db:80/http', reason: "unknown protocol 'http' (tcp, udp, sctp, icmp)" },
    ]);
  });

  it('reports a repeated bad entry once', () => {
    expect(parseLabelValue('a;b a;b a;b', 'egress').problems).toHaveLength(1);
  });

  it('does not treat a unicode space as a separator', () => {
    expect(reasonOf('world\u00a0lan')).toBe("invalid character '\\xa0' (U+00A0); allowed: ASCII letters, digits and _ . - : / [ ]");
  });
});

describe('parseLabelValue: none', () => {
  it('is true only for a lone none in moat.egress', () => {
    expect(parseLabelValue('none', 'egress')).toEqual({ none: true, entries: [], problems: [] });
    expect(parseLabelValue(' none ,\n', 'egress')).toEqual({ none: true, entries: [], problems: [] });
  });

  it('is refused in moat.ingress', () => {
    expect(parseLabelValue('none', 'ingress')).toEqual({
      none: false,
      entries: [],
      problems: [{ entry: 'none', reason: "'none' is only valid in moat.egress" }],
    });
  });

  it('is reported but still honoured (fail closed) when mixed with other entries', () => {
    expect(parseLabelValue('none, app:80', 'egress')).toEqual({
      none: true,
      entries: [{ text: 'app:80', peer: { kind: 'container', name: 'app' }, ports: port(80), proto: 'tcp' }],
      problems: [{ entry: 'none', reason: "'none' should be the only entry of moat.egress (honoured: world egress removed, the other entries still apply)" }],
    });
    expect(parseLabelValue('none none', 'egress').none).toBe(true);
  });

  it('takes no port or protocol, and is case-sensitive', () => {
    expect(reasonOf('none:80')).toBe("'none' takes no port or protocol, and must be the only entry of moat.egress");
    expect(reasonOf('none/tcp')).toBe("'none' takes no port or protocol, and must be the only entry of moat.egress");
    expect(parseLabelValue('None', 'egress')).toMatchObject({ none: false, entries: [{ peer: { kind: 'container', name: 'None' } }] });
  });
});
