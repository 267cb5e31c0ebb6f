import { describe, expect, it } from 'vitest';
import { ConfigSchema } from './config.js';
import { dnsChecks } from './doctor-dns.js';
import type { DoctorFacts } from './doctor-facts.js';

const on = ConfigSchema.parse({ dns: { listen: '198.51.100.53' } });
const facts = (daemonJson: string | null, dockerdArgs: readonly string[] = ['-H', 'fd://']): DoctorFacts =>
  ({ dockerdArgs, daemonJson: { path: '/etc/docker/daemon.json', text: daemonJson } }) as unknown as DoctorFacts;
const one = (f: DoctorFacts) => {
  const checks = dnsChecks(f, on);
  expect(checks).toHaveLength(1);
  return checks[0]!;
};

describe('dnsChecks', () => {
  it('has no check when dns: grants are off', () => {
    expect(dnsChecks(facts('{}'), ConfigSchema.parse({}))).toEqual([]);
  });

  it('passes when daemon.json sends every query to dns.listen', () => {
    expect(one(facts('{"iptables": false, "dns": ["198.51.100.53"]}'))).toMatchObject({ id: 'dns-forwarder', status: 'pass', fix: null });
  });

  it('fails when Docker asks another server, or none, or its config cannot be read', () => {
    expect(one(facts('{"dns": ["192.0.2.1"]}'))).toMatchObject({
      status: 'fail',
      detail: expect.stringMatching(/"dns" is 192\.0\.2\.1, not 198\.51\.100\.53/),
      fix: expect.stringContaining('moat install --configure-docker'),
    });
    expect(one(facts('{"iptables": false}'))).toMatchObject({ status: 'fail', detail: expect.stringContaining("host's resolv.conf") });
    expect(one(facts(null))).toMatchObject({ status: 'fail' });
    expect(one(facts('{"dns": "198.51.100.53"}'))).toMatchObject({ status: 'fail', detail: expect.stringContaining('not a list') });
    expect(one(facts('{nope'))).toMatchObject({ status: 'fail', detail: expect.stringContaining('not valid JSON') });
  });

  it("reads dockerd's --dns flags first: they win over daemon.json", () => {
    expect(one(facts('{"dns": ["198.51.100.53"]}', ['--dns', '192.0.2.1']))).toMatchObject({ status: 'fail', detail: expect.stringContaining('--dns flags') });
    expect(one(facts('{}', ['--dns=198.51.100.53']))).toMatchObject({ status: 'pass' });
  });

  it('warns when other servers stand beside the forwarder', () => {
    expect(one(facts('{"dns": ["198.51.100.53", "192.0.2.1"]}'))).toMatchObject({ status: 'warn', fix: expect.stringContaining('keep only 198.51.100.53') });
  });
});
