// Docker 28's per-family gateway modes (com.docker.network.bridge.gateway_mode_ipv4/ipv6).
import { describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { DEFAULT_CONFIG } from './config.js';
import { fromDocker } from './from-docker.js';
import { buildPolicy } from './policy.js';
import { renderText } from './render.js';
import { buildRuleset } from './ruleset.js';
import { renderRuleset } from './render.js';

const mode = (options: Record<string, string>) => {
  const lists = dockerLists({ g: { subnets: ['172.30.5.0/24', 'fd00:30:5::/64'], options } }, { c: { nets: { g: '172.30.5.2,fd00:30:5::2' } } });
  const snapshot = fromDocker(lists).result;
  const policy = buildPolicy(snapshot, DEFAULT_CONFIG);
  const text = (f: 4 | 6) => renderText(renderRuleset(buildRuleset(policy, DEFAULT_CONFIG, f)));
  return { net: snapshot.networks[0]!, np: policy.networks[0]!, v4: text(4), v6: text(6) };
};
const masquerades = (text: string) => text.split('\n').filter((l) => l.includes('-j MASQUERADE'));

describe('gateway modes', () => {
  it('nat and nat-unprotected: masquerade both families, exactly as without the option', () => {
    const plain = mode({});
    for (const m of ['nat', 'nat-unprotected']) {
      const g = mode({ 'com.docker.network.bridge.gateway_mode_ipv4': m, 'com.docker.network.bridge.gateway_mode_ipv6': m });
      expect(g.v4).toBe(plain.v4);
      expect(g.v6).toBe(plain.v6);
      expect(g.np.nat).toEqual({ value: true, reason: 'default: masquerade' });
    }
    expect(masquerades(plain.v4)).toHaveLength(1);
    expect(masquerades(plain.v6)).toHaveLength(1);
  });

  it('routed: no masquerade for that family, the other one keeps it', () => {
    const r4 = mode({ 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' });
    expect(masquerades(r4.v4)).toEqual([]);
    expect(masquerades(r4.v6)).toHaveLength(1);
    expect(r4.np.nat).toEqual({ value: true, reason: 'default: masquerade, IPv6 only (option gateway_mode_ipv4=routed)' });
    const both = mode({ 'com.docker.network.bridge.gateway_mode_ipv4': 'routed', 'com.docker.network.bridge.gateway_mode_ipv6': 'routed' });
    expect([...masquerades(both.v4), ...masquerades(both.v6)]).toEqual([]);
    expect(both.np.nat).toEqual({ value: false, reason: 'option gateway_mode_ipv4=routed and gateway_mode_ipv6=routed' });
  });

  it('isolated (either family): the network is kept in as internal', () => {
    const iso = mode({ 'com.docker.network.bridge.gateway_mode_ipv6': 'isolated' });
    expect(iso.net.internal).toBe(true);
    expect(iso.np.egress).toEqual({ value: 'none', reason: 'internal network' });
    expect([...masquerades(iso.v4), ...masquerades(iso.v6)]).toEqual([]);
    expect(mode({}).net.internal).toBe(false);
  });
});
