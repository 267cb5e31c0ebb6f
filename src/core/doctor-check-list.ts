// The list a group of `moat doctor` checks fills, in the order they run.
import type { Check, CheckStatus } from './doctor-check.js';

/** An empty list and `add`, which appends a check (a passing or skipped one keeps no fix). */
export function checkList(): {
  readonly checks: Check[];
  readonly add: (id: string, title: string, status: CheckStatus, detail: string, fix?: string | null) => void;
} {
  const checks: Check[] = [];
  const add = (id: string, title: string, status: CheckStatus, detail: string, fix: string | null = null) => {
    checks.push({ id, title, status, detail, fix: status === 'pass' || status === 'skip' ? null : fix });
  };
  return { checks, add };
}
