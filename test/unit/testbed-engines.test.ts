// The test bed's engine choice and dockerd command line per engine line
// (the bed itself is proven on each engine by test/integration/testbed.test.ts).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { dockerdArgs } from '../integration/testbed/dockerd-args.js';
import { chosenEngine, engineLine } from '../integration/testbed/engine-choice.js';

const cache = mkdtempSync(join(tmpdir(), 'moat-engines-'));
afterAll(() => rmSync(cache, { recursive: true, force: true }));
const unpack = (version: string) => {
  mkdirSync(join(cache, version), { recursive: true });
  writeFileSync(join(cache, version, '.complete'), 'docker.io.deb\n');
};

describe('engine choice (MOAT_ENGINE)', () => {
  it('defaults to the system 20.10 until 28.5 is unpacked, then to 28.5', () => {
    expect(chosenEngine({}, cache)).toEqual({ version: '20.10', dockerd: 'dockerd', pathDirs: [] });
    unpack('28.5');
    expect(chosenEngine({}, cache)).toEqual({
      version: '28.5',
      dockerd: join(cache, '28.5/usr/sbin/dockerd'),
      pathDirs: [join(cache, '28.5/usr/sbin'), join(cache, '28.5/usr/bin')],
    });
    expect(chosenEngine({ MOAT_ENGINE: '20.10' }, cache).version).toBe('20.10');
  });

  it('refuses an unknown engine and one that is not unpacked, saying how to get it', () => {
    expect(() => chosenEngine({ MOAT_ENGINE: '27.0' }, cache)).toThrow(/expected one of 20\.10, 26\.1, 28\.5/);
    expect(() => chosenEngine({ MOAT_ENGINE: '26.1' }, cache)).toThrow(/scripts\/fetch-engines\.sh/);
    unpack('26.1');
    expect(chosenEngine({ MOAT_ENGINE: '26.1' }, cache).dockerd).toBe(join(cache, '26.1/usr/sbin/dockerd'));
  });

  it('reads the engine line from a ServerVersion', () => {
    expect(engineLine('28.5.2+dfsg4')).toBe('28.5');
    expect(engineLine('20.10.24+dfsg1')).toBe('20.10');
  });
});

describe('dockerd command line per engine', () => {
  const e = (version: '20.10' | '26.1' | '28.5') => ({ version, dockerd: `/e/${version}/dockerd` });

  it('always says --ip6tables=false: from 27.0 on it defaults to true even with --iptables=false', () => {
    for (const v of ['20.10', '26.1', '28.5'] as const) {
      const args = dockerdArgs('/d', 'n', {}, e(v));
      expect(args[0]).toBe(`/e/${v}/dockerd`);
      expect(args).toContain('--iptables=false');
      expect(args).toContain('--ip6tables=false');
      expect(args).not.toContain('--experimental');
    }
  });

  it('adds --experimental for ip6tables only before 27.0, where it is experimental', () => {
    expect(dockerdArgs('/d', 'n', { ip6tables: true }, e('20.10'))).toContain('--experimental');
    expect(dockerdArgs('/d', 'n', { ip6tables: true }, e('26.1'))).toContain('--experimental');
    expect(dockerdArgs('/d', 'n', { ip6tables: true }, e('28.5'))).not.toContain('--experimental');
  });
});

describe('dockerd command line: the engine default for ip6tables', () => {
  it('passes no --ip6tables flag when asked for the engine default (null)', () => {
    const args = dockerdArgs('/d', 'n', { ip6tables: null }, { version: '28.5', dockerd: 'dockerd' });
    expect(args.filter((a) => a.startsWith('--ip6tables'))).toEqual([]);
    expect(args).toContain('--iptables=false');
  });
});
