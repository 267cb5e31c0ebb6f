import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_CONFIG } from './config.js';
import { fromDocker } from './from-docker.js';
import { buildPolicy } from './policy.js';
import { revokedFilters } from './revocation.js';
import { buildRuleset } from './ruleset.js';

const lists = JSON.parse(readFileSync(join(import.meta.dirname, '../../test/golden/scenarios/labels-open-proxy/snapshot.json'), 'utf8'));
const ruleset = (containers: unknown[], family: 4 | 6 = 4) =>
  buildRuleset(buildPolicy(fromDocker({ networks: lists.networks, containers }).result, DEFAULT_CONFIG), DEFAULT_CONFIG, family);
const named = (n: string) => lists.containers.find((c: { Names: string[] }) => c.Names[0] === `/${n}`);

describe('revokedFilters', () => {
  it('is empty when nothing allowing went away', () => {
    expect(revokedFilters(ruleset(lists.containers), ruleset(lists.containers))).toEqual([]);
  });

  it('cuts a label grant that disappeared, by both addresses and the port', () => {
    const web = named('shop-web-1');
    const stripped = { ...web, Labels: { ...web.Labels, 'moat.egress': 'world:443' } };
    const after = ruleset(lists.containers.map((c: unknown) => (c === web ? stripped : c)));
    const filters = revokedFilters(ruleset(lists.containers), after).map((f) => f.args.join(' '));
    const webIp = web.NetworkSettings.Networks.edge.IPAddress;
    const appIp = named('shop-app-1').NetworkSettings.Networks.back.IPAddress;
    const otherWebIp = named('other-web-1').NetworkSettings.Networks.edge.IPAddress;
    expect(filters).toContain(`-s ${webIp} -d ${otherWebIp} -p tcp`); // other/web:8080-8090: a range filters by protocol only
    // web -> app:80 is still granted by app's own moat.ingress (one side suffices): not cut.
    expect(filters.filter((f) => f.includes(appIp))).toEqual([]);
    expect(filters).toContain(`-s ${webIp} -p udp --dport 53`); // lan:53/udp
    // Told which chains changed, it looks only there: the same answer from the changed chains, none from the others.
    const before = ruleset(lists.containers);
    const changed = new Set(
      after.tables.filter.chains.filter((c, i) => JSON.stringify(c) !== JSON.stringify(before.tables.filter.chains[i])).map((c) => c.name),
    );
    expect(changed.size).toBeGreaterThan(0);
    expect(revokedFilters(before, after, changed).map((f) => f.args.join(' '))).toEqual(filters);
    expect(revokedFilters(before, after, new Set(['MOAT-INPUT']))).toEqual([]);
    expect(filters).not.toContain(`-s ${webIp} -p tcp --dport 443`); // still granted
  });

  it('cuts world egress when a container loses it, and inbound grants by destination and reply source', () => {
    const web = named('shop-web-1');
    const after = ruleset(lists.containers.filter((c: unknown) => c !== web));
    const filters = revokedFilters(ruleset(lists.containers), after).map((f) => f.args.join(' '));
    const webIp = web.NetworkSettings.Networks.edge.IPAddress;
    expect(filters).toContain(`-s ${webIp}`); // default world egress
    expect(filters).toContain(`-d ${webIp} -p tcp --dport 80`); // ingress world:80
    expect(filters).toContain(`--reply-src ${webIp} -p tcp`);
  });
});
