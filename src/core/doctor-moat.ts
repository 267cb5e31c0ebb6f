// `moat doctor`'s checks of moat itself: its chains present and jumped to
// first (and equal to what it computes now), and moatd answering.
import type { Config } from './config.js';
import type { Check } from './doctor-check.js';
import { checkList } from './doctor-check-list.js';
import type { DoctorFacts } from './doctor-facts.js';
import { chainsOf, iptablesBackend } from './doctor-saves.js';
import { parseSave } from './live.js';
import { isMoatChain } from './names.js';
import { planRestore } from './plan.js';

export function moatChecks(f: DoctorFacts, config: Config): Check[] {
  const { checks, add } = checkList();
  const backend = iptablesBackend(f);
  const mine = { 4: parseSave(f.saves[`${backend}4`] ?? ''), 6: parseSave(f.saves[`${backend}6`] ?? '') } as const;
  // moat's own chains, and its jumps first in the built-in chains.
  const problems: string[] = [];
  const drift: string[] = [];
  for (const family of [4, 6] as const) {
    if (family === 6 && (config.ipv6 === 'off' || f.saves[`${backend}6`] === null)) continue;
    const live = mine[family];
    const want = f.desired?.find((d) => d.family === family);
    if (!want) {
      for (const chain of ['MOAT-FORWARD', 'MOAT-INPUT']) if (!chainsOf(live).includes(chain)) problems.push(`IPv${family}: ${chain} missing`);
      for (const b of ['FORWARD', 'INPUT'])
        if (live.filter?.chains.get(b)?.[0] !== `-j MOAT-${b}`) problems.push(`IPv${family}: ${b} does not jump to MOAT-${b} first`);
      continue;
    }
    const plan = planRestore(want, live);
    for (const t of plan.tables) {
      const missing = t.rewritten.filter((c) => !live[t.table]?.chains.has(c));
      if (missing.length) problems.push(`IPv${family} ${t.table}: missing ${missing.join(', ')}`);
      if (t.jumpsFixed.length)
        problems.push(`IPv${family} ${t.table}: ${t.jumpsFixed.join(', ')} do${t.jumpsFixed.length === 1 ? 'es' : ''} not jump to moat first`);
      const changed = t.rewritten.filter((c) => live[t.table]?.chains.has(c));
      if (changed.length) drift.push(`IPv${family} ${t.table}: ${changed.length} chain(s) differ (${changed.slice(0, 4).join(', ')})`);
      if (t.deleted.length) drift.push(`IPv${family} ${t.table}: stale ${t.deleted.filter(isMoatChain).join(', ')}`);
    }
  }
  if (problems.length)
    add(
      'moat-chains',
      "moat's chains present, jumps first",
      'fail',
      problems.join('; '),
      'start moatd (systemctl start moatd), or check its log for apply_failed; `moat plan` shows the diff',
    );
  else if (drift.length)
    add(
      'moat-chains',
      "moat's chains present, jumps first",
      'warn',
      `live differs from what moat computes now: ${drift.join('; ')}`,
      "moatd repairs this within a second or at its next resync; if it persists, check moatd's log and `moat plan`",
    );
  else
    add(
      'moat-chains',
      "moat's chains present, jumps first",
      'pass',
      f.desired ? 'live equals desired' : 'chains and jumps present (Docker not listed: contents not compared)',
    );

  if (!f.control.ok)
    add(
      'daemon',
      'moatd reachable on its socket',
      'fail',
      `${f.control.socket}: ${f.control.error ?? 'no answer'}`,
      'start moatd (systemctl start moatd) and check control.socket in its config',
    );
  else if (f.control.dockerConnected === false)
    add(
      'daemon',
      'moatd reachable on its socket',
      'warn',
      'moatd answers, but it is not connected to Docker: new containers are not covered',
      'check DOCKER_HOST for moatd and that Docker runs',
    );
  else if (f.control.lastOk === false)
    add('daemon', 'moatd reachable on its socket', 'warn', 'moatd answers, but its last reconcile failed', "see `moat status` and moatd's log (apply_failed)");
  else add('daemon', 'moatd reachable on its socket', 'pass', `${f.control.socket}: answering, Docker connected`);
  return checks;
}
