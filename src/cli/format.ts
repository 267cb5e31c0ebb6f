// Human output for the read commands: aligned tables (multi-line cells),
// and colour only when stdout is a terminal (NO_COLOR and TERM=dumb honoured).

export interface Style {
  readonly on: boolean;
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
}

const wrap = (on: boolean, open: number, close: number) => (s: string) => (on && s !== '' ? `\u001b[${open}m${s}\u001b[${close}m` : s);

export function colourEnabled(stream: { isTTY?: boolean } = process.stdout, env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export function style(on: boolean = colourEnabled()): Style {
  return { on, bold: wrap(on, 1, 22), dim: wrap(on, 2, 22), green: wrap(on, 32, 39), yellow: wrap(on, 33, 39), red: wrap(on, 31, 39) };
}

const ANSI = /\u001b\[[0-9;]*m/g;
/** Display width: ANSI colour codes take no room. */
export const width = (s: string) => [...s.replace(ANSI, '')].length;
const pad = (s: string, w: number) => s + ' '.repeat(Math.max(0, w - width(s)));

export type Cell = string | readonly string[];

/** Aligned columns, two spaces apart; a cell with several lines makes the row that tall. */
export function table(headers: readonly string[], rows: readonly (readonly Cell[])[], options: { indent?: string; style?: Style } = {}): string {
  const indent = options.indent ?? '';
  const lines = (c: Cell | undefined): string[] => (c === undefined ? [''] : typeof c === 'string' ? c.split('\n') : c.length === 0 ? [''] : [...c]);
  const widths = headers.map((h, i) => Math.max(width(h), ...rows.map((r) => Math.max(...lines(r[i]).map(width)))));
  const out: string[] = [];
  const line = (cells: readonly string[]) => `${indent}${cells.map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!))).join('  ')}`.trimEnd();
  out.push(line(headers.map((h) => (options.style ? options.style.bold(h) : h))));
  for (const r of rows) {
    const cols = headers.map((_, i) => lines(r[i]));
    const height = Math.max(...cols.map((c) => c.length));
    for (let k = 0; k < height; k++) out.push(line(cols.map((c) => c[k] ?? '')));
  }
  return `${out.join('\n')}\n`;
}

/** "3s ago", "5m ago", "2h ago". */
export function ago(iso: string | null, now: number = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 120) return `${s}s ago`;
  if (s < 7200) return `${Math.round(s / 60)}m ago`;
  if (s < 172_800) return `${Math.round(s / 3600)}h ago`;
  return `${Math.round(s / 86_400)}d ago`;
}

/** Writes JSON the way every read command does: two-space indent, trailing newline. */
export function printJson(value: unknown): void {
  process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}
