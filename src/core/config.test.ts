import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULT_CONFIG, parseConfig, parseDnsUpstream } from './config.js';

describe('parseConfig', () => {
  it('fills every default from an empty document', () => {
    const { config } = parseConfig(null);
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG.reconcile.resyncIntervalS).toBe(60);
    expect(DEFAULT_CONFIG.protectedNetworks).toContain('fc00::/7');
    expect(DEFAULT_CONFIG.control.socket).toBe('/run/moat/moat.sock');
    expect(DEFAULT_CONFIG.metrics.listen).toBeNull();
  });

  it('the annotated example config/config.yaml holds exactly the defaults', () => {
    const { config, errors } = parseConfig(parse(readFileSync(new URL('../../config/config.yaml', import.meta.url), 'utf8')));
    expect(errors).toEqual([]);
    expect(config).toEqual(DEFAULT_CONFIG);
  });

  it('names the path of an unknown key, nested too', () => {
    expect(parseConfig({ reconcile: { resyncIntervalS: 5, every: 1 } }).errors).toEqual([{ path: 'reconcile.every', message: 'unknown key' }]);
    expect(parseConfig({ labelprefix: 'x' }).errors).toEqual([{ path: 'labelprefix', message: 'unknown key' }]);
  });

  it('rejects a bad CIDR with its index', () => {
    const { errors } = parseConfig({ protectedNetworks: ['10.0.0.0/8', '10.0.0.0/33'] });
    expect(errors).toHaveLength(1);
    expect(errors[0]?.path).toBe('protectedNetworks.1');
    expect(errors[0]?.message).toContain('10.0.0.0/33');
  });

  it('rejects bad enum values and types', () => {
    expect(parseConfig({ denyAction: 'accept' }).errors[0]?.path).toBe('denyAction');
    expect(parseConfig({ reconcile: { resyncIntervalS: 0 } }).errors[0]?.path).toBe('reconcile.resyncIntervalS');
    expect(parseConfig({ logDenied: 'yes' }).errors[0]?.path).toBe('logDenied');
    expect(parseConfig({ labelPrefix: 'Moat;rm' }).errors[0]?.path).toBe('labelPrefix');
    expect(parseConfig(['a']).errors[0]?.path).toBe('(root)');
  });

  it('keeps given values', () => {
    const { config } = parseConfig({ denyAction: 'drop', reconcile: { resyncIntervalS: 5 }, protectedNetworks: ['fd00::/8'] });
    expect(config?.denyAction).toBe('drop');
    expect(config?.reconcile.resyncIntervalS).toBe(5);
    expect(config?.protectedNetworks).toEqual(['fd00::/8']);
  });
});

