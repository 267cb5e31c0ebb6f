// Which iptables backend the bed's commands (and moatd) run: `iptables
// --version` in the host namespace says `(nf_tables)` or `(legacy)`. With
// MOAT_IPTABLES_BACKEND set (scripts/with-iptables-legacy.sh), a bed on
// another backend is refused, so a run never claims a backend it did not use.
import type { Netns } from './netns.js';

export async function iptablesBackend(host: Netns, wanted = process.env.MOAT_IPTABLES_BACKEND): Promise<string> {
  const found: string[] = [];
  for (const tool of ['iptables', 'ip6tables']) {
    const r = await host.run(tool, ['--version'], { check: false });
    found.push(/\((nf_tables|legacy)\)/.exec(r.stdout)?.[1] ?? `unknown (${tool}: ${(r.stdout || r.stderr).trim()})`);
  }
  const [v4, v6] = found;
  const backend = v4 === v6 ? v4! : `${v4} (ip6tables: ${v6})`;
  if (wanted && backend !== wanted) throw new Error(`MOAT_IPTABLES_BACKEND=${wanted}, but the bed's iptables is ${backend}`);
  return backend;
}
