import type { Command } from 'commander';
import { execa } from 'execa';
import { hostPath, InstallError } from '../../adapters/install-layout.js';
import { ownPackageRoot } from '../../adapters/install-package.js';
import { planInstall } from '../../adapters/install-plan.js';
import { applyStep, describeStep } from '../../adapters/install-steps.js';
import { fail } from '../context.js';

interface Opts {
  prefix: string;
  root: string;
  configureDocker?: boolean;
  startGate: boolean;
  dryRun?: boolean;
  systemd: boolean;
  withNode?: boolean;
}

export function registerInstall(program: Command): void {
  program
    .command('install')
    .description('Install moat under PREFIX with its systemd units and an example /etc/moat/config.yaml (never overwritten)')
    .option('--prefix <dir>', 'where moat goes: PREFIX/lib/moat, links in PREFIX/bin', '/usr/local')
    .option('--root <dir>', 'write everything under DIR instead of / (images, tests)', '/')
    .option(
      '--configure-docker',
      'set "iptables": false and "ip6tables": false in /etc/docker/daemon.json and register the start gate, bin/moat-runc, as Docker\'s default runtime; with dns.listen set in the config, "dns": [dns.listen] too (shows the diff; uninstall restores)',
    )
    .option('--no-start-gate', "with --configure-docker: leave Docker's default runtime alone (new containers may then start before their rules are in)")
    .option('--with-node', 'bundle the Node binary running this installer (for hosts whose node is older than 22)')
    .option('--no-systemd', 'do not write the systemd units (container images)')
    .option('--dry-run', 'print what would change and change nothing')
    .addHelpText(
      'after',
      `
Nothing is started: the systemctl commands to run are printed at the end.
Examples:
  sudo moat install --configure-docker --dry-run
  sudo moat install --configure-docker
  moat install --root /tmp/scratch --prefix /opt/moat`,
    )
    .action(async (opts: Opts) => {
      try {
        const { plan, layout } = await planInstall({
          root: opts.root,
          prefix: opts.prefix,
          configureDocker: opts.configureDocker === true,
          startGate: opts.startGate,
          systemd: opts.systemd,
          bundleNode: opts.withNode ? process.execPath : null,
          packageRoot: ownPackageRoot(),
          nodeOnPath: async () => {
            const res = await execa('node', ['--version'], { reject: false, timeout: 10_000 });
            return res.exitCode === 0 ? String(res.stdout).trim() : null;
          },
        });
        const out = (s: string) => process.stdout.write(`${s}\n`);
        if (layout.root !== '/') out(`Installing into root ${layout.root} (paths below are as the host will see them).`);
        for (const w of plan.warnings) out(`warning: ${w}`);
        out(opts.dryRun ? 'Would do (dry run, nothing changed):' : 'Doing:');
        for (const step of plan.steps) for (const line of describeStep(step, (p) => hostPath(layout, p))) out(`  ${line}`);
        if (opts.dryRun) return;
        for (const step of plan.steps) await applyStep(step, process.pid);
        out('moat is installed.');
        if (plan.next.length > 0) out(`Next, run:\n${plan.next.map((c) => `  ${c}`).join('\n')}`);
      } catch (err) {
        fail(err instanceof InstallError ? err.message : `install failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    });
}
