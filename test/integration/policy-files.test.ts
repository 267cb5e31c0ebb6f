// Policy files grant flows without recreating containers: loaded at start,
// on file change and on SIGHUP; a broken file keeps its last good version;
// revoking a grant cuts the live connection it allowed (conntrack).
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBed, type Bed } from './testbed/bed.js';
import { check } from './testbed/check.js';
import { execInContainer } from './testbed/container-exec.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource, probe } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

describe('policy files and revocation', () => {
  let bed: Bed;
  let moatd: Moatd;
  let a1: ServerContainer, b1: ServerContainer;
  let policyDir: string;
  let configPath: string;
  const committedAfter = (since: number) => moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true, { since, timeoutMs: 10_000 });

  beforeAll(async () => {
    bed = await createBed();
    await bed.createNetwork({ name: 'pol-a', subnets: ['172.30.11.0/24'] });
    await bed.createNetwork({ name: 'pol-b', subnets: ['172.30.12.0/24'] });
    [a1, b1] = await Promise.all([bed.startServer({ name: 'pa1', networks: ['pol-a'] }), bed.startServer({ name: 'pb1', networks: ['pol-b'] })]);
    policyDir = `${bed.dir}/policy.d`;
    await bed.writeFile('policy.d/.keep', '');
    configPath = await bed.writeFile('config.yaml', `policyDir: ${policyDir}\nreconcile: { resyncIntervalS: 60 }\n`);
    moatd = bed.startMoatd({ configPath });
    await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 });
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const a = () => containerSource(bed.engine.docker, a1.id, 'pa1');

  it('denies the cross-network flow until a policy file grants it, picked up on file change', async () => {
    await check([{ name: 'pa1 -> pb1:80 before', from: a(), to: b1.ipv4('pol-b'), port: 80, state: 'closed' }]);
    const mark = moatd.mark();
    await bed.writeFile('policy.d/web.yaml', '# grant\n- select: { container: pa1 }\n  egress: ["pb1:80", "pb1:7000"]\n');
    expect(await moatd.waitForEvent('policy_loaded', { since: mark })).toMatchObject({ rules: 1 });
    expect(await committedAfter(mark)).toMatchObject({ trigger: 'policy' });
    await check([
      { name: 'pa1 -> pb1:80 granted', from: a(), to: b1.ipv4('pol-b'), port: 80, state: 'open', seen: a1.ipv4('pol-a') },
      { name: 'pa1 -> pb1:8080 not granted', from: a(), to: b1.ipv4('pol-b'), port: 8080, state: 'closed' },
    ]);
  });

  it('rejects a broken file whole with path and line, keeping its last good version', async () => {
    const mark = moatd.mark();
    await bed.writeFile('policy.d/web.yaml', '- select: { container: pa1 }\n  egress: ["pb1:80", "pb1:99999"]\n');
    const rejected = await moatd.waitForEvent('policy_rejected', { since: mark });
    expect(rejected).toMatchObject({ path: `${policyDir}/web.yaml`, line: 2 });
    expect(String(rejected.err)).toContain('99999');
    await check([{ name: 'pa1 -> pb1:80 still granted', from: a(), to: b1.ipv4('pol-b'), port: 80, state: 'open' }]);
  });

  it('reloads on SIGHUP, and keeps the running config when the new one is bad', async () => {
    let mark = moatd.mark();
    process.kill(moatd.pid, 'SIGHUP');
    await moatd.waitForEvent('config_reloaded', { since: mark });
    mark = moatd.mark();
    await bed.writeFile('config.yaml', `policyDir: ${policyDir}\nreconcile: { resyncIntervalS: 0 }\nbogus: 1\n`);
    process.kill(moatd.pid, 'SIGHUP');
    const rejected = await moatd.waitForEvent('config_rejected', { since: mark });
    expect(String(rejected.err)).toMatch(/reconcile\.resyncIntervalS/);
    expect(String(rejected.err)).toMatch(/bogus: unknown key/);
    expect(moatd.running()).toBe(true);
    await check([{ name: 'pa1 -> pb1:80 still granted', from: a(), to: b1.ipv4('pol-b'), port: 80, state: 'open' }]);
    await bed.writeFile('config.yaml', `policyDir: ${policyDir}\nreconcile: { resyncIntervalS: 60 }\n`);
  });

  it('cuts a live connection when its grant is revoked', async () => {
    const b1ip = b1.ipv4('pol-b');
    await execInContainer(bed.engine.docker, b1.id, ['/bin/busybox', 'sh', '-c', '/bin/busybox nc -ll -p 7000 -e /bin/busybox cat >/dev/null 2>&1 &']);
    // The client pings through one TCP connection until it breaks (or 20 s pass).
    const started = Date.now();
    const client = execInContainer(
      bed.engine.docker,
      a1.id,
      ['/bin/busybox', 'sh', '-c', `(i=0; while [ $i -lt 100 ]; do echo ping; i=$((i+1)); sleep 0.2; done) | /bin/busybox nc ${b1ip} 7000`],
      30_000,
    );
    // Wait until the connection carries data both ways.
    const conntrack = () => bed.topology.host.run('conntrack', ['-L', '-p', 'tcp', '--dport', '7000', '-s', a1.ipv4('pol-a')], { check: false });
    for (let i = 0; i < 50 && !/ESTABLISHED/.test((await conntrack()).stdout); i++) await new Promise((r) => setTimeout(r, 100));
    expect((await conntrack()).stdout).toMatch(/ESTABLISHED/);
    const mark = moatd.mark();
    await rm(`${policyDir}/web.yaml`);
    const revoked = await moatd.waitForEvent('conntrack_revoked', { since: mark });
    expect(revoked).toMatchObject({ family: 4 });
    expect(Number(revoked.deleted)).toBeGreaterThan(0);
    const revokedAt = Date.now();
    const res = await client;
    // Cut at once, not after the client's 20 s of pings.
    expect(Date.now() - revokedAt).toBeLessThan(3_000);
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(res.stdout).toContain('ping');
    await check([{ name: 'pa1 -> pb1:80 revoked', from: a(), to: b1ip, port: 80, state: 'closed' }]);
  });

  it('a new connection of a still-granted flow survives a revocation elsewhere', async () => {
    const first = moatd.mark();
    await bed.writeFile('policy.d/keep.yaml', '- select: { container: pa1 }\n  egress: ["pb1:80"]\n- select: { container: pa1 }\n  egress: ["pb1:8080"]\n');
    await moatd.waitForEvent((l) => l.event === 'policy_loaded' && l.rules === 2, { since: first });
    await moatd.waitForEvent((l) => l.event === 'reconcile' && l.committed === true, { since: first });
    const mark = moatd.mark();
    await bed.writeFile('policy.d/keep.yaml', '- select: { container: pa1 }\n  egress: ["pb1:80"]\n');
    await moatd.waitForEvent('conntrack_revoked', { since: mark });
    await check([
      { name: 'pa1 -> pb1:80 kept', from: a(), to: b1.ipv4('pol-b'), port: 80, state: 'open' },
      { name: 'pa1 -> pb1:8080 revoked', from: a(), to: b1.ipv4('pol-b'), port: 8080, state: 'closed' },
    ]);
    expect((await probe(a(), b1.ipv4('pol-b'), 80)).state).toBe('open');
  });
});
