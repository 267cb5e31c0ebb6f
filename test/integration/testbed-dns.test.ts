// Proves the bed's DNS (testbed/dns-bed.ts) without moat: the test DNS server
// in world answers A, AAAA and CNAME with their TTLs over UDP and TCP, follows
// a zone change at once, and misbehaves on request (drop, a wrong id, another
// question, garbage); Docker's resolver asks DNS_LISTEN (daemon.json "dns") from
// the container's own address on a user network, the default bridge's containers
// ask it directly; a container connects by name to the answered server; teardown
// stops every DNS process it started.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBed, type Bed } from './testbed/bed.js';
import { askOnce, dnsAsk, inContainer, type DnsAnswer, type Enter } from './testbed/dns-client.js';
import { DNS_LISTEN, WORLD_DNS, WORLD_SERVERS } from './testbed/dns-bed.js';
import type { DnsZone } from './testbed/dns-zone.js';
import { execInContainer } from './testbed/container-exec.js';
import { isAlive } from './testbed/processes.js';
import type { ServerContainer } from './testbed/server-container.js';
import type { TestDns } from './testbed/test-dns.js';

const [S1, S2] = WORLD_SERVERS;
const ZONE: DnsZone = {
  records: {
    'api.example.test': [
      { type: 'A', value: S1.ipv4, ttl: 300 },
      { type: 'AAAA', value: S1.ipv6, ttl: 120 },
    ],
    'alias.example.test': [{ type: 'CNAME', value: 'cdn.provider.test', ttl: 30 }],
    'cdn.provider.test': [{ type: 'A', value: S2.ipv4, ttl: 5 }],
    'liar.example.test': [{ type: 'A', value: S2.ipv4 }],
    'other.example.test': [{ type: 'A', value: S2.ipv4 }],
  },
  lies: { 'liar.example.test': 'id', 'other.example.test': 'question' },
};
const pick = (a: DnsAnswer) => ({ rcode: a.rcode, answers: a.answers?.map((x) => `${x.name} ${x.ttl} ${x.type} ${x.data}`) });

