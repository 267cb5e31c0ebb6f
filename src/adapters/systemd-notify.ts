// Tells systemd (Type=notify) that moatd is ready, once its first ruleset is
// committed. Node cannot send on the NOTIFY_SOCKET datagram socket, so this
// runs systemd-notify(1); the unit sets NotifyAccess=all so systemd accepts
// a message from that child. Without NOTIFY_SOCKET (not under systemd, or
// Type=simple) there is nothing to tell and nothing runs.
import type { Logger } from 'pino';
import type { CommandRunner } from './iptables.js';

export type NotifyLogger = Pick<Logger, 'info' | 'warn'>;

/** The `onReady` hook for the daemon, or undefined when systemd is not listening. */
export function systemdReadiness(env: Readonly<Record<string, string | undefined>>, run: CommandRunner, log: NotifyLogger): (() => void) | undefined {
  if (!env.NOTIFY_SOCKET) return undefined;
  return () => {
    // systemd >= 246 waits until the manager has read the message, so it is
    // not lost when this short-lived sender exits first.
    run('systemd-notify', ['--ready', '--status=enforcing: first ruleset committed']).then(
      (res) => {
        if (res.exitCode === 0) log.info({ event: 'systemd_notified' }, 'told systemd moatd is ready');
        else
          log.warn(
            { event: 'systemd_notify_failed', exitCode: res.exitCode, stderr: res.stderr.trim() },
            'systemd-notify --ready failed: systemd will time the start out',
          );
      },
      (err: unknown) => log.warn({ event: 'systemd_notify_failed', err: String(err) }, 'systemd-notify --ready failed: systemd will time the start out'),
    );
  };
}
