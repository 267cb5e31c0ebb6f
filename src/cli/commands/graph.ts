import type { Command } from 'commander';
import { renderGraph, type GraphFormat } from '../../core/graph.js';
import { fail, policyContext } from '../context.js';
import { printJson } from '../format.js';

export function registerGraph(program: Command): void {
  program
    .command('graph')
    .description('Draw networks, containers and the flows granted between them, as Mermaid or Graphviz DOT')
    .option('-c, --config <file>', 'config file')
    .option('-f, --format <format>', 'mermaid or dot', 'mermaid')
    .option('--json', 'print {"format": ..., "graph": "<text>"}')
    .addHelpText(
      'after',
      `
Networks are clusters, containers nodes; granted flows (labels and policy files)
are edges labelled PROTO/PORT; published ports are dashed edges from world.
Default reach (same network, world egress) is not drawn.
Examples:
  moat graph > moat.mmd
  moat graph --format dot | dot -Tsvg > moat.svg`,
    )
    .action(async (opts: { config?: string; format: string; json?: boolean }) => {
      if (opts.format !== 'mermaid' && opts.format !== 'dot') fail(`--format ${opts.format}: expected mermaid or dot`);
      const { config, desired } = await policyContext(opts.config);
      const text = renderGraph(desired.policy, config, opts.format as GraphFormat);
      if (opts.json) printJson({ format: opts.format, graph: text });
      else process.stdout.write(text);
    });
}
