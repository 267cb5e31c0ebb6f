// Order statistics for the bench tables: median and p95 by the nearest-rank
// method (no interpolation: every reported number is one that was measured).

export interface Summary {
  readonly n: number;
  readonly median: number;
  readonly p95: number;
  readonly min: number;
  readonly max: number;
}

function rank(sorted: readonly number[], q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i]!;
}

export function summarize(values: readonly number[]): Summary | null {
  const sorted = values.filter((v) => Number.isFinite(v)).sort((a, b) => a - b);
  if (sorted.length === 0) return null;
  return { n: sorted.length, median: rank(sorted, 0.5), p95: rank(sorted, 0.95), min: sorted[0]!, max: sorted[sorted.length - 1]! };
}

export const round = (v: number, digits = 1) => Math.round(v * 10 ** digits) / 10 ** digits;

/** "123.4 (min 100.0, max 150.2)" — the form the bench prints. */
export function fmt(s: Summary | null, unit = 'ms', digits = 1): string {
  if (!s) return 'n/a';
  return `${round(s.median, digits)} ${unit} (min ${round(s.min, digits)}, max ${round(s.max, digits)})`;
}

export function ratio(a: Summary | null, b: Summary | null): number | null {
  if (!a || !b || b.median === 0) return null;
  return round(a.median / b.median, 2);
}
