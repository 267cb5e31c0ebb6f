import { describe, expect, it } from 'vitest';
import { dnsSetName, matchesDnsPattern, normaliseQueryName, parseDnsName } from './dns-name.js';

const pattern = (text: string) => {
  const r = parseDnsName(text);
  return 'pattern' in r ? r.pattern : null;
};
const reason = (text: string) => {
  const r = parseDnsName(text);
  return 'reason' in r ? r.reason : null;
};

describe('parseDnsName', () => {
  it('keeps a host name lower-case, without its one trailing dot', () => {
    expect(pattern('api.github.com')).toBe('api.github.com');
    expect(pattern('API.GitHub.Com')).toBe('api.github.com');
    expect(pattern('api.github.com.')).toBe('api.github.com');
    expect(pattern('_srv._tcp.example.com')).toBe('_srv._tcp.example.com');
    expect(pattern('a-b.c0.example')).toBe('a-b.c0.example');
  });

  it('refuses two trailing dots, empty labels and a leading dot', () => {
    expect(reason('example.com..')).toContain('empty label');
    expect(reason('a..example.com')).toContain('empty label');
    expect(reason('.example.com')).toContain('empty label');
    expect(reason('')).toContain('missing name');
    expect(reason('.')).toContain('missing name');
  });

  it('takes labels of 63 characters and names of 253, not one more', () => {
    const l63 = 'a'.repeat(63);
    expect(pattern(`${l63}.example.com`)).toBe(`${l63}.example.com`);
    expect(reason(`${l63}b.example.com`)).toContain('longer than 63');
    // 4 labels of 61 + 3 dots = 247, plus ".abcde" = 253.
    const n253 = `${['a', 'b', 'c', 'd'].map((c) => c.repeat(61)).join('.')}.abcde`;
    expect(n253).toHaveLength(253);
    expect(pattern(n253)).toBe(n253);
    expect(pattern(`${n253}.`)).toBe(n253);
    expect(reason(`${n253}f`)).toContain('longer than 253');
  });

  it('takes punycode as written, refuses unicode and other characters', () => {
    expect(pattern('xn--bcher-kva.example')).toBe('xn--bcher-kva.example');
    expect(pattern('XN--BCHER-KVA.example')).toBe('xn--bcher-kva.example');
    expect(reason('bücher.example')).toContain('punycode');
    expect(reason('a b.example')).toContain('character other than');
    expect(reason('a;b.example')).toContain('character other than');
  });

  it("refuses a label starting or ending in '-'", () => {
    expect(reason('-a.example.com')).toContain("'-'");
    expect(reason('a-.example.com')).toContain("'-'");
  });

  it('needs at least two labels: dns:localhost is refused', () => {
    expect(reason('localhost')).toBe('a host name needs a dot (localhost is a single label)');
    expect(reason('localhost.')).toContain('a host name needs a dot');
    expect(pattern('localhost.localdomain')).toBe('localhost.localdomain');
  });

  it('refuses an address written as a name', () => {
    expect(reason('10.0.0.5')).toContain('address entry');
    expect(reason('1.2.3.4.')).toContain('address entry');
    expect(pattern('1.2.3.example')).toBe('1.2.3.example');
  });

  it("takes '*' only as the whole first label, over a suffix of two labels or more", () => {
    expect(pattern('*.githubusercontent.com')).toBe('*.githubusercontent.com');
    expect(pattern('*.S3.Amazonaws.com.')).toBe('*.s3.amazonaws.com');
    expect(reason('*.com')).toContain('at least two labels');
    expect(reason('*')).toContain('at least two labels');
    expect(reason('*.')).toContain('at least two labels');
    expect(reason('a.*.example.com')).toContain("'*' is allowed only as the whole first label");
    expect(reason('*a.example.com')).toContain("'*'");
    expect(reason('**.example.com')).toContain("'*'");
    expect(reason('*.*.example.com')).toContain("'*'");
    expect(reason('example.*')).toContain("'*'");
  });
});

describe('normaliseQueryName', () => {
  it('lower-cases and drops the trailing dot', () => {
    expect(normaliseQueryName('API.GitHub.com.')).toBe('api.github.com');
    expect(normaliseQueryName('api.github.com')).toBe('api.github.com');
  });

  it('gives null for what is not a host name', () => {
    expect(normaliseQueryName('')).toBeNull();
    expect(normaliseQueryName('.')).toBeNull();
    expect(normaliseQueryName('a..b')).toBeNull();
    expect(normaliseQueryName('*.example.com')).toBeNull();
    expect(normaliseQueryName('bad name.example')).toBeNull();
    expect(normaliseQueryName('\\000.example')).toBeNull();
    expect(normaliseQueryName(`${'a'.repeat(64)}.example`)).toBeNull();
    expect(normaliseQueryName(`${'a.'.repeat(127)}ab`)).toBeNull(); // 256 characters
  });

  it('keeps single labels (they simply match no pattern)', () => {
    expect(normaliseQueryName('localhost')).toBe('localhost');
    expect(matchesDnsPattern('localhost.localdomain', 'localhost')).toBe(false);
  });
});

describe('matchesDnsPattern', () => {
  it('matches an exact name only by itself', () => {
    expect(matchesDnsPattern('api.github.com', 'api.github.com')).toBe(true);
    expect(matchesDnsPattern('api.github.com', 'x.api.github.com')).toBe(false);
    expect(matchesDnsPattern('api.github.com', 'github.com')).toBe(false);
    expect(matchesDnsPattern('api.github.com', 'api.github.com.evil')).toBe(false);
  });

  it('*.SUFFIX spans one label or several, never SUFFIX itself', () => {
    const p = '*.example.com';
    expect(matchesDnsPattern(p, 'a.example.com')).toBe(true);
    expect(matchesDnsPattern(p, 'a.b.example.com')).toBe(true);
    expect(matchesDnsPattern(p, 'a.b.c.example.com')).toBe(true);
    expect(matchesDnsPattern(p, 'example.com')).toBe(false);
    expect(matchesDnsPattern(p, 'badexample.com')).toBe(false);
    expect(matchesDnsPattern(p, 'a.example.com.evil')).toBe(false);
    expect(matchesDnsPattern(p, 'com')).toBe(false);
  });

  it('matches what normaliseQueryName gives for any case of the question', () => {
    const q = normaliseQueryName('A.EXAMPLE.COM.');
    expect(q !== null && matchesDnsPattern('*.example.com', q)).toBe(true);
  });
});

describe('dnsSetName', () => {
  it('is moat-dns<family>- and 16 hex characters of the pattern sha256: 26 characters, stable', () => {
    // sha256("api.github.com") starts with these 16 hex characters (checked with sha256sum).
    expect(dnsSetName('api.github.com', 4)).toBe('moat-dns4-5b3097c5c7bd083b');
    expect(dnsSetName('api.github.com', 6)).toBe('moat-dns6-5b3097c5c7bd083b');
    expect(dnsSetName('api.github.com', 4)).toHaveLength(26);
    expect(dnsSetName('api.github.com', 6).slice(10)).toBe(dnsSetName('api.github.com', 4).slice(10));
    expect(dnsSetName('*.github.com', 4)).not.toBe(dnsSetName('api.github.com', 4));
  });
});
