import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { captureLogger } from '../../test/fakes/capture-logger.js';
import { FakeDocker } from '../../test/fakes/fake-docker.js';
import { FakeXtables } from '../../test/fakes/fake-xtables.js';
import { ConfigSchema } from '../core/config.js';
import { Daemon } from './daemon.js';

async function daemon(sysctl: Record<string, string | null>) {
  const cap = captureLogger();
  const kernel = new FakeXtables();
  const docker = new FakeDocker();
  let ready = 0;
  // A policy directory that does not exist: no policy files, nothing to clean up.
  const config = ConfigSchema.parse({ policyDir: join(tmpdir(), `moat-no-policy-${process.pid}`, 'none') });
  const d = new Daemon({
    config,
    docker,
    run: kernel.runner(),
    log: cap.log,
    now: () => 0,
    onReady: () => void ready++,
    readSysctl: async (n) => sysctl[n] ?? null,
  });
  return { d, cap, kernel, docker, ready: () => ready };
}

describe('Daemon', () => {
  it('commits on start, reports ready once, and stops leaving the rules', async () => {
    const { d, cap, kernel, docker, ready } = await daemon({ 'net.bridge.bridge-nf-call-iptables': '1\n', 'net.bridge.bridge-nf-call-ip6tables': '1\n' });
    await d.start();
    for (let i = 0; i < 50 && ready() === 0; i++) await new Promise((r) => setTimeout(r, 5));
    expect(ready()).toBe(1);
    expect(kernel.chain(4, 'filter', 'FORWARD')).toEqual(['-j MOAT-FORWARD']);
    docker.send({ type: 'container', action: 'start', id: 'x' });
    await new Promise((r) => setTimeout(r, 20));
    expect(ready()).toBe(1);
    expect(cap.events('br_netfilter_off')).toEqual([]);
    await d.stop();
    expect(kernel.chain(4, 'filter', 'MOAT-FORWARD')).toBeDefined();
  });

  it('says loudly when bridged traffic bypasses iptables', async () => {
    const { d, cap } = await daemon({ 'net.bridge.bridge-nf-call-iptables': '0\n', 'net.bridge.bridge-nf-call-ip6tables': null });
    await d.start();
    await d.stop();
    expect(cap.events('br_netfilter_off').map((l) => [l.sysctl, l.value])).toEqual([
      ['net.bridge.bridge-nf-call-iptables', '0'],
      ['net.bridge.bridge-nf-call-ip6tables', null],
    ]);
  });
});
