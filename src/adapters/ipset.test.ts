// The ipset adapter against a fake runner: what reaches ipset's stdin, and
// what is refused before it. (A real ipset runs in the integration tests:
// the unit project runs nothing in a namespace.)
import { describe, expect, it } from 'vitest';
import { dnsSetName } from '../core/dns-name.js';
import type { CommandRunner } from './iptables.js';
import { Ipset, IpsetError } from './ipset.js';

const v4 = dnsSetName('api.example.com', 4);
const v6 = dnsSetName('api.example.com', 6);

function fake(stdout = '', exitCode = 0) {
  const calls: { file: string; args: readonly string[]; input?: string }[] = [];
  const run: CommandRunner = async (file, args, input) => {
    calls.push({ file, args, input });
    return { stdout, stderr: exitCode ? 'ipset v7.17: Kernel error received: set type not supported' : '', exitCode };
  };
  return { calls, ipset: new Ipset(run) };
}

describe('Ipset', () => {
  it('creates sets and adds entries, each batch in one ipset restore -exist', async () => {
    const { calls, ipset } = fake();
    await ipset.ensureSets([
      { pattern: 'api.example.com', family: 4, name: v4 },
      { pattern: 'api.example.com', family: 6, name: v6 },
    ]);
    await ipset.addEntries([
      { set: v4, address: '192.0.2.10', timeoutS: 60 },
      { set: v6, address: '2001:DB8:0:0::1', timeoutS: 3600 },
    ]);
    expect(calls).toEqual([
      { file: 'ipset', args: ['restore', '-exist'], input: `create ${v4} hash:ip family inet timeout 0\ncreate ${v6} hash:ip family inet6 timeout 0\n` },
      { file: 'ipset', args: ['restore', '-exist'], input: `add ${v4} 192.0.2.10 timeout 60\nadd ${v6} 2001:db8::1 timeout 3600\n` },
    ]);
  });

  it('deletes entries before adding, in the same restore', async () => {
    const { calls, ipset } = fake();
    await ipset.addEntries([{ set: v4, address: '192.0.2.3', timeoutS: 60 }], [{ set: v4, address: '192.0.2.1' }]);
    expect(calls[0]!.input).toBe(`del ${v4} 192.0.2.1\nadd ${v4} 192.0.2.3 timeout 60\n`);
    await expect(ipset.addEntries([], [{ set: v4, address: '192.0.2.1\nflush' }])).rejects.toThrow(IpsetError);
  });

  it('refuses foreign names, bad or wrong-family addresses and permanent timeouts before running anything', async () => {
    const { calls, ipset } = fake();
    await expect(ipset.destroySets(['docker-set'])).rejects.toThrow(IpsetError);
    await expect(ipset.addEntries([{ set: `${v4}\nflush`, address: '192.0.2.1', timeoutS: 5 }])).rejects.toThrow(/refusing ipset name/);
    await expect(ipset.addEntries([{ set: v4, address: '192.0.2.1 timeout 0', timeoutS: 5 }])).rejects.toThrow(/not an IPv4 address/);
    await expect(ipset.addEntries([{ set: v4, address: '2001:db8::1', timeoutS: 5 }])).rejects.toThrow(/not an IPv4 address/);
    await expect(ipset.addEntries([{ set: v4, address: '192.0.2.1', timeoutS: 0 }])).rejects.toThrow(/timeout 0/);
    await expect(ipset.ensureSets([{ pattern: 'x.example.com', family: 6, name: v4 }])).rejects.toThrow(/family 6/);
    expect(calls).toEqual([]);
  });

  it('a failing ipset throws with its stderr', async () => {
    const { ipset } = fake('', 1);
    await expect(ipset.destroySets([v4])).rejects.toThrow(/set type not supported/);
  });

  it('lists moat-dns sets with members and remaining timeouts, ignoring others', async () => {
    const save = [
      `create ${v4} hash:ip family inet hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0xc66043e9`,
      `add ${v4} 192.0.2.5 timeout 0`,
      `add ${v4} 192.0.2.4 timeout 299`,
      'create operator-set hash:ip family inet hashsize 1024 maxelem 65536',
      'add operator-set 10.0.0.1',
      `create ${v6} hash:ip family inet6 hashsize 1024 maxelem 65536 timeout 0 bucketsize 12 initval 0xcbeabf14`,
      `add ${v6} 2001:db8::1 timeout 29`,
      '',
    ].join('\n');
    const { calls, ipset } = fake(save);
    expect(await ipset.listSets('moat-dns')).toEqual([
      {
        name: v4,
        family: 4,
        members: [
          { address: '192.0.2.5', timeoutS: 0 },
          { address: '192.0.2.4', timeoutS: 299 },
        ],
      },
      { name: v6, family: 6, members: [{ address: '2001:db8::1', timeoutS: 29 }] },
    ]);
    expect(calls[0]!.args).toEqual(['save']);
  });
});
