// The live ruleset of a namespace, as iptables-save / ip6tables-save print it.
import type { Netns } from './netns.js';

export interface Rule {
  readonly table: string;
  readonly chain: string;
  /** The rule after `-A CHAIN `, e.g. `-i br-x -j MOAT-FORWARD`. */
  readonly spec: string;
}

export interface Ruleset {
  readonly text: string;
  tables(): string[];
  /** Built-in and user chains of a table, in save order. */
  chains(table: string): string[];
  /** `ACCEPT`/`DROP` for built-in chains, null for user chains or unknown ones. */
  policy(table: string, chain: string): string | null;
  rules(table: string, chain?: string): Rule[];
}

export function parseIptablesSave(text: string): Ruleset {
  const chains = new Map<string, Map<string, string | null>>();
  const rules: Rule[] = [];
  let table = '';
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      table = line.slice(1).trim();
      chains.set(table, new Map());
    } else if (line.startsWith(':')) {
      const [name = '', policy = '-'] = line.slice(1).split(' ');
      chains.get(table)?.set(name, policy === '-' ? null : policy);
    } else if (line.startsWith('-A ')) {
      const rest = line.slice(3);
      const space = rest.indexOf(' ');
      rules.push({ table, chain: space < 0 ? rest : rest.slice(0, space), spec: space < 0 ? '' : rest.slice(space + 1) });
    }
  }
  return {
    text,
    tables: () => [...chains.keys()],
    chains: (t) => [...(chains.get(t)?.keys() ?? [])],
    policy: (t, c) => chains.get(t)?.get(c) ?? null,
    rules: (t, c) => rules.filter((r) => r.table === t && (c === undefined || r.chain === c)),
  };
}

/** Reads the namespace's ruleset for one family (4: iptables-save, 6: ip6tables-save). */
export async function readRuleset(netns: Netns, family: 4 | 6 = 4): Promise<Ruleset> {
  const res = await netns.run(family === 4 ? 'iptables-save' : 'ip6tables-save', []);
  return parseIptablesSave(res.stdout);
}
