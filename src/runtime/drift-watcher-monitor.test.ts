// DriftWatcher where nft can tell it when the ruleset changes (the polling
// case is drift-watcher.test.ts).
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/fakes/capture-logger.js';
import { type MonitorEnd, type MonitorHandlers, parseMonitorLine, type RulesetMonitor } from '../adapters/nft-monitor.js';
import { DriftWatcher } from './drift-watcher.js';

/** A monitor driven by the test: lines in, death on request. */
function fakeMonitor() {
  const m = {
    opened: 0,
    closed: 0,
    handlers: null as MonitorHandlers | null,
    /** When set, the next open ends at once with this. */
    failOpen: null as MonitorEnd | null,
    monitor: ((h: MonitorHandlers) => {
      m.opened++;
      if (m.failOpen) {
        h.onEnd(m.failOpen);
        return () => {};
      }
      m.handlers = h;
      return () => {
        m.closed++;
        m.handlers = null;
      };
    }) as RulesetMonitor,
    line(text: string) {
      const l = parseMonitorLine(text);
      if (l) m.handlers?.onLine(l);
    },
    die(reason = 'exited with 1') {
      const h = m.handlers;
      m.handlers = null;
      h?.onEnd({ missing: false, reason });
    },
  };
  return m;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const GEN = (pid: number, comm: string) => `# new generation 7 by process ${pid} (${comm})`;

function onMonitor(opts: { busy?: () => boolean; check?: () => Promise<boolean>; failOpen?: MonitorEnd } = {}) {
  const cap = captureLogger();
  const triggers: string[] = [];
  const mon = fakeMonitor();
  mon.failOpen = opts.failOpen ?? null;
  let checks = 0;
  let drifted = false;
  const w = new DriftWatcher({
    check: opts.check ?? (async () => (checks++, drifted)),
    busy: opts.busy ?? (() => false),
    trigger: (t) => triggers.push(t),
    log: cap.log,
    intervalMs: 20,
    monitor: mon.monitor,
    debounceMs: 10,
    restartMs: 30,
  });
  w.start();
  return { w, cap, mon, triggers, checks: () => checks, drift: (d: boolean) => void (drifted = d) };
}

describe('DriftWatcher on a ruleset monitor', () => {
  it('checks shortly after a foreign change, once per burst, and never at idle', async () => {
    const t = onMonitor();
    await sleep(40); // the one look after the monitor opened
    expect(t.checks()).toBe(1);
    await sleep(100);
    expect(t.checks()).toBe(1);
    t.drift(true);
    t.mon.line('delete rule ip filter FORWARD handle 4');
    t.mon.line(GEN(4242, 'iptables'));
    t.mon.line('flush ruleset');
    t.mon.line(GEN(4243, 'nft'));
    await sleep(40);
    expect(t.checks()).toBe(2);
    expect(t.triggers).toEqual(['drift']);
    expect(t.w.mode).toBe('monitor');
    t.w.stop();
    expect(t.mon.closed).toBe(1);
  });

  it("needs no check for moat's own restores, known by pid and name", async () => {
    const t = onMonitor();
    await sleep(40);
    t.w.ownCommit(5000, '/usr/sbin/iptables-restore');
    t.mon.line('add rule ip filter MOAT-FORWARD counter accept');
    t.mon.line(GEN(5000, 'iptables-restor'));
    await sleep(40);
    expect(t.checks()).toBe(1);
    // The same pid under another name is someone else.
    t.mon.line(GEN(5000, 'nft'));
    await sleep(40);
    expect(t.checks()).toBe(2);
    t.w.stop();
  });

  it('checks changes whose transaction never says who committed it', async () => {
    const t = onMonitor();
    await sleep(40);
    t.mon.line('# ERROR: We lost some netlink events!');
    await sleep(40);
    expect(t.checks()).toBe(2);
    t.w.stop();
  });

  it('defers a change seen while a reconcile is busy until it is done, and never drops it', async () => {
    let busy = true;
    const t = onMonitor({ busy: () => busy });
    t.mon.line(GEN(1, 'iptables'));
    await sleep(60);
    expect(t.checks()).toBe(0);
    busy = false;
    await sleep(40);
    expect(t.checks()).toBe(1);
    t.w.stop();
  });

  it('never runs two checks at once: a change during a check is looked at after it', async () => {
    let release = () => {};
    let checks = 0;
    const t = onMonitor({ check: () => (checks++, new Promise<boolean>((r) => (release = () => r(false)))) });
    await sleep(40);
    expect(checks).toBe(1);
    t.mon.line(GEN(1, 'iptables'));
    await sleep(40);
    expect(checks).toBe(1);
    release();
    await sleep(40);
    expect(checks).toBe(2);
    release();
    t.w.stop();
  });

  it('does not trigger on drift seen while a reconcile started meanwhile; looks again after it', async () => {
    let busy = false;
    let checks = 0;
    const t = onMonitor({
      busy: () => busy,
      check: async () => {
        checks++;
        busy = checks === 1;
        return true;
      },
    });
    await sleep(40);
    expect(t.triggers).toEqual([]);
    busy = false;
    await sleep(40);
    expect(checks).toBe(2);
    expect(t.triggers).toEqual(['drift']);
    t.w.stop();
  });

  it('polls while the monitor is down, restarts it with backoff, and says so once', async () => {
    const t = onMonitor();
    await sleep(40);
    t.mon.failOpen = { missing: false, reason: 'exited with 1' };
    t.mon.die();
    expect(t.w.mode).toBe('poll');
    await sleep(250);
    expect(t.mon.opened).toBeGreaterThanOrEqual(3); // 30 ms, then 60 ms, then 120 ms
    expect(t.cap.events('drift_monitor_down')).toHaveLength(1);
    const polled = t.checks();
    expect(polled).toBeGreaterThanOrEqual(3);
    t.mon.failOpen = null;
    await sleep(300);
    expect(t.w.mode).toBe('monitor');
    const after = t.checks();
    await sleep(100);
    expect(t.checks()).toBe(after); // polling stopped
    t.w.stop();
  });

  it('falls back to polling for good when nft is not installed', async () => {
    const m = onMonitor({ failOpen: { missing: true, reason: 'spawn nft ENOENT' } });
    await sleep(150);
    expect(m.w.mode).toBe('poll');
    expect(m.mon.opened).toBe(1);
    expect(m.cap.events('drift_monitor_unavailable')).toHaveLength(1);
    expect(m.checks()).toBeGreaterThanOrEqual(3);
    m.w.stop();
  });
});
