// An in-memory iptables-save/-restore with --noflush semantics, atomic per
// table, that can fail on request: the applier is tested without a kernel.
import type { CommandResult, CommandRunner } from '../../src/adapters/iptables.js';

type Tables = Map<string, Map<string, string[]>>;

const BUILTINS: Record<string, string[]> = {
  filter: ['INPUT', 'FORWARD', 'OUTPUT'],
  nat: ['PREROUTING', 'INPUT', 'OUTPUT', 'POSTROUTING'],
};

export class FakeXtables {
  readonly families: Record<4 | 6, Tables> = { 4: this.empty(), 6: this.empty() };
  /** When set, the next restores fail with this stderr (count decrements). */
  failNext = 0;
  failWith = 'iptables-restore: line 2 failed';
  restores: { family: 4 | 6; text: string }[] = [];
  saves = 0;

  private empty(): Tables {
    const t: Tables = new Map();
    for (const [table, chains] of Object.entries(BUILTINS)) t.set(table, new Map(chains.map((c) => [c, []])));
    return t;
  }

  chain(family: 4 | 6, table: string, chain: string): string[] | undefined {
    return this.families[family].get(table)?.get(chain);
  }

  runner(): CommandRunner {
    return async (file, args, input) => {
      const family = file.startsWith('ip6') ? 6 : 4;
      if (file.endsWith('-save')) {
        this.saves++;
        const at = args.indexOf('-t');
        if (at < 0) return ok([...this.families[family].keys()].map((t) => this.save(family, t)).join(''));
        return ok(this.save(family, args[at + 1] ?? 'filter'));
      }
      if (this.failNext > 0) {
        this.failNext--;
        return { stdout: '', stderr: this.failWith, exitCode: 1 };
      }
      this.restores.push({ family, text: input ?? '' });
      return this.restore(family, input ?? '');
    };
  }

  save(family: 4 | 6, table: string): string {
    const chains = this.families[family].get(table)!;
    const lines = [`*${table}`];
    for (const name of chains.keys()) lines.push(`:${name} ${BUILTINS[table]!.includes(name) ? 'ACCEPT' : '-'} [0:0]`);
    for (const [name, rules] of chains) for (const r of rules) lines.push(`-A ${name} ${r}`);
    lines.push('COMMIT');
    return `${lines.join('\n')}\n`;
  }

  private restore(family: 4 | 6, text: string): CommandResult {
    const live = this.families[family];
    let work: Map<string, string[]> | null = null;
    let table = '';
    const lines = text.split('\n');
    for (const [i, line] of lines.entries()) {
      const fail = (why: string): CommandResult => ({ stdout: '', stderr: `iptables-restore: line ${i + 1} failed: ${why}`, exitCode: 1 });
      if (line === '' || line.startsWith('#')) continue;
      if (line.startsWith('*')) {
        table = line.slice(1);
        work = new Map([...live.get(table)!].map(([k, v]) => [k, [...v]]));
      } else if (!work) return fail('no table');
      else if (line === 'COMMIT') {
        live.set(table, work);
        work = null;
      } else if (line.startsWith(':')) work.set(line.slice(1).split(' ')[0]!, []);
      else {
        const [op, chain, ...rest] = line.split(' ');
        const rules = work.get(chain!);
        if (!rules) return fail(`no chain ${chain}`);
        if (op === '-A') rules.push(rest.join(' '));
        else if (op === '-I') rules.splice(Number(rest[0]) - 1, 0, rest.slice(1).join(' '));
        else if (op === '-D') {
          const at = rules.indexOf(rest.join(' '));
          if (at < 0) return fail('no such rule');
          rules.splice(at, 1);
        } else if (op === '-X') {
          if (rules.length > 0) return fail('chain not empty');
          work.delete(chain!);
        } else return fail(`unknown ${op}`);
        const target = /-j (MOAT-\S+)/.exec(rest.join(' '))?.[1];
        if ((op === '-A' || op === '-I') && target && !work.has(target)) return fail(`no chain ${target}`);
      }
    }
    return ok('');
  }
}

const ok = (stdout: string): CommandResult => ({ stdout, stderr: '', exitCode: 0 });
