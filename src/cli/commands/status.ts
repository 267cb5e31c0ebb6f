import type { Command } from 'commander';
import { ControlUnreachable, controlGet } from '../../adapters/control-client.js';
import type { Decision } from '../../core/policy.js';
import type { StatusDocument } from '../../runtime/status.js';
import { cliConfig, fail } from '../context.js';
import { ago, printJson, style, table, type Style } from '../format.js';

export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("Show the daemon's view: Docker connection, last reconcile, rule counts, problems, networks and containers")
    .option('-c, --config <file>', 'config file (for control.socket)')
    .option('--socket <path>', 'control socket (default: control.socket from the config)')
    .option('--json', "print the daemon's status document (shape: docs/cli.md)")
    .addHelpText(
      'after',
      `
Reads moatd's control socket; exit 1 when the daemon cannot be reached.
Example:
  moat status
  moat status --json | jq '.problems'`,
    )
    .action(async (opts: { config?: string; socket?: string; json?: boolean }) => {
      const socket = opts.socket ?? (await cliConfig(opts.config)).control.socket;
      let doc: StatusDocument;
      try {
        const res = await controlGet(socket, '/status');
        if (res.status !== 200) fail(`moatd answered ${res.status} on ${socket}: ${res.body.trim()}`);
        doc = JSON.parse(res.body) as StatusDocument;
      } catch (err) {
        if (err instanceof ControlUnreachable) fail(`${err.message}\nIs moatd running? (systemctl status moatd; the socket is control.socket in its config)`);
        throw err;
      }
      if (opts.json) return printJson(doc);
      process.stdout.write(renderStatus(doc, style()));
    });
}

/** The DNS section: the forwarder, its counters, and each dns: grant's learned count (absent from an older moatd). */
function renderDns(dns: StatusDocument['dns'] | undefined, s: Style): string[] {
  if (!dns) return [];
  const head = dns.enabled
    ? `${s.green('forwarding')} on ${dns.listen} to ${dns.upstream.join(', ') || s.red('no upstream')}`
    : dns.listen
      ? s.red(`not listening on ${dns.listen} (see the dns_listen_failed log line)`)
      : s.dim('off (dns.listen is null)');
  const out = [
    `${s.bold('dns'.padEnd(10))}${head}; ${dns.queries} queries, ${dns.answersLearned} learned, ${dns.upstreamFailures} upstream failures, ${dns.dropped} dropped`,
  ];
  for (const g of dns.grants) {
    const names = [...new Set(g.learned.map((l) => l.name))];
    out.push(
      `${' '.repeat(10)}dns:${g.pattern}  ${g.learned.length} addresses learned${names.length > 0 ? s.dim(` (${names.slice(0, 3).join(', ')}${names.length > 3 ? ', ...' : ''})`) : ''}`,
    );
  }
  return out;
}

const yesNo = (d: Decision<boolean>, yes: string, no: string) => `${d.value ? yes : no} (${d.reason})`;

export function renderStatus(doc: StatusDocument, s: Style): string {
  const out: string[] = [];
  const last = doc.lastReconcile;
  const field = (name: string, value: string) => out.push(`${s.bold(name.padEnd(10))}${value}`);
  field('moatd', `pid ${doc.daemon.pid}, up ${doc.daemon.uptimeS}s, IPv${doc.daemon.families.join(' + IPv') || '?'}`);
  field('docker', `${doc.docker.connected ? s.green('connected') : s.red('disconnected')}${doc.docker.since ? ` since ${ago(doc.docker.since)}` : ''}`);
  if (last) {
    const result = !last.ok ? s.red(`failed: ${last.error ?? ''}`) : last.committed ? s.green('committed') : 'skipped (live equals desired)';
    field(
      'reconcile',
      `${ago(last.at)}, trigger ${last.triggers.join(',')}, ${last.durationMs} ms, ${result}${last.driftRepaired ? s.yellow(', drift repaired') : ''}`,
    );
  } else field('reconcile', 'none yet');
  field(
    'counts',
    `${doc.counts.reconciles} reconciles, ${doc.counts.commits} commits, ${doc.counts.skipped} skipped, ${doc.counts.failures} failed; last commit ${ago(doc.lastCommitAt)}`,
  );
  const rules = Object.entries(doc.rules).map(
    ([f, t]) =>
      `IPv${f.slice(1)} ${Object.entries(t ?? {})
        .map(([table, n]) => `${table} ${n}`)
        .join(', ')}`,
  );
  field('rules', rules.join('; ') || 'none yet');
  out.push(...renderDns(doc.dns as StatusDocument['dns'] | undefined, s));

  out.push('', s.bold('NETWORKS'));
  out.push(
    table(
      ['NAME', 'BRIDGE', 'SUBNETS', 'ICC', 'EGRESS', 'NAT'],
      doc.networks.map((n) => {
        // host and none are network modes, not networks moat could firewall.
        if (!n.managed && (n.driver === 'host' || n.driver === 'null')) return [n.name, s.dim(`(${n.driver} mode)`), '-', '-', '-', '-'];
        return [
          n.name + (n.internal ? ' (internal)' : ''),
          n.bridge ?? s.yellow(`${n.driver}: not firewalled`),
          n.subnets.length > 0 ? [...n.subnets] : '-',
          yesNo(n.icc, 'on', 'off'),
          `${n.egress.value} (${n.egress.reason})`,
          yesNo(n.nat, 'on', 'off'),
        ];
      }),
    ),
  );
  out.push(s.bold('CONTAINERS'));
  out.push(
    table(
      ['NAME', 'ADDRESSES', 'WORLD', 'GRANTS', 'PROBLEMS'],
      doc.containers.map((c) => [
        c.name + (c.project ? s.dim(` (${c.project}/${c.service})`) : ''),
        c.addresses.length > 0 ? c.addresses.map((a) => `${a.network} ${[a.ipv4, a.ipv6].filter(Boolean).join(' ')}`) : c.networkMode,
        c.world.value ? 'yes' : s.dim(`no (${c.world.reason})`),
        c.grants.length > 0
          ? c.grants.map(
              (g) => `${g.direction === 'egress' ? '->' : '<-'} ${g.peer}${g.ports ? `:${g.ports}` : ''}${g.proto ? `/${g.proto}` : ''}  ${s.dim(g.reason)}`,
            )
          : '-',
        c.problems.length > 0 ? c.problems.map((p) => s.yellow(`${p.kind}: ${p.reason}`)) : '-',
      ]),
    ),
  );
  if (doc.problems.length > 0) {
    out.push(s.bold(`PROBLEMS (${doc.problems.length})`));
    for (const p of doc.problems)
      out.push(`  ${s.yellow(p.kind)} ${p.subject}${p.key ? ` ${String(p.key)}` : ''}${p.value ? `=${JSON.stringify(p.value)}` : ''}: ${p.reason}`);
  } else out.push(s.green('no problems'));
  return `${out.join('\n')}\n`;
}
