// Every golden scenario, applied to a real kernel (in a scratch network
// namespace), is accepted and reads back exactly as rendered: the rendered
// text is canonical iptables-save text, so an unchanged host costs no commit.
// A ruleset with dns: grants matches on kernel sets (-m set): they are made in
// the namespace first, as moatd makes them before a commit (ipset is per
// network namespace, so they go with it).
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseSave, type LiveState } from '../../src/core/live.js';
import { planFlush, planRestore } from '../../src/core/plan.js';
import { TABLES } from '../../src/core/render.js';
import { computeDesired } from '../../src/core/desired.js';
import { loadScenario, scenarioNames, SCENARIOS_DIR as root } from '../golden/scenario-folders.js';
import { iptablesBackend } from './testbed/iptables-backend.js';
import { createNetns, type Netns } from './testbed/netns.js';

describe('golden rulesets on a real kernel', () => {
  let ns: Netns;

  beforeAll(async () => {
    ns = await createNetns(`moat-${randomBytes(3).toString('hex')}-golden`);
    console.info(`golden rulesets on ${ns.name}: iptables backend ${await iptablesBackend(ns)}`);
  });

  afterAll(async () => {
    await ns?.delete();
  });

  const live = async (family: 4 | 6): Promise<LiveState> => {
    const state: LiveState = {};
    for (const table of TABLES) Object.assign(state, parseSave((await ns.run(family === 4 ? 'iptables-save' : 'ip6tables-save', ['-t', table])).stdout));
    return state;
  };
  const restore = (family: 4 | 6, text: string) =>
    ns.run(family === 4 ? 'iptables-restore' : 'ip6tables-restore', ['--noflush', '--wait', '5'], { input: text });

  it.each(scenarioNames())('%s is accepted and reads back unchanged, then flushes clean', async (name) => {
    const { lists, config, policyRules } = loadScenario(join(root, name));
    const desired = computeDesired(lists, config, [4, 6], policyRules);
    for (const s of desired.dnsSets) {
      await ns.run('ipset', ['create', s.name, 'hash:ip', 'family', s.family === 4 ? 'inet' : 'inet6', 'timeout', '0', '-exist']);
    }
    for (const [i, family] of ([4, 6] as const).entries()) {
      const rendered = desired.rendered[i]!;
      const first = planRestore(rendered, await live(family));
      expect(first.text).not.toBeNull();
      await restore(family, first.text!);
      expect(planRestore(rendered, await live(family)).text).toBeNull();
      const flush = planFlush(await live(family));
      await restore(family, flush.text!);
      expect(planFlush(await live(family)).text).toBeNull();
    }
  });
});
