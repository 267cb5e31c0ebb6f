import { describe, expect, it } from 'vitest';
import { parseUpstream, resolvConfUpstreams, UpstreamConfigError } from './dns-upstream.js';

describe('upstreams', () => {
  it('parses IP, IP:PORT, [IPv6]:PORT and a bare IPv6 address', () => {
    expect(parseUpstream('192.168.1.1')).toEqual({ host: '192.168.1.1', port: 53, family: 4 });
    expect(parseUpstream('192.168.1.1:5353')).toEqual({ host: '192.168.1.1', port: 5353, family: 4 });
    expect(parseUpstream('[2001:DB8::1]:53')).toEqual({ host: '2001:db8::1', port: 53, family: 6 });
    expect(parseUpstream('2001:db8::1')).toEqual({ host: '2001:db8::1', port: 53, family: 6 });
  });

  it('refuses names, bad ports and IPv6 with a port but no brackets, saying what it wants', () => {
    for (const bad of ['dns.google', '192.168.1.1:0', '192.168.1.1:70000', '2001:db8::1:53x', '1.2.3', '[::1]:', ''])
      expect(() => parseUpstream(bad), bad).toThrow(UpstreamConfigError);
    expect(() => parseUpstream('dns.google')).toThrow(/is not IP, IP:PORT or \[IPv6\]:PORT/);
  });

  it("takes resolv.conf's nameservers in order, minus dns.listen itself (port 53)", () => {
    const text = '# generated\nsearch lan\nnameserver 10.255.255.53\nnameserver 192.168.1.1\n  nameserver fe80::1%eth0\nnameserver bogus\noptions edns0\n';
    expect(resolvConfUpstreams(text + 'nameserver 2001:db8::53\n', '10.255.255.53')).toEqual([
      { host: '192.168.1.1', port: 53, family: 4 },
      { host: '2001:db8::53', port: 53, family: 6 },
    ]);
    expect(resolvConfUpstreams('', null)).toEqual([]);
  });
});
