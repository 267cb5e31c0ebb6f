import { describe, expect, it } from 'vitest';
import { ConfigFileError, parseConfigText } from './config-file.js';

const fails = (text: string) => {
  try {
    parseConfigText(text, '/etc/moat/config.yaml');
  } catch (err) {
    return err;
  }
  throw new Error('accepted');
};

describe('parseConfigText', () => {
  it('rejects an alias bomb as a bad file, with its path, instead of throwing something else', () => {
    const level = (name: string, of: string) => `${name}: &${name} [${Array(10).fill(`*${of}`).join(', ')}]`;
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x, x]', level('b', 'a'), level('c', 'b'), level('d', 'c'), level('e', 'd')].join('\n');
    const err = fails(bomb);
    expect(err).toBeInstanceOf(ConfigFileError);
    expect((err as ConfigFileError).message).toMatch(/^\/etc\/moat\/config\.yaml: invalid config\n {2}- YAML: .*alias/);
  });

  it('names the line and column of a YAML syntax error, and the path of every bad key', () => {
    expect((fails('reconcile: { resyncIntervalS: 5\nlabelPrefix: moat\n') as Error).message).toMatch(/YAML line 2, column 1/);
    const message = (fails('bogus: 1\nprotectedNetworks: [10.0.0.0/33]\n') as Error).message;
    expect(message).toContain('bogus: unknown key');
    expect(message).toContain('protectedNetworks.0: not an IPv4/IPv6 address or CIDR: "10.0.0.0/33"');
  });
});
