// `moat doctor` on the bed, with each misconfiguration really produced:
// br_netfilter's sysctl off (in the bed's namespace only, restored after),
// a foreign legacy-iptables ruleset, a host-network and a NET_ADMIN
// container, moatd stopped and its jump removed, and a second engine started
// with Docker's own iptables on. Each is reported with its fix. The bed's
// engine runs the start gate, so doctor finds it active.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Check } from '../../src/core/doctor.js';
import { moat, moatJson } from './cli-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import type { Moatd } from './testbed/moatd.js';

type Report = { ok: boolean; checks: Check[] };
const doctor = async (bed: Bed, config: string) => {
  const r = await moatJson<Report>(bed, ['doctor', '--config', config]);
  return { exitCode: r.exitCode, ok: r.json.ok, checks: Object.fromEntries(r.json.checks.map((c) => [c.id, c])) as Record<string, Check> };
};

describe('moat doctor on a healthy bed, then one misconfiguration at a time', () => {
  let bed: Bed;
  let moatd: Moatd;
  let config: string;

  beforeAll(async () => {
    bed = await createBed({ startGate: true });
    await bed.createNetwork({ name: 'd-net', subnets: ['172.26.1.0/24'] });
    await bed.startServer({ name: 'plain', networks: ['d-net'] });
    config = await bed.writeFile('config.yaml', `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/moat.sock }\n`);
    moatd = bed.startMoatd({ configPath: config });
    await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 });
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  it('passes every check on a healthy bed (exit 0)', async () => {
    const r = await doctor(bed, config);
    const notPassed = Object.values(r.checks).filter((c) => c.status !== 'pass');
    expect(notPassed, JSON.stringify(notPassed, null, 1)).toEqual([]);
    expect(r).toMatchObject({ exitCode: 0, ok: true });
    expect(Object.keys(r.checks)).toEqual(['docker-api', 'docker-iptables', 'br-netfilter-v4', 'br-netfilter-v6', 'ip-forward-v4', 'iptables-backend', 'swarm', 'userland-proxy', 'containers', 'moat-chains', 'daemon', 'start-gate']);
    expect(r.checks['start-gate']!.detail).toContain(`handing over to runc, waiting at most 5000 ms on ${bed.dir}/moat.sock`);
    for (const c of Object.values(r.checks)) expect(c).toEqual({ id: c.id, title: expect.any(String), status: 'pass', detail: expect.any(String), fix: null });
    expect(r.checks['docker-iptables']!.detail).toContain(`${bed.engine.dir}/daemon.json`);
    const human = await moat(bed, ['doctor', '--config', config]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/^pass {2}Docker runs with "iptables": false$/m);
    expect(human.stdout).toMatch(/^12 passed, 0 warnings, 0 failed$/m);
  });

  it('fails br_netfilter off in the namespace, with the fix (restored after)', async () => {
    const host = bed.topology.host;
    await host.sysctl('net.bridge.bridge-nf-call-iptables', 0);
    try {
      const r = await doctor(bed, config);
      expect(r).toMatchObject({ exitCode: 2, ok: false });
      expect(r.checks['br-netfilter-v4']).toMatchObject({ status: 'fail', detail: expect.stringContaining('is 0'), fix: expect.stringContaining('sysctl -w net.bridge.bridge-nf-call-iptables=1') });
      const human = await moat(bed, ['doctor', '--config', config]);
      expect(human.exitCode).toBe(2);
      expect(human.stdout).toMatch(/^FAIL {2}net\.bridge\.bridge-nf-call-iptables = 1\n.*is 0.*\n {6}fix: sysctl -w net\.bridge\.bridge-nf-call-iptables=1/m);
    } finally {
      await host.sysctl('net.bridge.bridge-nf-call-iptables', 1);
    }
    expect((await doctor(bed, config)).checks['br-netfilter-v4']!.status).toBe('pass');
  });

  it('warns about a foreign ruleset in the legacy backend, with the fix', async () => {
    const host = bed.topology.host;
    await host.run('iptables-legacy', ['-w', '-A', 'INPUT', '-p', 'tcp', '--dport', '2222', '-j', 'ACCEPT']);
    await host.run('iptables-legacy', ['-w', '-N', 'FOREIGN']);
    await host.run('iptables-legacy', ['-w', '-A', 'FOREIGN', '-j', 'RETURN']);
    try {
      const r = await doctor(bed, config);
      expect(r.checks['iptables-backend']).toMatchObject({
        status: 'warn',
        detail: expect.stringMatching(/moat writes with nf_tables .*2 rule\(s\) live in the legacy backend .*INPUT, FOREIGN/),
        fix: expect.stringContaining('iptables-legacy -F'),
      });
      expect(r.exitCode).toBe(0); // a warning, not a failure
    } finally {
      await host.run('iptables-legacy', ['-w', '-F']);
      await host.run('iptables-legacy', ['-w', '-X', 'FOREIGN']);
    }
    expect((await doctor(bed, config)).checks['iptables-backend']!.status).toBe('pass');
  });

  it('reports host-network and NET_ADMIN containers, with the fix', async () => {
    const hostnet = await bed.startServer({ name: 'hostnet', networkMode: 'host', ports: [18555] });
    const docker = bed.engine.docker;
    const admin = await docker.createContainer({ name: 'netadmin', Image: bed.image, Cmd: ['serve', '80'], HostConfig: { NetworkMode: 'd-net', CapAdd: ['NET_ADMIN'] } });
    await admin.start();
    try {
      const r = await doctor(bed, config);
      expect(r.checks.containers).toMatchObject({ status: 'warn', fix: expect.stringContaining('bridge network') });
      expect(r.checks.containers!.detail).toContain('hostnet: host network mode');
      expect(r.checks.containers!.detail).toContain('netadmin: NET_ADMIN');
    } finally {
      await admin.remove({ force: true });
      await hostnet.stop();
    }
  });

  it('fails when moatd is down and its jump is gone, with the fix', async () => {
    await moatd.stop();
    await bed.topology.host.run('iptables', ['-w', '-D', 'FORWARD', '-j', 'MOAT-FORWARD']);
    const r = await doctor(bed, config);
    expect(r.exitCode).toBe(2);
    expect(r.checks.daemon).toMatchObject({ status: 'fail', detail: expect.stringContaining(`${bed.dir}/moat.sock`), fix: expect.stringContaining('systemctl start moatd') });
    expect(r.checks['moat-chains']).toMatchObject({ status: 'fail', detail: expect.stringContaining('FORWARD does not jump to moat first'), fix: expect.stringContaining('moat plan') });
  });
});

describe('moat doctor on an engine started with Docker\'s own iptables on', () => {
  let bed: Bed;
  let config: string;

  beforeAll(async () => {
    bed = await createBed({ engine: { iptables: true } });
    await bed.createNetwork({ name: 'd-net', subnets: ['172.26.2.0/24'] });
    config = await bed.writeFile('config.yaml', `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/moat.sock }\n`);
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  it('fails docker-iptables from the flags and the live DOCKER chains, with the fix', async () => {
    const r = await doctor(bed, config);
    expect(r.exitCode).toBe(2);
    expect(r.checks['docker-iptables']).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/iptables true.*its chains are live: .*DOCKER-USER/),
      fix: expect.stringContaining('"iptables": false'),
    });
  });
});
