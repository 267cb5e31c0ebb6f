import { describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { computeDesired } from '../runtime/reconciler.js';
import { ConfigSchema } from './config.js';
import { boolFlag, flagValue, runChecks, type DoctorFacts } from './doctor.js';
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
  sysctl: { 'net.bridge.bridge-nf-call-iptables': '1', 'net.bridge.bridge-nf-call-ip6tables': '1', 'net.ipv4.ip_forward': '1', 'net.ipv6.conf.all.forwarding': '1' },
  iptablesVersion: 'iptables v1.8.9 (nf_tables)',
  saves: { legacy4: '', nft4: saveOf(0), legacy6: '', nft6: saveOf(1) },
  desired: desired.rendered,
  containers: [{ name: 'web', networkMode: 'a', privileged: false, capAdd: [] }],
  control: { socket: '/run/moat/moat.sock', ok: true, dockerConnected: true, lastOk: true },
  ipv6Networks: false,
  runtime: { default: 'moat', runtimes: { moat: { path: '/usr/local/lib/moat/bin/moat-runc' }, runc: { path: 'runc' } } },
};

const byId = (f: DoctorFacts, c = config) => Object.fromEntries(runChecks(f, c).map((x) => [x.id, x]));

describe('runChecks', () => {
  it('passes a healthy host', () => {
    const checks = runChecks(healthy, config);
    expect(checks.filter((c) => c.status !== 'pass').map((c) => `${c.id}: ${c.detail}`)).toEqual([]);
    expect(checks.map((c) => c.id)).toEqual(['docker-api', 'docker-iptables', 'br-netfilter-v4', 'br-netfilter-v6', 'ip-forward-v4', 'iptables-backend', 'swarm', 'userland-proxy', 'containers', 'moat-chains', 'daemon', 'start-gate']);
  });

  it('fails Docker writing its own rules: flags, daemon.json, default, live chains', () => {
    expect(byId({ ...healthy, dockerdArgs: ['--iptables=true'] })['docker-iptables']).toMatchObject({ status: 'fail', fix: expect.stringContaining('"iptables": false') });
    expect(byId({ ...healthy, dockerdArgs: [], daemonJson: { path: '/x.json', text: '{"iptables": true}' } })['docker-iptables']).toMatchObject({ status: 'fail', fix: expect.stringContaining('/x.json') });
    expect(byId({ ...healthy, dockerdArgs: [], daemonJson: { path: '/x.json', text: null } })['docker-iptables']!.detail).toContain('the default');
    expect(byId({ ...healthy, saves: { ...healthy.saves, nft4: `${healthy.saves.nft4}\n*filter\n:DOCKER-USER - [0:0]\nCOMMIT\n` } })['docker-iptables']).toMatchObject({ status: 'warn', detail: expect.stringContaining('DOCKER-USER') });
  });

  it('fails br_netfilter off or missing, warns on forwarding off', () => {
    const off = byId({ ...healthy, sysctl: { ...healthy.sysctl, 'net.bridge.bridge-nf-call-iptables': '0', 'net.ipv4.ip_forward': '0' } });
    expect(off['br-netfilter-v4']).toMatchObject({ status: 'fail', fix: expect.stringContaining('sysctl -w net.bridge.bridge-nf-call-iptables=1') });
    expect(off['ip-forward-v4']).toMatchObject({ status: 'warn', fix: expect.stringContaining('net.ipv4.ip_forward=1') });
    expect(byId({ ...healthy, sysctl: { ...healthy.sysctl, 'net.bridge.bridge-nf-call-ip6tables': null } })['br-netfilter-v6']).toMatchObject({ status: 'fail', fix: expect.stringContaining('modprobe br_netfilter') });
  });

  it('warns on rules in the other iptables backend', () => {
    const c = byId({ ...healthy, saves: { ...healthy.saves, legacy4: '*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -p tcp --dport 22 -j ACCEPT\nCOMMIT\n' } })['iptables-backend'];
    expect(c).toMatchObject({ status: 'warn', detail: expect.stringContaining('1 rule(s) live in the legacy backend'), fix: expect.stringContaining('iptables-legacy') });
    expect(c!.detail).toContain('INPUT');
  });

  it('fails swarm, proxy mismatch, risky containers, missing jumps and an unreachable daemon', () => {
    const f = byId({
      ...healthy,
      docker: { ...healthy.docker, swarm: 'active' },
      dockerdArgs: ['--iptables=false', '--userland-proxy=false'],
      containers: [{ name: 'h', networkMode: 'host', privileged: false, capAdd: [] }, { name: 'n', networkMode: 'a', privileged: false, capAdd: ['NET_ADMIN'] }],
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
    expect(byId(healthy)['start-gate']).toMatchObject({ status: 'pass', detail: expect.stringMatching(/handing over to runc, waiting at most 2000 ms on \/run\/moat\/moat.sock/) });
    const wrapped = { ...healthy, runtime: { default: 'moat', runtimes: { moat: { path: '/x/moat-runc', runtimeArgs: ['--moat-runtime', 'nvidia-container-runtime', '--moat-wait-ms', '500'] } } } };
    expect(byId(wrapped)['start-gate']).toMatchObject({ status: 'pass', detail: expect.stringMatching(/handing over to nvidia-container-runtime, waiting at most 500 ms/) });
    expect(byId({ ...healthy, runtime: { default: 'runc', runtimes: { runc: { path: 'runc' } } } })['start-gate']).toMatchObject({ status: 'warn', fix: expect.stringMatching(/moat install --configure-docker/) });
    const elsewhere = { ...healthy, runtime: { default: 'moat', runtimes: { moat: { path: '/x/moat-runc', runtimeArgs: ['--moat-socket', '/tmp/other.sock'] } } } };
    expect(byId(elsewhere)['start-gate']).toMatchObject({ status: 'fail', detail: expect.stringMatching(/asks \/tmp\/other.sock/) });
    expect(byId({ ...healthy, runtime: null })['start-gate']).toMatchObject({ status: 'skip' });
  });
});
