import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG, parseConfig } from './config.js';

describe('parseConfig', () => {
  it('fills every default from an empty document', () => {
    const { config } = parseConfig(null);
    expect(config).toEqual(DEFAULT_CONFIG);
    expect(DEFAULT_CONFIG.reconcile.resyncIntervalS).toBe(60);
    expect(DEFAULT_CONFIG.protectedNetworks).toContain('fc00::/7');
    expect(DEFAULT_CONFIG.control.socket).toBe('/run/moat/moat.sock');
    expect(DEFAULT_CONFIG.metrics.listen).toBeNull();
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
