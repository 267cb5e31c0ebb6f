import type { Logger } from 'pino';
import type { CommandRunner } from '../adapters/iptables.js';
import { nfTablesBackend, type RulesetMonitor } from '../adapters/nft-monitor.js';
import type { Family } from '../core/model.js';
import { DriftWatcher } from './drift-watcher.js';

export interface DriftWatchSetup {
  readonly run: CommandRunner;
  readonly families: readonly Family[];
  /** Polling period without a ruleset monitor (default 2000 ms; 0: no drift watching). */
  readonly driftCheckMs?: number;
  /** Says when the ruleset changes (`nft monitor`); used on the nf_tables backend only. */
  readonly monitor?: RulesetMonitor;
  readonly check: () => Promise<boolean>;
  readonly busy: () => boolean;
  readonly trigger: (reason: string) => void;
  readonly log: Logger;
}

/**
 * The daemon's drift watcher: on the ruleset monitor where nft can see moat's
 * chains, else polling. `start` starts it and says how drift is watched.
 */
export async function createDriftWatch(setup: DriftWatchSetup): Promise<{ readonly watcher: DriftWatcher; readonly start: () => void }> {
  const { check, busy, trigger, log } = setup;
  const intervalMs = setup.driftCheckMs ?? 2_000;
  // The legacy backend changes nothing nft could see: poll there.
  const monitor = intervalMs > 0 && setup.monitor && (await nfTablesBackend(setup.run, setup.families)) ? setup.monitor : undefined;
  const watcher = new DriftWatcher({ check, busy, trigger, log, intervalMs, monitor });
  const start = () => {
    watcher.start();
    if (intervalMs > 0)
      log.info(
        { event: 'drift_watch', mode: watcher.mode, intervalMs },
        watcher.mode === 'monitor'
          ? 'drift is checked when the ruleset changes (nft monitor)'
          : `the kernel is polled for drift every ${intervalMs / 1000}–${(2.5 * intervalMs) / 1000} s`,
      );
  };
  return { watcher, start };
}