describe('parseConfig: dns', () => {
  it('defaults to off, with the contract values', () => {
    expect(DEFAULT_CONFIG.dns).toEqual({ listen: null, upstream: [], ttlFloorS: 60, ttlCeilingS: 86_400, stateFile: '/var/lib/moat/dns-learned.json' });
  });

  it('keeps a listen address containers reach, IPv4 or IPv6, and upstreams of every form', () => {
    const { config, errors } = parseConfig({ dns: { listen: '198.51.100.53', upstream: ['192.0.2.1', '192.0.2.2:5353', '[2001:db8::1]:53', '2001:db8::2'] } });
    expect(errors).toEqual([]);
    expect(config?.dns.listen).toBe('198.51.100.53');
    expect(config?.dns.upstream).toHaveLength(4);
    expect(parseConfig({ dns: { listen: '2001:db8:53::1' } }).errors).toEqual([]);
  });

  it('refuses a loopback, unspecified, multicast or malformed listen address, by path', () => {
    const err = (listen: string) => parseConfig({ dns: { listen } }).errors;
    expect(err('127.0.0.53')).toEqual([{ path: 'dns.listen', message: expect.stringContaining('loopback') }]);
    expect(err('::1')[0]?.message).toContain('loopback');
    expect(err('0.0.0.0')[0]?.message).toContain('unspecified');
    expect(err('::')[0]?.message).toContain('unspecified');
    expect(err('224.0.0.251')[0]?.message).toContain('multicast');
    expect(err('ff02::fb')[0]?.message).toContain('multicast');
    expect(err('198.51.100.53:53')).toEqual([{ path: 'dns.listen', message: expect.stringContaining('port 53 is fixed') }]);
    expect(err('dns.example')[0]?.path).toBe('dns.listen');
  });

  it('refuses malformed upstreams and the listen address itself, by index', () => {
    expect(parseConfig({ dns: { upstream: ['192.0.2.1', '2001:db8::1:53'] } }).errors).toEqual([]); // a bare IPv6 address, port 53
    expect(parseConfig({ dns: { upstream: ['192.0.2.1:0'] } }).errors[0]?.path).toBe('dns.upstream.0');
    expect(parseConfig({ dns: { upstream: ['ok', '192.0.2.1'] } }).errors[0]?.path).toBe('dns.upstream.0');
    expect(parseConfig({ dns: { upstream: ['[192.0.2.1]:53'] } }).errors[0]?.path).toBe('dns.upstream.0');
    expect(parseConfig({ dns: { upstream: ['192.0.2.1', '192.0.2.1:99999'] } }).errors[0]?.path).toBe('dns.upstream.1');
    const self = parseConfig({ dns: { listen: '198.51.100.53', upstream: ['192.0.2.1', '198.51.100.53:53'] } }).errors;
    expect(self).toEqual([{ path: 'dns.upstream.1', message: expect.stringContaining('dns.listen itself') }]);
    expect(parseConfig({ dns: { listen: '198.51.100.53', upstream: ['198.51.100.53:5353'] } }).errors).toEqual([]);
  });

  it('holds the TTL bounds and ceiling >= floor', () => {
    expect(parseConfig({ dns: { ttlFloorS: 0, ttlCeilingS: 1 } }).errors).toEqual([]);
    expect(parseConfig({ dns: { ttlFloorS: 600, ttlCeilingS: 600 } }).errors).toEqual([]);
    expect(parseConfig({ dns: { ttlFloorS: 600, ttlCeilingS: 300 } }).errors).toEqual([
      { path: 'dns.ttlCeilingS', message: 'must be at least dns.ttlFloorS (600), is 300' },
    ]);
    expect(parseConfig({ dns: { ttlFloorS: -1 } }).errors[0]?.path).toBe('dns.ttlFloorS');
    expect(parseConfig({ dns: { ttlFloorS: 1.5 } }).errors[0]?.path).toBe('dns.ttlFloorS');
    expect(parseConfig({ dns: { ttlCeilingS: 604_801 } }).errors[0]?.path).toBe('dns.ttlCeilingS');
    expect(parseConfig({ dns: { ttlCeilingS: 0 } }).errors[0]?.path).toBe('dns.ttlCeilingS');
  });

  it('names unknown dns keys, and a bad stateFile', () => {
    expect(parseConfig({ dns: { port: 5353 } }).errors).toEqual([{ path: 'dns.port', message: 'unknown key' }]);
    expect(parseConfig({ dns: { stateFile: '' } }).errors[0]?.path).toBe('dns.stateFile');
  });
});

describe('parseDnsUpstream', () => {
  it('reads the three forms, port 53 by default', () => {
    expect(parseDnsUpstream('192.0.2.1')).toEqual({ address: '192.0.2.1', family: 4, port: 53 });
    expect(parseDnsUpstream('192.0.2.1:5353')).toEqual({ address: '192.0.2.1', family: 4, port: 5353 });
    expect(parseDnsUpstream('[2001:DB8::1]:53')).toEqual({ address: '2001:db8::1', family: 6, port: 53 });
    expect(parseDnsUpstream('2001:db8::1')).toEqual({ address: '2001:db8::1', family: 6, port: 53 });
    expect(parseDnsUpstream('[2001:db8::1]')).toBeNull();
    expect(parseDnsUpstream('host:53')).toBeNull();
  });
});
