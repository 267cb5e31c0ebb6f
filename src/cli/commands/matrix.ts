import type { Command } from 'commander';
import { parseTarget } from '../../core/explain.js';
import { buildMatrix, type CellValue, type Matrix } from '../../core/matrix.js';
import { fail, hostAddresses, policyContext } from '../context.js';
import { printJson, style, width, type Style } from '../format.js';

const SYMBOL: Record<CellValue, string> = { allowed: '●', partial: '◐', denied: '·', self: '\\', unfiltered: ' ' };

export function registerMatrix(program: Command): void {
  program
    .command('matrix')
    .description('Reachability of every container and zone (host, lan, world) from every other, grouped by network')
    .option('-c, --config <file>', 'config file')
    .option('-p, --port <port[/proto]>', 'one port (e.g. 443 or 53/udp); default: any port')
    .option('-6, --ipv6', 'the IPv6 matrix')
    .option('--json', 'machine-readable output (shape: docs/cli.md)')
    .addHelpText(
      'after',
      `
Rows are sources, columns destinations (numbered; the legend names them).
  ● allowed   ◐ some ports/protocols/addresses only (moat explain SRC DST says which)   · denied
Computed from Docker directly, like \`moat plan\`. Exit 0, or 1 on error.
Examples:
  moat matrix
  moat matrix --port 5432`,
    )
    .action(async (opts: { config?: string; port?: string; ipv6?: boolean; json?: boolean }) => {
      let port: number | null = null;
      let proto = null;
      if (opts.port) {
        const t = parseTarget(`world:${opts.port}`);
        if ('error' in t || t.port === null) fail(`--port ${opts.port}: expected PORT or PORT/PROTO`);
        port = t.port;
        proto = t.proto;
      }
      const { config, desired } = await policyContext(opts.config);
      const m = buildMatrix(desired.policy, config, { family: opts.ipv6 ? 6 : 4, port, proto, hostAddresses: hostAddresses() });
      if (opts.json) return printJson(m);
      process.stdout.write(renderMatrix(m, style()));
    });
}

export function renderMatrix(m: Matrix, s: Style): string {
  const n = m.nodes.length;
  const digits = String(n).length;
  const numbers = m.nodes.map((_, i) => String(i + 1).padStart(digits, ' '));
  const nameWidth = Math.max(...m.nodes.map((x) => width(x.name)), 6);
  const lead = (label: string, num: string) => `${num.padStart(digits)}  ${label.padEnd(nameWidth)}  `;
  const out: string[] = [];
  out.push(s.bold(`Reachability (IPv${m.family}, ${m.port !== null ? `${m.proto ?? 'tcp'}/${m.port}` : 'any port'}): row = from, column = to`));
  // Column numbers printed vertically, one digit per line, so cells stay two characters wide.
  for (let d = 0; d < digits; d++) out.push(`${' '.repeat(digits + 2 + nameWidth + 2)}${numbers.map((x) => x[d]).join(' ')}`);
  const colour = (v: CellValue) =>
    v === 'allowed' ? s.green(SYMBOL[v]) : v === 'partial' ? s.yellow(SYMBOL[v]) : v === 'denied' ? s.dim(SYMBOL[v]) : SYMBOL[v];
  const index = new Map(m.nodes.map((x, i) => [x.name, i]));
  const row = (i: number) => lead(m.nodes[i]!.name, numbers[i]!) + m.cells[i]!.map((c) => colour(c.value)).join(' ');
  for (const g of m.groups) {
    out.push(s.bold(`network ${g.name}`));
    for (const name of g.members) out.push(row(index.get(name)!));
  }
  out.push(s.bold('zones'));
  for (const z of ['host', 'lan', 'world']) out.push(row(index.get(z)!));
  out.push(
    '',
    `${s.green('●')} allowed   ${s.yellow('◐')} partly (some ports/protocols/addresses)   ${s.dim('·')} denied   \\ self; blank: not Docker traffic`,
  );
  for (const note of m.notes) out.push(s.dim(`note: ${note}`));
  return `${out.join('\n')}\n`;
}
