import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from './config.js';
import { fromDocker } from './from-docker.js';
import { buildPolicy } from './policy.js';
import { renderRuleset } from './render.js';
import { buildRuleset } from './ruleset.js';

const net = (id: string, name: string, bridgeName: string, subnet: string) => ({
  Id: id.repeat(64),
  Name: name,
  Driver: 'bridge',
  Internal: false,
  Labels: {},
  IPAM: { Config: [{ Subnet: subnet }] },
  Options: { 'com.docker.network.bridge.name': bridgeName },
});

describe('buildRuleset', () => {
  it('denies a bridge network it cannot name by its subnets, both ways, and toward the host', () => {
    const snapshot = fromDocker({ networks: [net('a', 'ok', 'br-ok', '172.30.1.0/24'), net('b', 'semi', 'x;y', '172.30.93.0/24')], containers: [] }).result;
    const r = renderRuleset(buildRuleset(buildPolicy(snapshot, DEFAULT_CONFIG), DEFAULT_CONFIG, 4));
    const forward = r.tables.filter.chains.get('MOAT-FORWARD')!;
    expect(forward.slice(0, 2)).toEqual([
      '-s 172.30.93.0/24 -m comment --comment "moat:unrenderable-bridge" -j MOAT-DENY',
      '-d 172.30.93.0/24 -m comment --comment "moat:unrenderable-bridge" -j DROP',
    ]);
    expect(r.tables.filter.chains.get('MOAT-INPUT')![0]).toBe('-s 172.30.93.0/24 -m comment --comment "moat:unrenderable-bridge" -j MOAT-DENY');
    expect([...r.tables.filter.chains.values()].flat().join('\n')).not.toContain('x;y');
  });
});
