// iptables-save text -> the chains and rules that are live, per table.
import type { TableName } from './names.js';

export interface LiveTable {
  /** Every chain in the table (built-in and user), with its rule bodies in order. */
  readonly chains: ReadonlyMap<string, readonly string[]>;
}

export type LiveState = Partial<Record<TableName, LiveTable>>;

export function parseSave(text: string): LiveState {
  const state: Record<string, { chains: Map<string, string[]> }> = {};
  let current: Map<string, string[]> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trimEnd();
    if (line.startsWith('*')) {
      current = new Map();
      state[line.slice(1)] = { chains: current };
    } else if (!current || line === '' || line.startsWith('#') || line === 'COMMIT') {
      continue;
    } else if (line.startsWith(':')) {
      current.set(line.slice(1).split(' ')[0] ?? '', []);
    } else if (line.startsWith('-A ')) {
      const rest = line.slice(3);
      const space = rest.indexOf(' ');
      const chain = space < 0 ? rest : rest.slice(0, space);
      const body = space < 0 ? '' : rest.slice(space + 1);
      if (!current.has(chain)) current.set(chain, []);
      current.get(chain)!.push(body);
    }
  }
  return state as LiveState;
}
