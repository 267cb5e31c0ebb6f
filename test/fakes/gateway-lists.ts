// Gateway test helpers: Docker list answers with each endpoint's gateways, and
// the rules moat renders for them (src/core/gateway*.test.ts).
import { DEFAULT_CONFIG, type Config } from '../../src/core/config.js';
import { fromDocker, type DockerLists } from '../../src/core/from-docker.js';
import { buildPolicy } from '../../src/core/policy.js';
import { renderRuleset, renderText } from '../../src/core/render.js';
import { buildRuleset } from '../../src/core/ruleset.js';

/** The IPv4 and IPv6 rules moat renders for a host (publishMode dnat unless config says otherwise). */
export const rules = (lists: DockerLists, config: Config = { ...DEFAULT_CONFIG, publishMode: 'dnat' }) => {
  const policy = buildPolicy(fromDocker(lists).result, config);
  return { v4: renderText(renderRuleset(buildRuleset(policy, config, 4))), v6: renderText(renderRuleset(buildRuleset(policy, config, 6))) };
};
/** The lines of a rules text that contain `part`. */
export const lines = (text: string, part: string) => text.split('\n').filter((l) => l.includes(part));

/** A list answer as Docker gives it: every endpoint with its gateways (and, from 28.0 on, GwPriority). */
export function withGateways(lists: DockerLists, eps: Record<string, Record<string, { gw4?: string; gw6?: string; prio?: number }>>): DockerLists {
  return {
    ...lists,
    containers: lists.containers.map((raw) => {
      const c = raw as { Names: string[]; NetworkSettings: { Networks: Record<string, object> } };
      const mine = eps[c.Names[0]!.slice(1)] ?? {};
      const Networks = Object.fromEntries(
        Object.entries(c.NetworkSettings.Networks).map(([n, e]) => {
          const g = mine[n] ?? {};
          return [n, { ...e, Gateway: g.gw4 ?? '', IPv6Gateway: g.gw6 ?? '', ...(g.prio === undefined ? {} : { GwPriority: g.prio }) }];
        }),
      );
      return { ...c, NetworkSettings: { Networks } };
    }),
  };
}