describe('test bed DNS (no moat)', () => {
  let bed: Bed;
  let dns: TestDns;
  let user: ServerContainer;
  let deflt: ServerContainer;
  let inUser: Enter;
  let standInPid = 0;

  beforeAll(async () => {
    bed = await createBed({ dns: { zone: ZONE } });
    dns = bed.dns!.server;
    await bed.createNetwork({ name: 'dns-a', subnets: ['172.30.41.0/24', 'fd00:41::/64'] });
    [user, deflt] = await Promise.all([bed.startServer({ name: 'u1', networks: ['dns-a'] }), bed.startServer({ name: 'd1', networks: ['bridge'] })]);
    inUser = await inContainer(bed.engine.docker, user.id);
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  it('answers A, AAAA and a CNAME chain with their TTLs, over UDP and TCP, and NXDOMAIN for a name it lacks', async () => {
    const ask = (name: string, type: 'A' | 'AAAA' = 'A', extra: string[] = []) => askOnce(inUser, WORLD_DNS.ipv4, name, type, extra).then(pick);
    expect(await ask('api.example.test')).toEqual({ rcode: 'NOERROR', answers: [`api.example.test 300 A ${S1.ipv4}`] });
    expect(await ask('API.Example.Test.', 'AAAA')).toEqual({ rcode: 'NOERROR', answers: [`api.example.test 120 AAAA ${S1.ipv6}`] });
    expect(await ask('alias.example.test')).toEqual({
      rcode: 'NOERROR',
      answers: ['alias.example.test 30 CNAME cdn.provider.test', `cdn.provider.test 5 A ${S2.ipv4}`],
    });
    expect(await ask('api.example.test', 'A', ['--proto', 'tcp'])).toEqual({ rcode: 'NOERROR', answers: [`api.example.test 300 A ${S1.ipv4}`] });
    expect(await askOnce(inUser, WORLD_DNS.ipv6, 'api.example.test').then(pick)).toEqual({ rcode: 'NOERROR', answers: [`api.example.test 300 A ${S1.ipv4}`] });
    expect(await ask('nowhere.example.test')).toEqual({ rcode: 'NXDOMAIN', answers: [] });
    const q = await dns.waitForQuery((l) => l.name === 'api.example.test' && l.proto === 'tcp');
    expect(q.from).toMatch(new RegExp(`^${user.ipv4('dns-a').replaceAll('.', '\\.')}:`));
  });

  it('follows a zone change at the next query, and misbehaves on request', async () => {
    await dns.setZone({ ...ZONE, records: { ...ZONE.records, 'api.example.test': [{ type: 'A', value: S2.ipv4, ttl: 2 }] } });
    expect(pick(await askOnce(inUser, WORLD_DNS.ipv4, 'api.example.test'))).toEqual({ rcode: 'NOERROR', answers: [`api.example.test 2 A ${S2.ipv4}`] });
    // A wrong id: a stub that takes the first datagram sees the id it did not send.
    const [sent] = (await dnsAsk(inUser, ['--server', WORLD_DNS.ipv4, '--name', 'liar.example.test'])) as DnsAnswer[];
    expect(sent?.answers?.map((a) => a.data)).toEqual([S2.ipv4]);
    expect(dns.queries.findLast((l) => l.name === 'liar.example.test')).toMatchObject({ outcome: 'lie:id' });
    const other = await askOnce(inUser, WORLD_DNS.ipv4, 'other.example.test');
    expect(other.answers?.map((a) => a.name)).toEqual(['other.example.test']);
    expect(dns.queries.findLast((l) => l.name === 'other.example.test')).toMatchObject({ outcome: 'lie:question' });
    await dns.setZone({ ...ZONE, mode: 'drop' });
    expect(await askOnce(inUser, WORLD_DNS.ipv4, 'api.example.test', 'A', ['--timeout-ms', '500'])).toMatchObject({ error: 'timeout' });
    expect(dns.queries.at(-1)).toMatchObject({ name: 'api.example.test', outcome: 'dropped' });
    await dns.setZone(ZONE);
  });

  it('is asked at DNS_LISTEN from a user network (by the container address) and from the default bridge, and a name opens its server', async () => {
    const standIn = await bed.dns!.standIn();
    // User network: Docker's embedded resolver (127.0.0.11) forwards to daemon.json's "dns".
    const u = await execInContainer(bed.engine.docker, user.id, ['nslookup', 'api.example.test']);
    expect(u.stdout, u.stderr).toContain(`Address: ${S1.ipv4}`);
    const fromUser = await standIn.waitForQuery((l) => l.name === 'api.example.test');
    expect(fromUser.from.split(':')[0]).toBe(user.ipv4('dns-a'));
    // Default bridge: resolv.conf names DNS_LISTEN itself.
    const resolv = await execInContainer(bed.engine.docker, deflt.id, ['cat', '/etc/resolv.conf']);
    expect(resolv.stdout).toContain(`nameserver ${DNS_LISTEN}`);
    const mark = standIn.mark();
    const d = await execInContainer(bed.engine.docker, deflt.id, ['nslookup', 'alias.example.test']);
    expect(d.stdout, d.stderr).toContain(`Address: ${S2.ipv4}`);
    const fromBridge = await standIn.waitForQuery((l) => l.name === 'alias.example.test', { since: mark });
    expect(fromBridge.from.split(':')[0]).toBe(deflt.ipv4('bridge'));
    // busybox wget resolves the name and connects to the answered server (world's httpd on 443).
    const w = await execInContainer(bed.engine.docker, user.id, ['timeout', '5', 'wget', '-q', '-O', '-', 'http://api.example.test:443/cgi-bin/ip']);
    // No firewall, no masquerade: world sees the container's own address.
    expect({ exit: w.exitCode, body: w.stdout.trim() }, w.stderr).toEqual({ exit: 0, body: user.ipv4('dns-a') });
    standInPid = standIn.pid;
  });

  it('stops every DNS process it started at teardown', async () => {
    const pids = [dns.pid, standInPid];
    await bed.dispose();
    for (const pid of pids) expect(await isAlive(pid)).toBe(false);
  });
});
