import { describe, expect, it } from 'vitest';
import { cidrContains, hostCidr, isLoopback, parseAddress, parseCidr } from './addr.js';

describe('addresses', () => {
  it('parses and canonicalises', () => {
    expect(parseAddress('10.0.0.1')).toEqual({ family: 4, text: '10.0.0.1' });
    expect(parseAddress('FD00:0:0::0001')).toEqual({ family: 6, text: 'fd00::1' });
    expect(parseCidr('10.1.2.3/8')?.text).toBe('10.0.0.0/8');
    expect(parseCidr('2001:db8::5')?.text).toBe('2001:db8::5/128');
    expect(hostCidr('172.18.0.2')).toBe('172.18.0.2/32');
  });

  it('refuses shorthands, junk and out-of-range prefixes', () => {
    for (const bad of [
      '10.1',
      '0x0a.0.0.1',
      '10.0.0.1 ',
      '10.0.0.0/33',
      'fd00::/129',
      '10.0.0.0/-1',
      '::ffff:10.0.0.1',
      '',
      'a'.repeat(100),
      '10.0.0.0/8/8',
      '010.0.0.1',
      '10.0.0.01/8',
      'fe80::1%eth0',
    ]) {
      expect(parseCidr(bad), bad).toBeNull();
    }
  });

  it('tests containment by family', () => {
    const lan = parseCidr('172.16.0.0/12')!;
    expect(cidrContains(lan, parseCidr('172.18.0.0/16')!)).toBe(true);
    expect(cidrContains(lan, parseCidr('172.0.0.0/8')!)).toBe(false);
    expect(cidrContains(parseCidr('fc00::/7')!, parseCidr('fd00:cafe::/64')!)).toBe(true);
    expect(cidrContains(lan, parseCidr('fd00::/8')!)).toBe(false);
  });
});

describe('isLoopback', () => {
  it('is 127.0.0.0/8 and ::1 only', () => {
    expect(['127.0.0.1', '127.0.0.5', '127.255.255.254', '::1'].map(isLoopback)).toEqual([true, true, true, true]);
    expect(['128.0.0.1', '10.127.0.1', '::', '::2', '0.0.0.0'].map(isLoopback)).toEqual([false, false, false, false, false]);
  });
});
