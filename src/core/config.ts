// The config contract (docs/policy.md#config): every key optional, unknown keys rejected
// with their path, values validated before moatd touches anything.
import ipaddr from 'ipaddr.js';
import { z } from 'zod';
import { parseAddress, parseCidr } from './addr.js';

export const DEFAULT_PROTECTED = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '169.254.0.0/16', 'fc00::/7', 'fe80::/10'] as const;

/** A DNS upstream, `IP`, `IP:PORT` or `[IPv6]:PORT` (port 53 when none is given); null when it is none of them. */
export function parseDnsUpstream(text: string): { address: string; family: 4 | 6; port: number } | null {
  const m = /^\[([^\]]+)\]:(\d{1,5})$/.exec(text) ?? /^([0-9.]+):(\d{1,5})$/.exec(text);
  const addr = parseAddress(m ? m[1]! : text);
  const port = m ? Number(m[2]) : 53;
  if (!addr || port < 1 || port > 65535 || (m && text.startsWith('[') !== (addr.family === 6))) return null;
  return { address: addr.text, family: addr.family, port };
}

/** Why `text` cannot be dns.listen, or null when it can: Docker's containers reach it through their gateway, never a loopback address. */
function listenProblem(text: string): string | null {
  const addr = parseAddress(text);
  if (!addr) return `not an IPv4 or IPv6 address (no port: Docker's "dns" takes addresses, port 53 is fixed): ${JSON.stringify(text)}`;
  const range = ipaddr.parse(addr.text).range();
  if (range === 'loopback')
    return `${addr.text} is a loopback address: queries from containers never arrive there; use a host address they reach through their gateway (e.g. one on lo, not in 127.0.0.0/8)`;
  if (range === 'unspecified') return `${addr.text} is the unspecified address: Docker needs one address to send queries to`;
  if (range === 'multicast' || range === 'broadcast') return `${addr.text} is a ${range} address`;
  return null;
}

const dnsSchema = z
  .strictObject({
    // The address Docker's embedded resolver forwards to (daemon.json "dns"); null: dns: grants off.
    listen: z.string().nullable().default(null),
    upstream: z
      .array(z.string().refine((s) => parseDnsUpstream(s) !== null, { error: (iss) => `not IP, IP:PORT or [IPv6]:PORT: ${JSON.stringify(iss.input)}` }))
      .max(16)
      .default([]),
    ttlFloorS: z.number().int().min(0).max(86_400).default(60),
    ttlCeilingS: z.number().int().min(1).max(604_800).default(86_400),
    stateFile: z.string().min(1).default('/var/lib/moat/dns-learned.json'),
  })
  .superRefine((dns, ctx) => {
    if (dns.listen !== null) {
      const problem = listenProblem(dns.listen);
      if (problem !== null) ctx.addIssue({ code: 'custom', path: ['listen'], message: problem });
    }
    if (dns.ttlCeilingS < dns.ttlFloorS) {
      ctx.addIssue({ code: 'custom', path: ['ttlCeilingS'], message: `must be at least dns.ttlFloorS (${dns.ttlFloorS}), is ${dns.ttlCeilingS}` });
    }
    const listen = dns.listen === null ? null : parseAddress(dns.listen);
    dns.upstream.forEach((u, i) => {
      const up = parseDnsUpstream(u);
      if (listen && up && up.address === listen.text && up.port === 53) {
        ctx.addIssue({ code: 'custom', path: ['upstream', i], message: `${JSON.stringify(u)} is dns.listen itself: the forwarder would ask itself` });
      }
    });
  });

const cidr = z.string().refine((s) => parseCidr(s) !== null, { error: (iss) => `not an IPv4/IPv6 address or CIDR: ${JSON.stringify(iss.input)}` });

export const ConfigSchema = z.strictObject({
  labelPrefix: z
    .string()
    .regex(/^[a-z0-9]([a-z0-9._-]{0,62}[a-z0-9])?$/, 'lower-case letters, digits, ".", "_" or "-"')
    .default('moat'),
  protectedNetworks: z
    .array(cidr)
    .max(4096)
    .default([...DEFAULT_PROTECTED]),
  defaultEgress: z.enum(['world', 'none']).default('world'),
  published: z.enum(['open', 'labelled']).default('open'),
  publishMode: z.enum(['proxy', 'dnat']).default('proxy'),
  hostToContainers: z.enum(['allow', 'deny']).default('allow'),
  // Masquerade the default bridge (docker0), as Docker's own firewall does by
  // default. The engine cannot say: with "iptables": false it reports
  // enable_ip_masquerade=false for docker0 whatever "ip-masq" says.
  defaultBridgeNat: z.boolean().default(true),
  denyAction: z.enum(['reject', 'drop']).default('reject'),
  logDenied: z.boolean().default(false),
  ipv6: z.enum(['auto', 'on', 'off']).default('auto'),
  reconcile: z
    .strictObject({
      resyncIntervalS: z.number().int().min(1).max(86_400).default(60),
      // Removed: grants no longer wait during bursts (group commit). Accepted
      // and ignored so that an older config still loads; see deprecations().
      burstHoldMs: z.number().int().min(0).max(10_000).optional(),
    })
    .prefault({}),
  policyDir: z.string().min(1).default('/etc/moat/policy.d'),
  // Interface names (iptables patterns, `+` = any suffix) of Docker bridges:
  // one moat does not know yet is denied, and `moat lockdown` denies them all.
  // Add the names you give with com.docker.network.bridge.name.
  dockerBridges: z
    .array(z.string().regex(/^[A-Za-z0-9_.-]{1,14}\+?$|^[A-Za-z0-9_.-]{15}$/, 'an interface name, optionally ending in +'))
    .min(1)
    .max(256)
    .default(['br-+', 'docker0']),
  log: z.strictObject({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).prefault({}),
  control: z.strictObject({ socket: z.string().min(1).default('/run/moat/moat.sock') }).prefault({}),
  metrics: z
    .strictObject({
      listen: z
        .string()
        .regex(/^(\[[0-9a-fA-F:.]+\]|[0-9.]+|localhost):\d{1,5}$/, 'HOST:PORT')
        .nullable()
        .default(null),
    })
    .prefault({}),
  dns: dnsSchema.prefault({}),
});

export type Config = z.infer<typeof ConfigSchema>;

export interface ConfigError {
  readonly path: string;
  readonly message: string;
}

/** Validates a parsed YAML document; never throws. */
export function parseConfig(doc: unknown): { config: Config; errors: readonly [] } | { config: null; errors: readonly ConfigError[] } {
  const result = ConfigSchema.safeParse(doc ?? {});
  if (result.success) return { config: result.data, errors: [] };
  const errors = result.error.issues.flatMap((issue): ConfigError[] => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: base ? `${base}.${key}` : key, message: 'unknown key' }));
    }
    return [{ path: base || '(root)', message: issue.message }];
  });
  return { config: null, errors };
}

export const DEFAULT_CONFIG: Config = ConfigSchema.parse({});

/** Keys a valid config may still hold that no longer do anything: each with what replaced it. */
export function deprecations(config: Config): string[] {
  const out: string[] = [];
  if (config.reconcile.burstHoldMs !== undefined) {
    out.push(
      'reconcile.burstHoldMs is ignored: grants no longer wait during bursts (what arrives during a commit goes into the next one, and a gated start waits only for the commit that holds it); remove the key',
    );
  }
  return out;
}
