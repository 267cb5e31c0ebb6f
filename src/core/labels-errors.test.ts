// parseLabelValue's error reasons and its bounds (see labels.test.ts for the grammar).
import { describe, expect, it } from 'vitest';
import { MAX_ENTRIES, MAX_VALUE_BYTES, parseLabelValue, type ParsedLabel } from './labels.js';

const reasonOf = (value: string, kind: 'egress' | 'ingress' = 'egress'): string => {
  const { entries, problems } = parseLabelValue(value, kind);
  expect(entries).toEqual([]);
  expect(problems).toHaveLength(1);
  return problems[0]?.reason ?? '';
};

describe('parseLabelValue: error reasons', () => {
  it.each<[string, string]>([
    ['world:70000', "port '70000' is out of range 1-65535"],
    ['world:0', "port '0' is out of range 1-65535"],
    ['world:1-65536', "port '65536' is out of range 1-65535"],
    ['world:99999999999999999999', "port '99999999999999999999' is out of range 1-65535"],
    ['world:90-80', 'port range 90-80 is reversed (LO must not exceed HI)'],
    ['world:', "missing port after ':'"],
    ['world:80-', "invalid port '80-' (a number 1-65535 or a range LO-HI)"],
    ['world:-80', "invalid port '-80' (a number 1-65535 or a range LO-HI)"],
    ['world:1-2-3', "invalid port '1-2-3' (a number 1-65535 or a range LO-HI)"],
    ['world:http', "invalid port 'http' (a number 1-65535 or a range LO-HI)"],
    ['app:80:90', "invalid port '80:90' (a number 1-65535 or a range LO-HI)"],
    ['world:80/http', "unknown protocol 'http' (tcp, udp, sctp, icmp)"],
    ['world:80/', "missing protocol after '/'"],
    ['world:80/TCP', "protocol 'TCP' must be lower-case (tcp, udp, sctp, icmp)"],
    ['world:80/icmp', 'icmp takes no port'],
    ['2001:db8::5', 'IPv6 address must be in brackets, e.g. [2001:db8::5] or [2001:db8::5]:443/tcp'],
    ['2001:db8::/64', 'IPv6 address must be in brackets, e.g. [2001:db8::5] or [2001:db8::5]:443/tcp'],
    ['::1', 'IPv6 address must be in brackets, e.g. [2001:db8::5] or [2001:db8::5]:443/tcp'],
    ['fe80:0:0:0:0:0:0:1:22', 'IPv6 address must be in brackets, e.g. [2001:db8::5] or [2001:db8::5]:443/tcp'],
    ['[10.0.0.1]', 'IPv4 address must not be in brackets'],
    ['[2001:db8::g]', "invalid IPv6 address '2001:db8::g'"],
    ['[::ffff:10.0.0.1]', "invalid IPv6 address '::ffff:10.0.0.1'"],
    ['[2001:db8::/129]', "CIDR prefix '129' is out of range 0-128"],
    ['[2001:db8::/x]', "invalid CIDR prefix 'x' (0-128)"],
    ['[2001:db8::/]', "missing CIDR prefix after '2001:db8::/'"],
    ['[2001:db8::5', "'[' without a closing ']'"],
    ['[]', "empty '[]'"],
    ['[::1]x', "unexpected 'x' after ']'"],
    ['[::1]]', "unexpected ']' after ']'"],
    ['10.0.0.256', "invalid IPv4 address '10.0.0.256'"],
    ['1.2.3.4.5', "invalid IPv4 address '1.2.3.4.5'"],
    ['010.0.0.1', "IPv4 address '010.0.0.1' has an octet with a leading zero"],
    ['10.0.0.0/33', "CIDR prefix '33' is out of range 0-32"],
    ['10.0.0.0/0032', "CIDR prefix '0032' is out of range 0-32"],
    ['10.0.0.0/', "missing CIDR prefix after '10.0.0.0/'"],
    ['net:', "missing network name after 'net:'"],
    ['net::80', "missing network name after 'net:'"],
    ['net:-x', "invalid network name '-x' (a letter or digit, then letters, digits, '_', '.' or '-', at most 128 characters)"],
    [
      `net:${'n'.repeat(129)}`,
      `invalid network name '${'n'.repeat(61)}...' (a letter or digit, then letters, digits, '_', '.' or '-', at most 128 characters)`,
    ],
    ['-j', "invalid container or service name '-j' (a letter or digit, then letters, digits, '_', '.' or '-', at most 255 characters)"],
    ['_x', "invalid container or service name '_x' (a letter or digit, then letters, digits, '_', '.' or '-', at most 255 characters)"],
    ['a[b]', "invalid container or service name 'a[b]' (a letter or digit, then letters, digits, '_', '.' or '-', at most 255 characters)"],
    ['App/web', "invalid compose project name 'App' (lower-case letters, digits, '_' and '-', at most 255 characters)"],
    ['my.app/web', "invalid compose project name 'my.app' (lower-case letters, digits, '_' and '-', at most 255 characters)"],
    ['app/-web', "invalid compose service name '-web' (a letter or digit, then letters, digits, '_', '.' or '-', at most 255 characters)"],
    ['app/', "missing service name after 'app/'"],
    [':80', 'missing peer (e.g. world, 10.0.0.0/8, net:NAME, a container name)'],
    ['/tcp', 'missing peer (e.g. world, 10.0.0.0/8, net:NAME, a container name)'],
    ['/app', 'missing peer (e.g. world, 10.0.0.0/8, net:NAME, a container name)'],
    ['a;b', "invalid character ';' (U+003B); allowed: ASCII letters, digits and _ . - : / [ ]"],
    ['$(id)', "invalid character '$' (U+0024); allowed: ASCII letters, digits and _ . - : / [ ]"],
    ['`id`', "invalid character '`' (U+0060); allowed: ASCII letters, digits and _ . - : / [ ]"],
    ['"world"', `invalid character '"' (U+0022); allowed: ASCII letters, digits and _ . - : / [ ]`],
    ['world\u0000', "invalid character '\\x00' (U+0000); allowed: ASCII letters, digits and _ . - : / [ ]"],
    ['fe80::1%eth0', "invalid character '%' (U+0025); allowed: ASCII letters, digits and _ . - : / [ ]"],
    ['wörld', "invalid character '\\xf6' (U+00F6); allowed: ASCII letters, digits and _ . - : / [ ]"],
    ['w😀', "invalid character '\\ud83d\\ude00' (U+1F600); allowed: ASCII letters, digits and _ . - : / [ ]"],
    ['a'.repeat(1025), 'entry is longer than 1024 characters'],
  ])('%s', (text, reason) => {
    expect(reasonOf(text)).toBe(reason);
  });

  it('names ingress and egress the same way', () => {
    expect(parseLabelValue('world:80, 10.0.0.0/8:22', 'ingress')).toEqual(parseLabelValue('world:80, 10.0.0.0/8:22', 'egress'));
  });

  it('never throws on a value that is not a string', () => {
    expect(parseLabelValue(undefined as unknown as string, 'egress').problems[0]?.reason).toBe('label value is not a string');
  });

  it('escapes control characters in the reported entry and keeps it under 200 characters', () => {
    const { problems } = parseLabelValue(`x\u001b[31m\u0007\u202e\u2028${'y'.repeat(500)}\\`, 'egress');
    expect(problems[0]?.entry.startsWith('x\\x1b[31m\\x07\\u202e\\u2028yyy')).toBe(true);
    expect(problems[0]?.entry.length).toBe(200);
    expect(problems[0]?.entry.endsWith('...')).toBe(true);
    expect(parseLabelValue('a\\b', 'egress').problems[0]?.entry).toBe('a\\\\b');
  });
});

