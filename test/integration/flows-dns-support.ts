// What flows-dns*.test.ts share: the zone the bed's DNS server answers, the
// moatd config (defaultEgress none, so world is closed and every opening to
// it is a dns: grant's doing), probes by name (one lookup and one connection
// in one busybox wget, no retry) and the dns part of moatd's status document.
import { expect } from 'vitest';
import type { DnsStatus } from '../../src/runtime/dns-status.js';
import { moatJson } from './cli-support.js';
import { startFlowsMoatd } from './flows-cases.js';
import type { Bed } from './testbed/bed.js';
import type { Case } from './testbed/check.js';
import { WORLD_SERVERS } from './testbed/dns-bed.js';
import type { DnsZone } from './testbed/dns-zone.js';
import type { Moatd } from './testbed/moatd.js';
import { containerSource, probe, type ProbeResult } from './testbed/probe.js';
import type { ServerContainer } from './testbed/server-container.js';

export const [S1, S2] = WORLD_SERVERS;
/** The port the grants name (world's httpd serves it and 80 on both servers). */
export const PORT = 443;

/** Records by name: address-only records with a TTL each. */
export const zoneOf = (
  records: Record<string, readonly [type: 'A' | 'AAAA' | 'CNAME', value: string, ttl?: number][]>,
  extra: Partial<DnsZone> = {},
): DnsZone => ({
  records: Object.fromEntries(Object.entries(records).map(([name, rs]) => [name, rs.map(([type, value, ttl = 300]) => ({ type, value, ttl }))])),
  ...extra,
});

/** The dns part of moatd's status document (docs/cli.md), as moatd itself types it. */
export type { DnsStatus } from '../../src/runtime/dns-status.js';

/**
 * A probe case from the container `name` of `containers` to ADDRESS:PORT (closed unless said);
 * `bed` is read when the case is built, after the suite's beforeAll made it.
 */
export const caseTo =
  (bed: () => Bed, containers: Readonly<Record<string, ServerContainer>>) =>
  (name: string, address: string, port = PORT, state: Case['state'] = 'closed'): Case => ({
    name: `${name} -> ${address}:${port}`,
    from: containerSource(bed().engine.docker, containers[name]!.id, name),
    to: address,
    port,
    state,
  });

export const configPath = (bed: Bed) => `${bed.dir}/config.yaml`;

/** moatd on the DNS bed: flows config, defaultEgress none, debug log (dns_learned lines), the bed's dns key. */
export function startDnsMoatd(bed: Bed): Promise<Moatd> {
  if (!bed.dns) throw new Error('the bed was made without dns');
  return startFlowsMoatd(bed, `defaultEgress: none\nlog: { level: debug }\n${bed.dns.config}\n`);
}

/** `moat status --json`'s dns part. */
export async function dnsStatus(bed: Bed): Promise<DnsStatus> {
  const { exitCode, json, stderr } = await moatJson<{ dns?: DnsStatus }>(bed, ['status', '--config', configPath(bed)]);
  expect(exitCode, stderr).toBe(0);
  if (!json.dns) throw new Error(`moat status --json has no dns part: ${JSON.stringify(json).slice(0, 500)}`);
  return json.dns;
}

/** The learned entries of one grant pattern, as `address name`. */
export const learnedOf = (s: DnsStatus, pattern: string) =>
  (s.grants.find((g) => g.pattern === pattern)?.learned ?? []).map((l) => `${l.address} ${l.name}`).sort();

export interface ByName {
  readonly name: string;
  readonly result: ProbeResult;
}

/**
 * From `from`: `wget http://NAME:PORT/cgi-bin/ip` under a 3 s timeout. busybox wget resolves
 * the name (Docker's resolver -> moat's forwarder -> the world server) and connects once at
 * once to the first address: the container's first connection after its lookup.
 */
export async function byName(bed: Bed, from: ServerContainer, name: string, port = PORT): Promise<ProbeResult> {
  return probe(containerSource(bed.engine.docker, from.id, from.name), name, port, { timeoutS: 3 });
}

/** Verdict lines for one assertion over a table, as check() does. */
export const verdicts = (rows: readonly (readonly [label: string, r: ProbeResult])[]) =>
  rows.map(([label, r]) => `${label}: ${r.state}${r.state === 'closed' ? ` ${r.reason}` : ''}`);
