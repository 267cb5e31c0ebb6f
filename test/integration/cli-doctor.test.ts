// `moat doctor` on the bed, with each misconfiguration really produced:
// br_netfilter's sysctl off (in the bed's namespace only, restored after),
// a foreign legacy-iptables ruleset, a leftover `docker-bridges` nftables
// table (what Docker 29's nftables backend writes), a host-network and a
// NET_ADMIN container, moatd stopped and its jump removed, an engine started
// with Docker's own iptables on and then again with it off (its chains stay
// behind), and one started with only --iptables=false (from Docker 27 on,
// ip6tables then defaults to true). Each is reported with its fix. The bed's
// engine runs the start gate, so doctor finds it active.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Check } from '../../src/core/doctor-check.js';
import { moat, moatJson } from './cli-support.js';
import { createBed, type Bed } from './testbed/bed.js';
import { startEngine } from './testbed/engine.js';
import type { Moatd } from './testbed/moatd.js';

type Report = { ok: boolean; checks: Check[] };
/** A container with a published port, straight through the API (testcontainers serves one engine per file). */
const publishedServer = async (bed: Bed, network: string, hostPort: number) => {
  const c = await bed.engine.docker.createContainer({
    Image: bed.image,
    Cmd: ['serve', '8080'],
    ExposedPorts: { '8080/tcp': {} },
    HostConfig: { NetworkMode: network, PortBindings: { '8080/tcp': [{ HostPort: String(hostPort) }] } },
  });
  await c.start();
  return c;
};
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
    expect(Object.keys(r.checks)).toEqual([
      'docker-api',
      'docker-engine',
      'docker-iptables',
      'docker-nftables',
      'br-netfilter-v4',
      'br-netfilter-v6',
      'ip-forward-v4',
      'iptables-backend',
      'swarm',
      'userland-proxy',
      'containers',
      'moat-chains',
      'daemon',
      'start-gate',
    ]);
    expect(r.checks['start-gate']!.detail).toContain(`handing over to runc, waiting at most 5000 ms on ${bed.dir}/moat.sock`);
    for (const c of Object.values(r.checks)) expect(c).toEqual({ id: c.id, title: expect.any(String), status: 'pass', detail: expect.any(String), fix: null });
    expect(r.checks['docker-iptables']!.detail).toContain(`${bed.engine.dir}/daemon.json`);
    const version = (await bed.engine.docker.version()).Version;
    expect(r.checks['docker-engine']!.detail).toMatch(
      new RegExp(`^Docker ${version.replace(/[.+]/g, '\\$&')} .*moat is tested on Docker 20\\.10, 26\\.1, 28\\.5$`),
    );
    const human = await moat(bed, ['doctor', '--config', config]);
    expect(human.exitCode).toBe(0);
    expect(human.stdout).toMatch(/^pass {2}Docker runs with "iptables": false$/m);
    expect(human.stdout).toMatch(/^14 passed, 0 warnings, 0 failed$/m);
  });

  it('fails br_netfilter off in the namespace, with the fix (restored after)', async () => {
    const host = bed.topology.host;
    await host.sysctl('net.bridge.bridge-nf-call-iptables', 0);
    try {
      const r = await doctor(bed, config);
      expect(r).toMatchObject({ exitCode: 2, ok: false });
      expect(r.checks['br-netfilter-v4']).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('is 0'),
        fix: expect.stringContaining('sysctl -w net.bridge.bridge-nf-call-iptables=1'),
      });
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

  it("warns about a docker-bridges nftables table left over (Docker 29's nftables backend), with the fix", async () => {
    const host = bed.topology.host;
    // What Docker 29 leaves when its firewall is switched off: its table, a forward hook and a drop.
    await host.run('nft', ['-f', '-'], {
      input: 'table ip docker-bridges {\n chain filter-FORWARD {\n  type filter hook forward priority filter; policy accept;\n  oifname "br-*" drop\n }\n}\n',
    });
    try {
      const r = await doctor(bed, config);
      expect(r.checks['docker-nftables']).toMatchObject({
        status: 'warn',
        detail: expect.stringMatching(/^table ip docker-bridges left over .*drops and DNATs apply beside moat's rules/),
        fix: 'nft delete table ip docker-bridges',
      });
      expect(r.exitCode).toBe(0);
    } finally {
      await host.run('nft', ['delete', 'table', 'ip', 'docker-bridges']);
    }
    expect((await doctor(bed, config)).checks['docker-nftables']!.status).toBe('pass');
  });

  it('reports host-network and NET_ADMIN containers, with the fix', async () => {
    const hostnet = await bed.startServer({ name: 'hostnet', networkMode: 'host', ports: [18555] });
    const docker = bed.engine.docker;
    const admin = await docker.createContainer({
      name: 'netadmin',
      Image: bed.image,
      Cmd: ['serve', '80'],
      HostConfig: { NetworkMode: 'd-net', CapAdd: ['NET_ADMIN'] },
    });
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
    expect(r.checks.daemon).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining(`${bed.dir}/moat.sock`),
      fix: expect.stringContaining('systemctl start moatd'),
    });
    expect(r.checks['moat-chains']).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('FORWARD does not jump to moat first'),
      fix: expect.stringContaining('moat plan'),
    });
  });
});

