import { describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { computeDesired } from './desired.js';
import { ConfigSchema } from './config.js';
import type { DoctorFacts } from './doctor-facts.js';
import { runChecks } from './doctor.js';
import { boolFlag, flagValue } from './dockerd-flags.js';
import { renderText } from './render.js';

const config = ConfigSchema.parse({});
const desired = computeDesired(dockerLists({ a: { subnets: ['172.30.0.0/24'] } }, { web: { nets: { a: '172.30.0.2' } } }), config, [4, 6]);
// A kernel with exactly moat's rules, as iptables-save prints them.
const saveOf = (i: number) =>
  renderText(desired.rendered[i]!)
    .split('\n')
    .map((l) => l.replace(/^:(MOAT-\S+) - \[0:0\]$/, ':$1 - [0:0]').replace(/^-I (\S+) 1 /, '-A $1 '))
    .join('\n')
    .replace('*filter\n', '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n')
    .replace('*nat\n', '*nat\n:POSTROUTING ACCEPT [0:0]\n');

const healthy: DoctorFacts = {
  docker: { reachable: true, version: '20.10.24', swarm: 'inactive', rootDir: '/var/lib/docker' },
  dockerdArgs: ['-H', 'fd://', '--iptables=false', '--ip6tables=false'],
  daemonJson: { path: '/etc/docker/daemon.json', text: '{"iptables": false}' },
  sysctl: {
    'net.bridge.bridge-nf-call-iptables': '1',
    'net.bridge.bridge-nf-call-ip6tables': '1',
    'net.ipv4.ip_forward': '1',
    'net.ipv6.conf.all.forwarding': '1',
  },
  iptablesVersion: 'iptables v1.8.9 (nf_tables)',
  saves: { legacy4: '', nft4: saveOf(0), legacy6: '', nft6: saveOf(1) },
  desired: desired.rendered,
  containers: [{ name: 'web', networkMode: 'a', privileged: false, capAdd: [] }],
  control: { socket: '/run/moat/moat.sock', ok: true, dockerConnected: true, lastOk: true },
  ipv6Networks: false,
  runtime: { default: 'moat', runtimes: { moat: { path: '/usr/local/lib/moat/bin/moat-runc' }, runc: { path: 'runc' } } },
  nftTables: ['ip filter', 'ip nat', 'ip6 filter', 'ip6 nat'],
};

const byId = (f: DoctorFacts, c = config) => Object.fromEntries(runChecks(f, c).map((x) => [x.id, x]));

describe('runChecks', () => {
  it('passes a healthy host', () => {
    const checks = runChecks(healthy, config);
    expect(checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.detail}`)).toEqual([]);
    expect(checks.map((c) => c.id)).toEqual([
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
  });

  it('fails Docker writing its own rules: flags, daemon.json, default, live chains', () => {
    expect(byId({ ...healthy, dockerdArgs: ['--iptables=true'] })['docker-iptables']).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('"iptables": false'),
    });
    expect(byId({ ...healthy, dockerdArgs: [], daemonJson: { path: '/x.json', text: '{"iptables": true}' } })['docker-iptables']).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('/x.json'),
    });
    expect(byId({ ...healthy, dockerdArgs: [], daemonJson: { path: '/x.json', text: null } })['docker-iptables']!.detail).toContain('the default');
    expect(
      byId({ ...healthy, saves: { ...healthy.saves, nft4: `${healthy.saves.nft4}\n*filter\n:DOCKER-USER - [0:0]\nCOMMIT\n` } })['docker-iptables'],
    ).toMatchObject({ status: 'warn', detail: expect.stringContaining('DOCKER-USER') });
  });

  it('fails Docker 27+ writing ip6tables rules when only "iptables": false is set, not 26.1', () => {
    const only4 = { ...healthy, dockerdArgs: ['-H', 'fd://'], daemonJson: { path: '/etc/docker/daemon.json', text: '{"iptables": false}' } };
    const on28 = byId({ ...only4, docker: { ...healthy.docker, version: '28.5.2+dfsg4' } })['docker-iptables'];
    expect(on28).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('"ip6tables" defaults to true from Docker 27 on'),
      fix: expect.stringContaining('"ip6tables": false'),
    });
    expect(on28!.detail).toContain('iptables false, ip6tables true, the default');
    expect(byId({ ...only4, docker: { ...healthy.docker, version: '26.1.5+dfsg1' } })['docker-iptables']!.status).toBe('pass');
    expect(
      byId({ ...only4, docker: { ...healthy.docker, version: '28.5.2' }, daemonJson: { path: '/x.json', text: '{"iptables": false, "ip6tables": false}' } })[
        'docker-iptables'
      ]!.status,
    ).toBe('pass');
    // The flag wins over the file, on every engine.
    expect(byId({ ...only4, docker: { ...healthy.docker, version: '28.5.2' }, dockerdArgs: ['--ip6tables=false'] })['docker-iptables']!.status).toBe('pass');
    // Before 27.0 ip6tables works only with iptables (dockerd refuses --iptables=false --ip6tables).
    expect(byId({ ...healthy, dockerdArgs: ['--iptables=false', '--ip6tables=true'] })['docker-iptables']!.status).toBe('pass');
  });

  it("warns about stale Docker 28 chains and raw drops once Docker's firewall is off", () => {
    const stale = `*raw\n:PREROUTING ACCEPT [0:0]\n-A PREROUTING -d 172.18.0.2/32 ! -i br-0123456789ab -j DROP\nCOMMIT\n*filter\n:DOCKER-INTERNAL - [0:0]\n-A DOCKER-INTERNAL -i br-0123456789ab ! -d 172.18.0.0/16 -j DROP\nCOMMIT\n`;
    const c = byId({ ...healthy, docker: { ...healthy.docker, version: '28.5.2' }, saves: { ...healthy.saves, legacy4: stale } })['docker-iptables'];
    expect(c).toMatchObject({
      status: 'warn',
      detail: expect.stringMatching(/still live: DOCKER-INTERNAL, 1 raw PREROUTING DROP rule\(s\)/),
      fix: expect.stringContaining('-t raw'),
    });
  });

  it('reports the engine version and whether moat is tested on it', () => {
    expect(byId(healthy)['docker-engine']).toMatchObject({ status: 'pass', detail: expect.stringContaining('moat is tested on Docker 20.10, 26.1, 28.5') });
    expect(byId({ ...healthy, docker: { ...healthy.docker, version: '28.5.2+dfsg4', firewallBackend: 'iptables' } })['docker-engine']).toMatchObject({
      status: 'pass',
      detail: expect.stringContaining('Docker 28.5.2+dfsg4 (firewall backend iptables)'),
    });
    expect(byId({ ...healthy, docker: { ...healthy.docker, version: '27.5.1' } })['docker-engine']).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('not 27.5'),
      fix: expect.stringContaining('moat plan'),
    });
    expect(byId({ ...healthy, docker: { reachable: false, error: 'no socket' } })['docker-engine']!.status).toBe('skip');
  });

  // Docker 29 cannot run here (Debian has no package of it yet): these facts
  // are what its documentation says such a host shows (firewall-backend
  // nftables; tables "ip docker-bridges" and "ip6 docker-bridges"; /info
  // FirewallBackend.Driver "nftables").
  describe('Docker 29 with firewall-backend nftables (recorded facts)', () => {
    const docker29 = { ...healthy.docker, version: '29.0.1', firewallBackend: 'nftables' };
    const tables = [...healthy.nftTables!, 'ip docker-bridges', 'ip6 docker-bridges'];

    it('fails while Docker writes its nftables tables, naming them', () => {
      const f = byId({
        ...healthy,
        docker: docker29,
        dockerdArgs: [],
        daemonJson: { path: '/etc/docker/daemon.json', text: '{"firewall-backend": "nftables"}' },
        nftTables: tables,
      });
      expect(f['docker-iptables']).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('into nftables tables docker-bridges (firewall-backend nftables), live: ip docker-bridges, ip6 docker-bridges'),
      });
      expect(f['docker-nftables']).toMatchObject({
        status: 'fail',
        detail: expect.stringContaining('written by Docker'),
        fix: expect.stringContaining('nft delete table ip docker-bridges; nft delete table ip6 docker-bridges'),
      });
      expect(f['docker-engine']).toMatchObject({ status: 'warn', detail: expect.stringContaining('Docker 29.0.1 (firewall backend nftables)') });
    });

    it("warns about docker-bridges tables left over once Docker's firewall is off", () => {
      const f = byId({
        ...healthy,
        docker: docker29,
        daemonJson: { path: '/etc/docker/daemon.json', text: '{"iptables": false, "ip6tables": false, "firewall-backend": "nftables"}' },
        nftTables: [...healthy.nftTables!, 'ip6 docker-bridges'],
      });
      expect(f['docker-iptables']!.status).toBe('pass');
      expect(f['docker-nftables']).toMatchObject({
        status: 'warn',
        detail: expect.stringMatching(/^table ip6 docker-bridges left over .*drops and DNATs apply beside moat's rules/),
        fix: 'nft delete table ip6 docker-bridges',
      });
    });

    it('skips the nftables check without nft', () => {
      expect(byId({ ...healthy, nftTables: null })['docker-nftables']!.status).toBe('skip');
    });
  });

  it('fails br_netfilter off or missing, warns on forwarding off', () => {
    const off = byId({ ...healthy, sysctl: { ...healthy.sysctl, 'net.bridge.bridge-nf-call-iptables': '0', 'net.ipv4.ip_forward': '0' } });
    expect(off['br-netfilter-v4']).toMatchObject({ status: 'fail', fix: expect.stringContaining('sysctl -w net.bridge.bridge-nf-call-iptables=1') });
    expect(off['ip-forward-v4']).toMatchObject({ status: 'warn', fix: expect.stringContaining('net.ipv4.ip_forward=1') });
    expect(byId({ ...healthy, sysctl: { ...healthy.sysctl, 'net.bridge.bridge-nf-call-ip6tables': null } })['br-netfilter-v6']).toMatchObject({
      status: 'fail',
      fix: expect.stringContaining('modprobe br_netfilter'),
    });
  });

  it('warns on rules in the other iptables backend', () => {
    const c = byId({ ...healthy, saves: { ...healthy.saves, legacy4: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n' } })[
      'iptables-backend'
    ];
    expect(c).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('1 rule(s) live in the legacy backend'),
      fix: expect.stringContaining('iptables-legacy'),
    });
    expect(c!.detail).toContain('INPUT');
  });

  it('fails swarm, proxy mismatch, risky containers, missing jumps and an unreachable daemon', () => {
    const f = byId({
      ...healthy,
      docker: { ...healthy.docker, swarm: 'active' },
      dockerdArgs: ['--iptables=false', '--userland-proxy=false'],
      containers: [
        { name: 'h', networkMode: 'host', privileged: false, capAdd: [] },
        { name: 'n', networkMode: 'a', privileged: false, capAdd: ['NET_ADMIN'] },
      ],
      saves: { ...healthy.saves, nft4: healthy.saves.nft4!.replace('-A FORWARD -j MOAT-FORWARD\n', '') },
      control: { socket: '/run/moat/moat.sock', ok: false, error: 'no socket there' },
    });
    expect(f.swarm!.status).toBe('fail');
    expect(f['userland-proxy']).toMatchObject({ status: 'fail', fix: expect.stringContaining('publishMode: dnat') });
    expect(f.containers).toMatchObject({ status: 'warn', detail: expect.stringMatching(/h: host network mode.*n: NET_ADMIN/) });
    expect(f['moat-chains']).toMatchObject({ status: 'fail', detail: expect.stringContaining('FORWARD does not jump to moat first') });
    expect(f.daemon).toMatchObject({ status: 'fail', fix: expect.stringContaining('systemctl start moatd') });
    expect(byId({ ...healthy, containers: [{ name: 'x', networkMode: 'host', privileged: true, capAdd: [] }] }).containers!.status).toBe('fail');
  });

  it('reads dockerd flags', () => {
    expect(boolFlag(['--iptables'], 'iptables')).toBe(true);
    expect(boolFlag(['--iptables=false'], 'iptables')).toBe(false);
    expect(boolFlag([], 'iptables')).toBeNull();
    expect(flagValue(['--config-file', '/a.json'], 'config-file')).toBe('/a.json');
    expect(flagValue(['--data-root=/d'], 'data-root')).toBe('/d');
  });

  it('reports the start gate: active and what it wraps, missing, or asking the wrong socket', () => {
    expect(byId(healthy)['start-gate']).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(/handing over to runc, waiting at most 2000 ms on \/run\/moat\/moat.sock/),
    });
    const wrapped = {
      ...healthy,
      runtime: {
        default: 'moat',
        runtimes: { moat: { path: '/x/moat-runc', runtimeArgs: ['--moat-runtime', 'nvidia-container-runtime', '--moat-wait-ms', '500'] } },
      },
    };
    expect(byId(wrapped)['start-gate']).toMatchObject({
      status: 'pass',
      detail: expect.stringMatching(/handing over to nvidia-container-runtime, waiting at most 500 ms/),
    });
    expect(byId({ ...healthy, runtime: { default: 'runc', runtimes: { runc: { path: 'runc' } } } })['start-gate']).toMatchObject({
      status: 'warn',
      fix: expect.stringMatching(/moat install --configure-docker/),
    });
    const elsewhere = {
      ...healthy,
      runtime: { default: 'moat', runtimes: { moat: { path: '/x/moat-runc', runtimeArgs: ['--moat-socket', '/tmp/other.sock'] } } },
    };
    expect(byId(elsewhere)['start-gate']).toMatchObject({ status: 'fail', detail: expect.stringMatching(/asks \/tmp\/other.sock/) });
    expect(byId({ ...healthy, runtime: null })['start-gate']).toMatchObject({ status: 'skip' });
  });
});
