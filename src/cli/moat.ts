// moat: the operator's CLI. One file per command under commands/.
import { Command } from 'commander';
import { registerConfigCheck } from './commands/config-check.js';
import { registerDoctor } from './commands/doctor.js';
import { registerExplain } from './commands/explain.js';
import { registerGraph } from './commands/graph.js';
import { registerMatrix } from './commands/matrix.js';
import { registerStatus } from './commands/status.js';
import { registerFlush } from './commands/flush.js';
import { registerLockdown } from './commands/lockdown.js';
import { registerPlan } from './commands/plan.js';
import { registerInstall } from './commands/install.js';
import { registerUninstall } from './commands/uninstall.js';

const program = new Command('moat')
  .description('Show, explain and manage what moatd enforces on this Docker host.')
  .showHelpAfterError()
  .addHelpText(
    'after',
    `
Examples:
  moat status               what moatd enforces now, and its problems
  moat explain web db:5432  may web connect to db on 5432, and why
  moat matrix               who reaches whom, grouped by network
  moat doctor               host checks, each problem with its fix
  moat plan                 rules moat wants, and the diff against what is live
  moat config check /etc/moat/config.yaml
  moat flush                remove every moat chain (containers lose isolation)`,
  );

registerStatus(program);
registerExplain(program);
registerMatrix(program);
registerGraph(program);
registerDoctor(program);
registerPlan(program);
registerConfigCheck(program);
registerFlush(program);
registerLockdown(program);
registerInstall(program);
registerUninstall(program);

await program.parseAsync();
