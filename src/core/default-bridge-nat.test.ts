// The default bridge under "iptables": false: the engine reports
// enable_ip_masquerade=false for it whatever the operator's "ip-masq" says,
// so moat masquerades it unless config defaultBridgeNat is false.
import { describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { ConfigSchema, DEFAULT_CONFIG, type Config } from './config.js';
import { fromDocker } from './from-docker.js';
import { buildPolicy } from './policy.js';
import { renderRuleset, renderText } from './render.js';
import { buildRuleset } from './ruleset.js';

const DOCKER0 = {
  'com.docker.network.bridge.default_bridge': 'true',
  'com.docker.network.bridge.enable_ip_masquerade': 'false',
  'com.docker.network.bridge.name': 'docker0',
};

const host = (options: Record<string, string>, config: Config = DEFAULT_CONFIG) => {
  const lists = dockerLists({ bridge: { subnets: ['172.17.0.0/16', 'fd00:17::/64'], options } }, { c: { nets: { bridge: '172.17.0.2,fd00:17::2' } } });
  const policy = buildPolicy(fromDocker(lists).result, config);
  const text = (f: 4 | 6) => renderText(renderRuleset(buildRuleset(policy, config, f)));
  return { np: policy.networks[0]!, v4: text(4), v6: text(6) };
};
const masquerades = (text: string) => text.split('\n').filter((l) => l.includes('-j MASQUERADE'));

describe("the default bridge's masquerade", () => {
  it('is on by default, though the engine says enable_ip_masquerade=false', () => {
    const d = host(DOCKER0);
    expect(d.np.nat).toMatchObject({ value: true, reason: 'default: masquerade (default bridge, config defaultBridgeNat: true)' });
    expect(masquerades(d.v4)).toEqual([expect.stringMatching(/^-A MOAT-POSTROUTING -s 172\.17\.0\.0\/16 ! -o docker0 .* -j MASQUERADE$/)]);
    expect(masquerades(d.v6)).toEqual([expect.stringMatching(/^-A MOAT-POSTROUTING -s fd00:17::\/64 ! -o docker0 .* -j MASQUERADE$/)]);
  });

  it('is off with config defaultBridgeNat: false, and says so', () => {
    const d = host(DOCKER0, ConfigSchema.parse({ defaultBridgeNat: false }));
    expect(d.np.nat).toMatchObject({ value: false, reason: 'config defaultBridgeNat: false' });
    expect([...masquerades(d.v4), ...masquerades(d.v6)]).toEqual([]);
  });

  it("a user-defined network's enable_ip_masquerade=false is still the operator's word, whatever defaultBridgeNat says", () => {
    const user = { 'com.docker.network.bridge.enable_ip_masquerade': 'false' };
    for (const config of [DEFAULT_CONFIG, ConfigSchema.parse({ defaultBridgeNat: true })]) {
      const d = host(user, config);
      expect(d.np.nat).toMatchObject({ value: false, reason: 'option com.docker.network.bridge.enable_ip_masquerade=false' });
      expect([...masquerades(d.v4), ...masquerades(d.v6)]).toEqual([]);
    }
  });

  it('defaultBridgeNat must be a boolean', () => {
    expect(ConfigSchema.safeParse({ defaultBridgeNat: 'no' }).success).toBe(false);
  });
});
