import { describe, expect, it } from 'vitest';
import type { CommandResult } from './iptables.js';
import { systemdReadiness, type NotifyLogger } from './systemd-notify.js';

function fakes(result: CommandResult | Error) {
  const calls: { file: string; args: readonly string[] }[] = [];
  const logged: { level: string; event: unknown }[] = [];
  const run = async (file: string, args: readonly string[]) => {
    calls.push({ file, args });
    if (result instanceof Error) throw result;
    return result;
  };
  const record = (level: string) => (obj: unknown) => void logged.push({ level, event: (obj as { event?: unknown }).event });
  const log = { info: record('info'), warn: record('warn') } as unknown as NotifyLogger;
  return { calls, logged, run, log };
}

const settle = () => new Promise((resolve) => setImmediate(resolve));

describe('systemdReadiness', () => {
  it('returns no hook, and runs nothing, when NOTIFY_SOCKET is not set', () => {
    const f = fakes({ stdout: '', stderr: '', exitCode: 0 });
    expect(systemdReadiness({}, f.run, f.log)).toBeUndefined();
    expect(systemdReadiness({ NOTIFY_SOCKET: '' }, f.run, f.log)).toBeUndefined();
    expect(f.calls).toEqual([]);
  });

  it('runs systemd-notify --ready once per call of the hook, and only then', async () => {
    const f = fakes({ stdout: '', stderr: '', exitCode: 0 });
    const hook = systemdReadiness({ NOTIFY_SOCKET: '/run/systemd/notify' }, f.run, f.log);
    expect(f.calls).toEqual([]);
    hook?.();
    await settle();
    expect(f.calls).toEqual([{ file: 'systemd-notify', args: ['--ready', '--status=enforcing: first ruleset committed'] }]);
    expect(f.logged).toEqual([{ level: 'info', event: 'systemd_notified' }]);
  });

  it('logs a failure (exit code or missing binary) instead of throwing', async () => {
    const bad = fakes({ stdout: '', stderr: 'No such socket', exitCode: 1 });
    systemdReadiness({ NOTIFY_SOCKET: '@x' }, bad.run, bad.log)?.();
    const missing = fakes(new Error('spawn systemd-notify ENOENT'));
    systemdReadiness({ NOTIFY_SOCKET: '@x' }, missing.run, missing.log)?.();
    await settle();
    expect(bad.logged).toEqual([{ level: 'warn', event: 'systemd_notify_failed' }]);
    expect(missing.logged).toEqual([{ level: 'warn', event: 'systemd_notify_failed' }]);
  });
});
