import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/fakes/capture-logger.js';
import { FakeDocker } from '../../test/fakes/fake-docker.js';
import { Watcher } from './watcher.js';

const tick = () => new Promise((r) => setTimeout(r, 0));

describe('Watcher', () => {
  it('triggers on relevant events only', async () => {
    const docker = new FakeDocker();
    const triggers: string[] = [];
    const w = new Watcher({ docker, log: captureLogger().log, trigger: (t) => triggers.push(t), sleep: async () => {} });
    await w.start();
    docker.send({ type: 'container', action: 'start', id: 'x' });
    docker.send({ type: 'container', action: 'exec_start', id: 'x' });
    docker.send({ type: 'container', action: 'health_status', id: 'x' });
    docker.send({ type: 'network', action: 'connect', id: 'n' });
    docker.send({ type: 'unknown', action: 'unparsable', id: '' });
    expect(triggers).toEqual(['start', 'container.start', 'network.connect', 'unknown.unparsable']);
    w.stop();
  });

  it('reconnects with growing backoff after a drop, logs once each way, and resyncs', async () => {
    const docker = new FakeDocker();
    const cap = captureLogger();
    const triggers: string[] = [];
    const sleeps: number[] = [];
    const w = new Watcher({
      docker,
      log: cap.log,
      trigger: (t) => triggers.push(t),
      sleep: async (ms) => {
        sleeps.push(ms);
        if (sleeps.length === 4) docker.up();
      },
      minBackoffMs: 100,
      maxBackoffMs: 400,
    });
    await w.start();
    docker.crash();
    for (let i = 0; i < 20 && !w.connected; i++) await tick();
    expect(w.connected).toBe(true);
    expect(sleeps).toEqual([100, 200, 400, 400]);
    expect(triggers).toEqual(['start', 'reconnect']);
    expect(cap.events('docker_disconnected')).toHaveLength(1);
    expect(cap.events('docker_unreachable')).toHaveLength(1);
    expect(cap.events('docker_connected')).toHaveLength(2);
    expect(docker.streamsOpened).toBe(2);
    w.stop();
  });

  it('stops retrying when stopped', async () => {
    const docker = new FakeDocker();
    docker.down = true;
    let sleeps = 0;
    const w = new Watcher({
      docker,
      log: captureLogger().log,
      trigger: () => {},
      sleep: () => {
        sleeps++; // counts retry attempts, not timer completions
        return new Promise<void>((r) => setTimeout(r, 5));
      },
    });
    const started = w.start();
    await new Promise((r) => setTimeout(r, 20));
    w.stop();
    await started;
    const after = sleeps;
    await new Promise((r) => setTimeout(r, 20));
    expect(sleeps).toBe(after);
  });
});
