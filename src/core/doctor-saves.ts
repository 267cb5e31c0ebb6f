// Reading the iptables-save outputs among `moat doctor`'s facts.
import type { DoctorFacts } from './doctor-facts.js';
import type { LiveState } from './live.js';

/** The backend moat writes with: the one `iptables -V` names. */
export const iptablesBackend = (f: DoctorFacts): 'legacy' | 'nft' => (/\(legacy\)/.test(f.iptablesVersion ?? '') ? 'legacy' : 'nft');

/** How many rules (`-A` lines) a save holds. */
export const ruleCount = (save: string | null) => (save ?? '').split('\n').filter((l) => l.startsWith('-A ')).length;

/** Every chain of every table in a parsed save. */
export const chainsOf = (live: LiveState) => Object.values(live).flatMap((t) => [...(t?.chains.keys() ?? [])]);
