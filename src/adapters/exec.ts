// The production command runner: execa, bounded in time, never a shell.
import { execa } from 'execa';
import type { CommandRunner } from './iptables.js';

export function execaRunner(timeoutMs = 30_000): CommandRunner {
  return async (file, args, input, onSpawn) => {
    const child = execa(file, [...args], { input: input ?? '', reject: false, timeout: timeoutMs, stripFinalNewline: false });
    if (child.pid !== undefined) onSpawn?.(child.pid);
    const res = await child;
    if (res.failed && res.exitCode === undefined) {
      return { stdout: String(res.stdout ?? ''), stderr: `${String(res.stderr ?? '')}${res.shortMessage}`, exitCode: 127 };
    }
    return { stdout: String(res.stdout ?? ''), stderr: String(res.stderr ?? ''), exitCode: res.exitCode ?? 1 };
  };
}
