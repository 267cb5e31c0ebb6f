// A reachability table checked in one assertion: every case probed in
// parallel, the verdicts compared side by side, so a failure shows all cells.
import { expect } from 'vitest';
import { probe, type ClosedReason, type ProbeSource } from './probe.js';

export interface Case {
  readonly name: string;
  readonly from: ProbeSource;
  readonly to: string;
  readonly port: number;
  readonly state: 'open' | 'closed';
  /** open: the client address the server must have seen. */
  readonly seen?: string;
  /** closed: why (default 'refused'). */
  readonly reason?: ClosedReason | null;
  readonly timeoutS?: number;
}

const verdict = (name: string, state: string, detail: string | null | undefined) => `${name}: ${state}${detail ? ` ${detail}` : ''}`;

export async function check(cases: readonly Case[]): Promise<void> {
  const results = await Promise.all(cases.map((c) => probe(c.from, c.to, c.port, { timeoutS: c.timeoutS })));
  const got = results.map((r, i) => verdict(cases[i]?.name ?? '', r.state, r.state === 'open' ? (cases[i]?.seen ? r.body : null) : r.reason));
  const want = cases.map((c) => verdict(c.name, c.state, c.state === 'open' ? c.seen : (c.reason ?? 'refused')));
  expect(got, JSON.stringify(results, null, 1)).toEqual(want);
}