describe("moat doctor on an engine started with Docker's own iptables on, then off again", () => {
  let bed: Bed;
  let config: string;

  beforeAll(async () => {
    bed = await createBed({ engine: { iptables: true } });
    await bed.createNetwork({ name: 'd-net', subnets: ['172.26.2.0/24'] });
    await publishedServer(bed, 'd-net', 18083);
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
      detail: expect.stringMatching(/iptables true.*its rules are live: .*DOCKER-USER/),
      fix: expect.stringContaining('"iptables": false'),
    });
    // Docker 28 guards published container addresses in the raw table too.
    if (bed.engine.choice.version === '28.5') expect(r.checks['docker-iptables']!.detail).toMatch(/DOCKER-USER, 1 raw PREROUTING DROP rule\(s\)/);
  });

  it('warns about the chains that engine left behind once Docker runs with iptables false', async () => {
    // Stopping removes the container, and with it its raw DROP; the chains stay.
    await bed.engine.stop();
    await using engine = await startEngine({ netns: bed.topology.host, dir: `${bed.dir}/e2`, name: `${bed.prefix}-2` });
    const r = await moatJson<Report>(bed, ['doctor', '--config', config], { DOCKER_HOST: engine.dockerHost });
    const check = r.json.checks.find((c) => c.id === 'docker-iptables');
    expect(check).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/configured with iptables and ip6tables false .*still live: .*DOCKER-ISOLATION-STAGE-1/),
      fix: expect.stringContaining('DOCKER* chain'),
    });
  });
});

describe('moat doctor on an engine started with only --iptables=false (no ip6tables setting)', () => {
  let bed: Bed;
  let config: string;

  beforeAll(async () => {
    bed = await createBed({ engine: { ip6tables: null } });
    await bed.createNetwork({ name: 'd-six', subnets: ['172.26.4.0/24', 'fd00:26:4::/64'] });
    await publishedServer(bed, 'd-six', 18084);
    config = await bed.writeFile('config.yaml', `policyDir: ${bed.dir}/policy.d\ncontrol: { socket: ${bed.dir}/moat.sock }\n`);
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  it('fails from Docker 27 on, where ip6tables defaults to true and Docker writes IPv6 rules; passes before', async () => {
    const r = await doctor(bed, config);
    const v6 = await bed.topology.host.run('ip6tables-save', []);
    if (bed.engine.choice.version === '28.5') {
      // The condition is real: Docker wrote its IPv6 firewall (a DNAT for the published port among it).
      expect(v6.stdout).toMatch(/-j DNAT --to-destination \[fd00:26:4::\d+\]:8080/);
      expect(r.exitCode).toBe(2);
      expect(r.checks['docker-iptables']).toMatchObject({
        status: 'fail',
        detail: expect.stringMatching(
          /iptables false, ip6tables true, the default.*"ip6tables" defaults to true from Docker 27 on.*its rules are live: .*DOCKER-FORWARD/,
        ),
        fix: expect.stringContaining('"ip6tables": false'),
      });
    } else {
      expect(v6.stdout).not.toContain('DOCKER');
      expect(r.checks['docker-iptables']).toMatchObject({ status: 'pass', detail: expect.stringContaining('ip6tables false, the default') });
    }
  });
});
