import { describe, expect, it } from 'vitest';
import { FakeXtables } from '../../test/fakes/fake-xtables.js';
import { type CommandResult, type CommandRunner, Iptables, RestoreError, SaveError } from './iptables.js';

interface Call {
  readonly file: string;
  readonly args: readonly string[];
  readonly input: string | undefined;
}

/** The fake kernel behind a runner that notes every call. */
function recorded(fake = new FakeXtables()): { fake: FakeXtables; calls: Call[]; run: CommandRunner } {
  const calls: Call[] = [];
  const inner = fake.runner();
  return {
    fake,
    calls,
    run: (file, args, input, onSpawn) => {
      calls.push({ file, args: [...args], input });
      return inner(file, args, input, onSpawn);
    },
  };
}

const answering =
  (res: Partial<CommandResult>): CommandRunner =>
  () =>
    Promise.resolve({ stdout: '', stderr: '', exitCode: 0, ...res });

async function restoreError(ipt: Iptables, text: string): Promise<RestoreError> {
  const err: unknown = await ipt.restore(text).then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(RestoreError);
  return err as RestoreError;
}

const GOOD = ['*filter', ':MOAT-A - [0:0]', '-A MOAT-A -m comment --comment "moat:a" -j ACCEPT', '-I FORWARD 1 -j MOAT-A', 'COMMIT', ''].join('\n');

// Line 6 jumps to a chain the text never declares: the fake refuses it there.
const BAD = [
  '*filter',
  ':MOAT-A - [0:0]',
  ':MOAT-B - [0:0]',
  '-A MOAT-A -m comment --comment "moat:a" -j ACCEPT',
  '-A MOAT-B -m comment --comment "moat:b" -j ACCEPT',
  '-A MOAT-B -m comment --comment "moat:c" -j MOAT-NOPE',
  '-A MOAT-B -m comment --comment "moat:d" -j DROP',
  '-I FORWARD 1 -j MOAT-A',
  'COMMIT',
  '',
].join('\n');

describe('Iptables.restore', () => {
  it("hands the whole text to one iptables-restore --noflush, waiting for the xtables lock, and the family's tool", async () => {
    const { fake, calls, run } = recorded();
    await new Iptables(run, 4).restore(GOOD);
    await new Iptables(run, 6, 2).restore(GOOD);
    expect(calls).toEqual([
      { file: 'iptables-restore', args: ['--noflush', '--wait', '5'], input: GOOD },
      { file: 'ip6tables-restore', args: ['--noflush', '--wait', '2'], input: GOOD },
    ]);
    for (const f of [4, 6] as const) {
      expect(fake.chain(f, 'filter', 'MOAT-A')).toEqual(['-m comment --comment "moat:a" -j ACCEPT']);
      expect(fake.chain(f, 'filter', 'FORWARD')).toEqual(['-j MOAT-A']);
    }
  });

  it('names the failing line and keeps the text and stderr, for the log', async () => {
    const { fake, run } = recorded();
    const err = await restoreError(new Iptables(run, 4), BAD);
    expect(err.message).toBe('iptables-restore failed (exit 1): iptables-restore: line 6 failed: no chain MOAT-NOPE');
    expect(err).toMatchObject({ name: 'RestoreError', family: 4, line: 6, text: BAD, stderr: 'iptables-restore: line 6 failed: no chain MOAT-NOPE' });
    // Nothing of the failing table was applied.
    expect(fake.chain(4, 'filter', 'MOAT-A')).toBeUndefined();
    expect(fake.chain(4, 'filter', 'FORWARD')).toEqual([]);
  });

  it('shows the input around the failing line, numbered, the line marked', async () => {
    const { run } = recorded();
    const err = await restoreError(new Iptables(run, 6), BAD);
    expect(err.family).toBe(6);
    expect(err.context()).toBe(
      [
        '     3: :MOAT-B - [0:0]',
        '     4: -A MOAT-A -m comment --comment "moat:a" -j ACCEPT',
        '     5: -A MOAT-B -m comment --comment "moat:b" -j ACCEPT',
        '>    6: -A MOAT-B -m comment --comment "moat:c" -j MOAT-NOPE',
        '     7: -A MOAT-B -m comment --comment "moat:d" -j DROP',
        '     8: -I FORWARD 1 -j MOAT-A',
        '     9: COMMIT',
      ].join('\n'),
    );
    expect(err.context(1)).toBe(
      [
        '     5: -A MOAT-B -m comment --comment "moat:b" -j ACCEPT',
        '>    6: -A MOAT-B -m comment --comment "moat:c" -j MOAT-NOPE',
        '     7: -A MOAT-B -m comment --comment "moat:d" -j DROP',
      ].join('\n'),
    );
  });

  it('keeps the context inside the text at its first and last lines', async () => {
    const first = await restoreError(new Iptables(answering({ exitCode: 1, stderr: 'iptables-restore: line 1 failed' }), 4), BAD);
    expect(first.context(2)).toBe(['>    1: *filter', '     2: :MOAT-A - [0:0]', '     3: :MOAT-B - [0:0]'].join('\n'));
    const last = await restoreError(new Iptables(answering({ exitCode: 1, stderr: 'iptables-restore: line 9 failed' }), 4), BAD);
    expect(last.context(2)).toBe(
      ['     7: -A MOAT-B -m comment --comment "moat:d" -j DROP', '     8: -I FORWARD 1 -j MOAT-A', '>    9: COMMIT', '    10: '].join('\n'),
    );
  });

  it('says when the line named is a COMMIT (nf_tables checks a table when it commits it)', async () => {
    const err = await restoreError(new Iptables(answering({ exitCode: 1, stderr: 'iptables-restore: line 9 failed\n' }), 4), BAD);
    expect(err.line).toBe(9);
    expect(err.message).toBe(
      "iptables-restore failed (exit 1): iptables-restore: line 9 failed (the kernel refused the table this COMMIT ends: the bad rule is one of that table's)",
    );
  });

  it('shows the start of the input, nothing marked, when the tool names no line', async () => {
    const stderr = 'Another app is currently holding the xtables lock. Stopped waiting after 5s.';
    const err = await restoreError(new Iptables(answering({ exitCode: 4, stderr: `${stderr}\n` }), 4), BAD);
    expect(err).toMatchObject({ line: null, stderr, message: `iptables-restore failed (exit 4): ${stderr}` });
    expect(err.context(1)).toBe(['     1: *filter', '     2: :MOAT-A - [0:0]'].join('\n'));
  });

  // What the tools print, taken from iptables 1.8.9 (Debian 12) in a scratch namespace.
  it.each([
    [
      'nf_tables, undefined chain',
      2,
      "iptables-restore v1.8.9 (nf_tables): Chain 'MOAT-NOPE' does not exist\nError occurred at line: 5\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.",
      5,
    ],
    [
      'nf_tables, unknown match',
      2,
      "iptables-restore v1.8.9 (nf_tables): Couldn't load match `nosuchmatch':No such file or directory\n\nError occurred at line: 3\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.",
      3,
    ],
    [
      'legacy, unknown target',
      2,
      "iptables-restore v1.8.9 (legacy): Couldn't load target `MOAT-NOPE':No such file or directory\n\nError occurred at line: 4\nTry `iptables-restore -h' or 'iptables-restore --help' for more information.",
      4,
    ],
    ['a rule to delete that is not there', 1, 'iptables-restore: line 2 failed: Bad rule (does a matching rule exist in that chain?).', 2],
    ['a table without COMMIT', 1, 'iptables-restore: COMMIT expected at line 4', 4],
  ])('reads the failing line from the tool: %s', async (_what, exitCode, stderr, line) => {
    const err = await restoreError(new Iptables(answering({ exitCode, stderr: `${stderr}\n` }), 4), BAD);
    expect(err.line).toBe(line);
    expect(err.stderr).toBe(stderr);
    expect(err.message).toBe(`iptables-restore failed (exit ${exitCode}): ${stderr.split('\n')[0]}`);
    expect(err.context(0)).toBe(`>${String(line).padStart(5)}: ${BAD.split('\n')[line - 1]}`);
  });
});

