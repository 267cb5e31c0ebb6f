import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { planDockerDisable, planDockerRestore } from './install-docker.js';
import { pointDockerDns, restoreDockerDns } from './install-dns.js';

describe('daemon.json "dns" for the forwarder', () => {
  it('adds "dns": [listen], keeping every other key as written', () => {
    const res = pointDockerDns('{\n    "iptables": false,\n    "log-level": "warn"\n}\n', '10.255.255.53');
    expect(res).toMatchObject({ ok: true, changed: true, previous: { present: false }, replaced: [] });
    expect(res.ok && res.text).toBe('{\n    "iptables": false,\n    "log-level": "warn",\n    "dns": ["10.255.255.53"]\n}\n');
  });

  it("replaces an operator's servers and says which; unchanged when it already points at listen", () => {
    const res = pointDockerDns('{"dns": ["1.1.1.1", "10.255.255.53"]}', '10.255.255.53');
    expect(res).toMatchObject({ ok: true, previous: { present: true, value: ['1.1.1.1', '10.255.255.53'] }, replaced: ['1.1.1.1'] });
    expect(res.ok && JSON.parse(res.text)).toEqual({ dns: ['10.255.255.53'] });
    expect(pointDockerDns('{"dns": ["10.255.255.53"]}', '10.255.255.53')).toMatchObject({ ok: true, changed: false });
    expect(pointDockerDns('{"dns": ', '10.255.255.53')).toMatchObject({ ok: false });
  });

  it('puts back what was there while the key holds what moat wrote; an operator edit since is left alone', () => {
    const dns = { previous: { present: true as const, value: ['1.1.1.1'] }, wrote: ['10.255.255.53'] };
    const back = restoreDockerDns('{"dns": ["10.255.255.53"], "iptables": false}', dns);
    expect(back.ok && JSON.parse(back.text)).toEqual({ dns: ['1.1.1.1'], iptables: false });
    const gone = restoreDockerDns('{"dns": ["10.255.255.53"]}', { previous: { present: false }, wrote: ['10.255.255.53'] });
    expect(gone.ok && JSON.parse(gone.text)).toEqual({});
    const edited = restoreDockerDns('{"dns": ["9.9.9.9"]}', dns);
    expect(edited).toMatchObject({ ok: true, changed: false, notes: [expect.stringContaining('left as it is')] });
  });
});

describe('planDockerDisable / planDockerRestore with dns.listen', () => {
  let dir: string;
  beforeEach(async () => (dir = await mkdtemp(join(tmpdir(), 'moat-install-dns-'))));
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it('writes the firewall keys and "dns" in one step, and undoes both', async () => {
    const path = join(dir, 'daemon.json');
    await writeFile(path, '{\n  "dns": ["192.168.1.1"]\n}\n');
    const plan = await planDockerDisable(path, null, '10.255.255.53');
    expect(plan.step.kind).toBe('write');
    const written = plan.step.kind === 'write' ? plan.step.content : '';
    expect(JSON.parse(written)).toEqual({ dns: ['10.255.255.53'], iptables: false, ip6tables: false });
    expect(plan.dns).toEqual({ previous: { present: true, value: ['192.168.1.1'] }, wrote: ['10.255.255.53'], replaced: ['192.168.1.1'] });
    await writeFile(path, written);
    const restore = await planDockerRestore(path, { ...plan.previous, dns: plan.dns! });
    expect(restore.step.kind === 'write' && JSON.parse(restore.step.content)).toEqual({ dns: ['192.168.1.1'] });
  });

  it('without dns.listen leaves "dns" alone', async () => {
    const path = join(dir, 'daemon.json');
    await writeFile(path, '{"dns": ["192.168.1.1"]}');
    const plan = await planDockerDisable(path, null, null);
    expect(plan.dns).toBeNull();
    expect(plan.step.kind === 'write' && JSON.parse(plan.step.content)).toEqual({ dns: ['192.168.1.1'], iptables: false, ip6tables: false });
  });
});
