// moat: the operator's CLI. One file per command under commands/.
import { Command } from 'commander';
import { registerConfigCheck } from './commands/config-check.js';
import { registerFlush } from './commands/flush.js';
import { registerLockdown } from './commands/lockdown.js';
import { registerPlan } from './commands/plan.js';
import { registerInstall } from './commands/install.js';
import { registerUninstall } from './commands/uninstall.js';

const program = new Command('moat')
  .description('Show, explain and manage what moatd enforces on this Docker host.')
  .showHelpAfterError()
  .addHelpText('after', `
Examples:
  moat plan                 rules moat wants, and the diff against what is live
  moat config check /etc/moat/config.yaml
  moat flush                remove every moat chain (containers lose isolation)`);

registerPlan(program);
registerConfigCheck(program);
registerFlush(program);
registerLockdown(program);
registerInstall(program);
registerUninstall(program);

await program.parseAsync();
