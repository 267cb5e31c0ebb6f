import type { Command } from 'commander';
import pino from 'pino';
import { gatherFacts } from '../../adapters/doctor-facts.js';
import { execaRunner } from '../../adapters/exec.js';
import { PolicyDir } from '../../adapters/policy-dir.js';
import type { Check } from '../../core/doctor-check.js';
import { runChecks } from '../../core/doctor.js';
import { cliConfig } from '../context.js';
import { printJson, style, type Style } from '../format.js';

export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description('Check the host for what breaks or bypasses moat, each problem with its fix')
    .option('-c, --config <file>', 'config file')
    .option('--sysctl-root <dir>', 'read sysctls under this directory instead of /proc/sys')
    .option('--daemon-json <file>', "Docker's config file when dockerd has no --config-file (default /etc/docker/daemon.json)")
    .option('--json', 'machine-readable output (shape: docs/cli.md)')
    .addHelpText(
      'after',
      `
Checks: the engine version (tested with moat?), Docker's iptables and
ip6tables off (config file, flags, live chains; Docker 27+ default ip6tables
to true), Docker 29's docker-bridges nftables tables, br_netfilter,
IP forwarding, one iptables backend (legacy vs nf_tables), Swarm, userland
proxy vs publishMode, host-network/privileged/NET_ADMIN containers, moat's
chains and jumps, moatd on its control socket.
Exit codes: 0 nothing failed (warnings allowed), 2 a check failed, 1 error.
Example:
  sudo moat doctor`,
    )
    .action(async (opts: { config?: string; sysctlRoot?: string; daemonJson?: string; json?: boolean }) => {
      const config = await cliConfig(opts.config);
      const policies = new PolicyDir(config.policyDir, pino({ level: 'silent' }));
      await policies.load();
      const facts = await gatherFacts(config, execaRunner(), policies.rules(), { sysctlRoot: opts.sysctlRoot, daemonJson: opts.daemonJson });
      const checks = runChecks(facts, config);
      const failed = checks.some((c) => c.status === 'fail');
      if (opts.json) printJson({ ok: !failed, checks });
      else process.stdout.write(renderChecks(checks, style()));
      process.exitCode = failed ? 2 : 0;
    });
}

export function renderChecks(checks: readonly Check[], s: Style): string {
  const mark = { pass: s.green('pass'), warn: s.yellow('warn'), fail: s.red('FAIL'), skip: s.dim('skip') };
  const out: string[] = [];
  for (const c of checks) {
    out.push(`${mark[c.status]}  ${s.bold(c.title)}`);
    out.push(`      ${c.detail}`);
    if (c.fix) out.push(`      fix: ${c.fix}`);
  }
  const n = (st: Check['status']) => checks.filter((c) => c.status === st).length;
  out.push('', `${n('pass')} passed, ${n('warn')} warnings, ${n('fail')} failed${n('skip') ? `, ${n('skip')} skipped` : ''}`);
  return `${out.join('\n')}\n`;
}
