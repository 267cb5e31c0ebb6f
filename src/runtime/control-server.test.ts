import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { controlGet } from '../adapters/control-client.js';
import { ConfigSchema } from '../core/config.js';
import { ControlServerError, parseListen, startControlServer } from './control-server.js';
import { Metrics } from './metrics.js';
import { computeDesired } from '../core/desired.js';
import type { ReconcileOutcome } from './reconciler.js';
import { DaemonStatus } from './status.js';
import pino from 'pino';

const log = pino({ level: 'silent' });
const outcome = (o: Partial<ReconcileOutcome> = {}): ReconcileOutcome => ({
  ok: true,
  committed: true,
  triggers: ['start'],
  durationMs: 12.5,
  rules: { v4: { filter: 40, nat: 3 } },
  ...o,
});

describe('DaemonStatus and Metrics', () => {
  it('records reconciles, events, problems and the Docker connection', async () => {
    let mono = 1000;
    let wall = Date.parse('2026-01-01T00:00:00Z');
    const metrics = new Metrics({ dockerConnected: () => status.isConnected(), processMetrics: false });
    const status: DaemonStatus = new DaemonStatus({ now: () => mono, wallClock: () => wall, pid: 42, metrics });
    const lists = dockerLists({ a: { subnets: ['172.30.0.0/24'] } }, { web: { nets: { a: '172.30.0.2' }, labels: { 'moat.egress': 'bogus!!, world:80' } } });
    const desired = computeDesired(lists, ConfigSchema.parse({}), [4]);
    status.started([4]);
    status.dockerConnection(true);
    status.event('container.start');
    mono += 5;
    status.reconcileStarted();
    status.event('container.die'); // arrives during the run: the next run covers it
    mono += 250;
    wall += 60_000;
    status.reconciled(outcome({ triggers: ['container.start'], driftRepaired: true }), desired);
    status.reconcileStarted();
    status.reconciled(outcome({ ok: false, committed: false, stage: 'apply', error: 'boom', rules: {} }), desired);

    const doc = status.document();
    expect(doc).toMatchObject({
      version: 1,
      daemon: { pid: 42, families: [4], uptimeS: 60 },
      docker: { connected: true },
      lastReconcile: { ok: false, committed: false, skipped: false, error: 'boom' },
      counts: { reconciles: 2, commits: 1, skipped: 0, failures: 1 },
      rules: { v4: { filter: 40, nat: 3 } },
    });
    expect(doc.problems).toEqual([expect.objectContaining({ kind: 'label_invalid', subject: 'container web' })]);
    expect(doc.networks).toEqual([
      expect.objectContaining({
        name: 'a',
        bridge: expect.stringMatching(/^br-/),
        subnets: ['172.30.0.0/24'],
        icc: { value: true, reason: 'default: same network allowed' },
      }),
    ]);
    expect(doc.containers[0]).toMatchObject({
      name: 'web',
      addresses: [{ network: 'a', ipv4: '172.30.0.2', ipv6: null }],
      grants: [
        {
          direction: 'egress',
          peer: 'world',
          ports: '80',
          proto: 'tcp',
          reason: 'label moat.egress on web: world:80',
          rule: expect.stringMatching(/^moat:label:/),
        },
      ],
      problems: [expect.objectContaining({ kind: 'label_invalid' })],
    });

    const text = await metrics.text();
    expect(text).toContain('moat_reconciles_total{result="ok"} 1');
    expect(text).toContain('moat_reconciles_total{result="failed"} 1');
    expect(text).toContain('moat_commits_total 1');
    expect(text).toContain('moat_apply_failures_total 1');
    expect(text).toContain('moat_drift_repairs_total 1');
    expect(text).toContain('moat_invalid_labels 1');
    expect(text).toContain('moat_rules{table="filter",family="v4"} 40');
    expect(text).toContain('moat_docker_connected 1');
    expect(text).toContain('moat_event_to_commit_seconds_count 1');
    expect(text).toContain('moat_event_to_commit_seconds_sum 0.255');
    expect(text).toMatch(/moat_reconcile_duration_seconds_bucket\{le="0.025"\} 2/);
    status.dockerConnection(false);
    expect(await metrics.text()).toContain('moat_docker_connected 0');
  });
});

describe('control server', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moat-ctl-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('serves /status and /metrics on a 0600 socket in a 0700 directory, and removes it on close', async () => {
    const socketPath = join(dir, 'run', 'moat.sock');
    const server = await startControlServer({
      socketPath,
      metricsListen: null,
      status: () => ({ version: 1 }),
      metrics: async () => 'moat_x 1\n',
      metricsContentType: 'text/plain',
      log,
    });
    expect((await stat(socketPath)).mode & 0o777).toBe(0o600);
    expect((await stat(join(dir, 'run'))).mode & 0o777).toBe(0o700);
    expect(await controlGet(socketPath, '/status')).toEqual({ status: 200, body: '{\n  "version": 1\n}\n' });
    expect(await controlGet(socketPath, '/metrics')).toEqual({ status: 200, body: 'moat_x 1\n' });
    expect((await controlGet(socketPath, '/nope')).status).toBe(404);
    // A second daemon on the same socket is refused; the first keeps it.
    await expect(
      startControlServer({ socketPath, metricsListen: null, status: () => ({}), metrics: async () => '', metricsContentType: 'text/plain', log }),
    ).rejects.toThrow(/in use/);
    await server.close();
    await expect(stat(socketPath)).rejects.toThrow();
    await expect(controlGet(socketPath, '/status')).rejects.toThrow(/no socket there/);
  });

  it('replaces a stale socket, refuses to replace a file, and serves metrics on TCP', async () => {
    const file = join(dir, 'file.sock');
    await writeFile(file, 'x');
    await expect(
      startControlServer({ socketPath: file, metricsListen: null, status: () => ({}), metrics: async () => '', metricsContentType: 'text/plain', log }),
    ).rejects.toBeInstanceOf(ControlServerError);
    const socketPath = join(dir, 'moat.sock');
    const first = await startControlServer({
      socketPath,
      metricsListen: null,
      status: () => ({}),
      metrics: async () => '',
      metricsContentType: 'text/plain',
      log,
    });
    await first.close();
    const server = await startControlServer({
      socketPath,
      metricsListen: '127.0.0.1:0',
      status: () => ({ secret: true }),
      metrics: async () => 'moat_y 2\n',
      metricsContentType: 'text/plain',
      log,
    });
    const res = await fetch(`http://${server.metricsAddress}/metrics`);
    expect(await res.text()).toBe('moat_y 2\n');
    expect((await fetch(`http://${server.metricsAddress}/status`)).status).toBe(404);
    await server.close();
  });

  it('parses HOST:PORT', () => {
    expect(parseListen('127.0.0.1:9808')).toEqual({ host: '127.0.0.1', port: 9808 });
    expect(parseListen('[::1]:9808')).toEqual({ host: '::1', port: 9808 });
    expect(() => parseListen('nope')).toThrow(ControlServerError);
  });
});
