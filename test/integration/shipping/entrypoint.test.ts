// The image's entrypoint (scripts/docker-entrypoint.sh) picks the iptables
// backend the host uses. Here it runs on this machine with fake
// iptables-{nft,legacy}-save tools and a fake moatd on PATH, so no firewall
// is read or changed.
import { execa } from 'execa';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ownPackageRoot } from '../../../src/adapters/install-package.js';

const entrypoint = join(ownPackageRoot(), 'scripts/docker-entrypoint.sh');

interface Backend {
  /** Lines iptables-save prints (IPv4; IPv6 prints none); null = the tool fails. */
  readonly save: string | null;
}

describe('docker-entrypoint.sh', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'moat-entry-'));
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  async function tool(name: string, body: string) {
    await writeFile(join(dir, name), `#!/bin/sh\n${body}\n`);
    await chmod(join(dir, name), 0o755);
  }

  /** Runs the entrypoint; the fake moatd prints its args and where iptables-save leads. */
  async function run(backends: { nft: Backend; legacy: Backend }, args: string[] = [], env: Record<string, string> = {}) {
    for (const [name, b] of Object.entries(backends)) {
      for (const fam of ['iptables', 'ip6tables']) {
        const save = fam === 'iptables' && b.save !== null ? `cat <<'EOF'\n${b.save}\nEOF` : b.save === null ? 'exit 1' : 'exit 0';
        await tool(`${fam}-${name}-save`, save);
        await tool(`${fam}-${name}-restore`, 'exit 0');
        await tool(`${fam}-${name}`, 'exit 0');
      }
    }
    await tool('moatd', 'echo "moatd $*"; readlink "$(command -v iptables-save)"; readlink "$(command -v ip6tables-restore)"');
    return execa('sh', [entrypoint, ...args], { reject: false, env: { PATH: `${dir}:/usr/bin:/bin`, TMPDIR: dir, ...env } });
  }

  const rules = (n: number, chain = 'FORWARD') =>
    ['*filter', `:${chain} ACCEPT [0:0]`, ...Array.from({ length: n }, (_, i) => `-A ${chain} -s 10.0.${i}.0/24 -j ACCEPT`), 'COMMIT'].join('\n');

  it('picks the backend holding more rules (legacy), and says so on stderr', async () => {
    const res = await run({ nft: { save: rules(1) }, legacy: { save: rules(5) } }, ['--config', '/etc/moat/config.yaml']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(res.stdout.split('\n')).toEqual(['moatd --config /etc/moat/config.yaml', join(dir, 'iptables-legacy-save'), join(dir, 'ip6tables-legacy-restore')]);
    expect(res.stderr).toMatch(/using iptables-legacy: the host's rules are there \(legacy 5 lines, nft 1\)/);
  });

  it('picks nft when it holds more rules', async () => {
    const res = await run({ nft: { save: rules(3) }, legacy: { save: rules(0) } });
    expect(res.stdout.split('\n')[1]).toBe(join(dir, 'iptables-nft-save'));
  });

  it("follows moat's own chains (left by moat lockdown) over a mere count", async () => {
    const res = await run({ nft: { save: rules(1, 'MOAT-FORWARD') }, legacy: { save: rules(9) } });
    expect(res.stdout.split('\n')[1]).toBe(join(dir, 'iptables-nft-save'));
    expect(res.stderr).toContain("moat's chains are in nft");
  });

  it('defaults to nft on an empty host, and to legacy when nft does not work', async () => {
    expect((await run({ nft: { save: '' }, legacy: { save: '' } })).stdout.split('\n')[1]).toBe(join(dir, 'iptables-nft-save'));
    const res = await run({ nft: { save: null }, legacy: { save: '' } });
    expect(res.stdout.split('\n')[1]).toBe(join(dir, 'iptables-legacy-save'));
    expect(res.stderr).toContain('iptables-nft does not work here');
  });

  it('honours MOAT_IPTABLES_BACKEND and rejects a bad value', async () => {
    const res = await run({ nft: { save: rules(5) }, legacy: { save: '' } }, [], { MOAT_IPTABLES_BACKEND: 'legacy' });
    expect(res.stdout.split('\n')[1]).toBe(join(dir, 'iptables-legacy-save'));
    const bad = await run({ nft: { save: '' }, legacy: { save: '' } }, [], { MOAT_IPTABLES_BACKEND: 'ebpf' });
    expect(bad.exitCode).toBe(2);
  });

  it('runs another command (e.g. moat plan) with the same PATH when given one', async () => {
    await tool('moat', 'echo "moat $*"; readlink "$(command -v iptables-restore)"');
    const res = await run({ nft: { save: rules(2) }, legacy: { save: '' } }, ['moat', 'plan']);
    expect(res.stdout.split('\n')).toEqual(['moat plan', join(dir, 'iptables-nft-restore')]);
  });
});