describe('Iptables.save and live', () => {
  it("reads one table with the family's iptables-save -t", async () => {
    const { fake, calls, run } = recorded();
    await new Iptables(run, 6).restore(GOOD);
    const text = await new Iptables(run, 6).save('filter');
    expect(calls.at(-1)).toEqual({ file: 'ip6tables-save', args: ['-t', 'filter'], input: undefined });
    expect(text).toBe(fake.save(6, 'filter'));
    expect(text).toContain('-A MOAT-A -m comment --comment "moat:a" -j ACCEPT\n');
  });

  it('reads every table in one iptables-save call, parsed', async () => {
    const { calls, run } = recorded();
    const ipt = new Iptables(run, 4);
    await ipt.restore(GOOD);
    calls.length = 0;
    const live = await ipt.live();
    expect(calls).toEqual([{ file: 'iptables-save', args: [], input: undefined }]);
    expect(Object.keys(live).sort()).toEqual(['filter', 'nat']);
    expect(live.filter?.chains.get('MOAT-A')).toEqual(['-m comment --comment "moat:a" -j ACCEPT']);
    expect(live.filter?.chains.get('FORWARD')).toEqual(['-j MOAT-A']);
    expect(live.nat?.chains.get('POSTROUTING')).toEqual([]);
  });

  it('fails with the tool, the table, the exit code and its stderr', async () => {
    const ipt = new Iptables(answering({ exitCode: 1, stderr: 'iptables-save: cannot initialize table\n' }), 4);
    await expect(ipt.save('nat')).rejects.toThrow(new SaveError('iptables-save -t nat failed (exit 1): iptables-save: cannot initialize table'));
    await expect(ipt.save('nat')).rejects.toBeInstanceOf(SaveError);
    await expect(new Iptables(answering({ exitCode: 3, stderr: 'no kernel\n' }), 6).live()).rejects.toThrow(
      new SaveError('ip6tables-save failed (exit 3): no kernel'),
    );
  });
});

describe('Iptables.available', () => {
  it('is true when the family answers iptables-save -t filter', async () => {
    const { calls, run } = recorded();
    expect(await new Iptables(run, 6).available()).toBe(true);
    expect(calls).toEqual([{ file: 'ip6tables-save', args: ['-t', 'filter'], input: undefined }]);
  });

  it('is false when the tool fails or cannot be run, and never throws', async () => {
    for (const exitCode of [1, 3])
      expect(await new Iptables(answering({ exitCode, stderr: "can't initialize ip6tables table `filter'" }), 6).available()).toBe(false);
    expect(await new Iptables(() => Promise.reject(new Error('spawn ip6tables-save ENOENT')), 6).available()).toBe(false);
  });
});