describe('parseLabelValue: bounds', () => {
  const tooBig = (r: ParsedLabel) => {
    expect(r.none).toBe(false);
    expect(r.entries).toEqual([]);
    expect(r.problems).toHaveLength(1);
    expect(r.problems[0]?.entry.length).toBeLessThanOrEqual(200);
  };

  it('parses a value of exactly 64 KiB and rejects one byte more, as a whole', () => {
    const at = `world ${' '.repeat(MAX_VALUE_BYTES - 'world lan'.length)}lan`;
    expect(at.length).toBe(MAX_VALUE_BYTES);
    expect(parseLabelValue(at, 'egress').entries).toHaveLength(2);
    const over = parseLabelValue(`${at} `, 'egress');
    tooBig(over);
    expect(over.problems[0]?.reason).toBe('label value is larger than 65536 bytes; ignored as a whole');
  });

  it('counts UTF-8 bytes, not UTF-16 units', () => {
    const r = parseLabelValue(`world ${'é'.repeat(MAX_VALUE_BYTES / 2)}`, 'egress');
    tooBig(r);
    expect(r.problems[0]?.reason).toContain('larger than 65536 bytes');
  });

  it('parses 1,000 entries and rejects 1,001, as a whole (none included)', () => {
    const names = Array.from({ length: MAX_ENTRIES }, (_, i) => `c${i}`);
    expect(parseLabelValue(names.join(','), 'egress').entries).toHaveLength(MAX_ENTRIES);
    const over = parseLabelValue(['none', ...names].join(','), 'egress');
    tooBig(over);
    expect(over.problems[0]?.reason).toBe('label value has more than 1000 entries; ignored as a whole');
  });

  // How fast these parse is measured by `npm run bench`, not asserted here.
  it('rejects a 1 MB value and 100,000 entries whole', () => {
    const mb = 'world:80,'.repeat(120_000);
    const many = Array.from({ length: 100_000 }, (_, i) => `c${i % 7}`).join(' ');
    for (const v of [mb, many, '\n-A FORWARD -j ACCEPT'.repeat(60_000)]) tooBig(parseLabelValue(v, 'egress'));
  });

  it('parses an adversarial value just under the bounds entry by entry', () => {
    const shapes = ['1.1.1.1.1.1.1.1.1.1.1.1.1', 'a/'.repeat(30), '[:::::::::::::::::::]', 'x:1-1-1-1-1-1-1-1-1', 'a'.repeat(64), 'a.'.repeat(30)];
    const value = Array.from({ length: MAX_ENTRIES }, (_, i) => shapes[i % shapes.length]).join(' ');
    const r = parseLabelValue(value.slice(0, MAX_VALUE_BYTES), 'egress');
    expect(r.entries.length + r.problems.length).toBeGreaterThan(0);
    expect(r.entries.length).toBeLessThanOrEqual(MAX_ENTRIES);
    expect(parseLabelValue('a'.repeat(MAX_VALUE_BYTES), 'egress').problems[0]?.reason).toMatch(/./);
  });
});
