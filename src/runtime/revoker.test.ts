import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/fakes/capture-logger.js';
import type { ConntrackResult } from '../adapters/conntrack.js';
import { DEFAULT_CONFIG } from '../core/config.js';
import { fromDocker } from '../core/from-docker.js';
import type { Snapshot } from '../core/model.js';
import { buildPolicy } from '../core/policy.js';
import { type ConntrackFilter, revokedFilters } from '../core/revocation.js';
import { buildRuleset } from '../core/ruleset.js';
import { Revoker } from './revoker.js';

const lists = JSON.parse(readFileSync(join(import.meta.dirname, '../../test/golden/scenarios/labels-open-proxy/snapshot.json'), 'utf8'));
const snapshot = (containers: unknown[]): Snapshot => fromDocker({ networks: lists.networks, containers }).result;
const ruleset = (s: Snapshot) => buildRuleset(buildPolicy(s, DEFAULT_CONFIG), DEFAULT_CONFIG, 4);
const web = lists.containers.find((c: { Names: string[] }) => c.Names[0] === '/shop-web-1');
const webIp: string = web.NetworkSettings.Networks.edge.IPAddress;
const all = snapshot(lists.containers);
/** shop-web-1 with only `world:443` left of its egress grants. */
const stripped = snapshot(lists.containers.map((c: unknown) => (c === web ? { ...web, Labels: { ...web.Labels, 'moat.egress': 'world:443' } } : c)));
/** shop-web-1 gone. */
const removed = snapshot(lists.containers.filter((c: unknown) => c !== web));
const text = (fs: readonly ConntrackFilter[]) => fs.map((f) => f.args.join(' '));

function setup(conntrack: (filters: readonly ConntrackFilter[]) => Promise<ConntrackResult> = async () => ({ deleted: 3, errors: [] })) {
  const cap = captureLogger();
  const calls: (readonly ConntrackFilter[])[] = [];
  const r = new Revoker({ log: cap.log, conntrack: (f) => (calls.push(f), conntrack(f)) });
  return { r, cap, calls };
}

describe('Revoker', () => {
  it('cuts nothing on the first ruleset of a family, nor when nothing allowing went away', async () => {
    const { r, calls } = setup();
    r.revoke(4, ruleset(all), all);
    r.revoke(4, ruleset(all), all);
    await r.idle();
    expect(calls).toEqual([]);
  });

  it('cuts the flows a new ruleset no longer allows, and says how many connections went', async () => {
    const { r, cap, calls } = setup();
    r.revoke(4, ruleset(all), all);
    r.revoke(4, ruleset(stripped), stripped);
    await r.idle();
    expect(calls).toHaveLength(1);
    expect(text(calls[0]!)).toEqual(text(revokedFilters(ruleset(all), ruleset(stripped))));
    expect(text(calls[0]!)).toContain(`-s ${webIp} -p udp --dport 53`);
    expect(cap.events('conntrack_revoked')).toMatchObject([{ family: 4, deleted: 3 }]);
  });

  it('leaves out filters that name no address a running container holds', async () => {
    const { r, calls } = setup();
    r.revoke(4, ruleset(all), all);
    r.revoke(4, ruleset(removed), removed);
    await r.idle();
    // The addresses Docker lists for the containers still running.
    const running = new Set<string>(
      lists.containers
        .filter((c: unknown) => c !== web)
        .flatMap((c: { NetworkSettings: { Networks: Record<string, { IPAddress: string }> } }) =>
          Object.values(c.NetworkSettings.Networks).map((n) => n.IPAddress),
        ),
    );
    const revoked = text(revokedFilters(ruleset(all), ruleset(removed)));
    const dead = revoked.filter((f) => !f.split(' ').some((a) => running.has(a)));
    expect(dead).toContain(`-s ${webIp} -p udp --dport 53`);
    const cut = calls.flatMap(text);
    expect(cut.length).toBeGreaterThan(0);
    expect(cut).toEqual(revoked.filter((f) => !dead.includes(f)));
  });

  it('runs one batch after another, and a failed batch is logged, not thrown', async () => {
    let release = () => {};
    let n = 0;
    const { r, cap, calls } = setup(() =>
      ++n === 1 ? new Promise<ConntrackResult>((ok) => (release = () => ok({ deleted: 1, errors: [] }))) : Promise.reject(new Error('conntrack: exit 1')),
    );
    r.revoke(4, ruleset(all), all);
    r.revoke(4, ruleset(stripped), stripped);
    r.revoke(4, ruleset(all), all);
    r.revoke(4, ruleset(stripped), stripped);
    await new Promise((ok) => setTimeout(ok, 10));
    expect(calls).toHaveLength(1);
    release();
    await r.idle();
    expect(calls).toHaveLength(2);
    expect(cap.events('conntrack_revoked')).toHaveLength(1);
    expect(cap.events('conntrack_failed')).toMatchObject([{ family: 4, err: 'Error: conntrack: exit 1' }]);
  });

  it('keeps each family apart', async () => {
    const { r, calls } = setup();
    r.revoke(4, ruleset(all), all);
    r.revoke(6, buildRuleset(buildPolicy(stripped, DEFAULT_CONFIG), DEFAULT_CONFIG, 6), stripped);
    await r.idle();
    expect(calls).toEqual([]);
  });
});
