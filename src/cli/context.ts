// What most commands need: the config, Docker, and iptables per family.
import { ConfigFileError, DEFAULT_CONFIG_PATH, loadConfig } from '../adapters/config-file.js';
import { controlGet } from '../adapters/control-client.js';
import { dockerSource, type DockerSource } from '../adapters/docker.js';
import { execaRunner } from '../adapters/exec.js';
import { Iptables, type CommandRunner } from '../adapters/iptables.js';
import { PolicyDir } from '../adapters/policy-dir.js';
import { networkInterfaces } from 'node:os';
import type { Config } from '../core/config.js';
import type { Family } from '../core/model.js';
import type { PolicyRule } from '../core/policy-file.js';
import { computeDesired, type Desired } from '../core/desired.js';
import { type Learned, learnedFromStatus } from '../core/explain-dns.js';
import pino from 'pino';

export interface CliContext {
  readonly config: Config;
  readonly docker: DockerSource;
  readonly run: CommandRunner;
  readonly iptables: readonly Iptables[];
  /** Policy-file rules as moatd would load them (broken files reported on stderr). */
  readonly policyRules: readonly PolicyRule[];
}

export async function cliContext(configPath: string | undefined): Promise<CliContext> {
  let config: Config;
  try {
    config = await loadConfig(configPath ?? DEFAULT_CONFIG_PATH, configPath !== undefined);
  } catch (err) {
    fail(err instanceof ConfigFileError ? err.message : String(err));
  }
  const run = execaRunner();
  const iptables: Iptables[] = [new Iptables(run, 4)];
  if (config.ipv6 !== 'off') {
    const v6 = new Iptables(run, 6);
    if (await v6.available()) iptables.push(v6);
  }
  const policies = new PolicyDir(config.policyDir, pino({ level: 'warn' }, pino.destination(2)));
  await policies.load();
  return { config, docker: dockerSource(), run, iptables, policyRules: policies.rules() };
}

/** Prints the message and exits 1 (an error, as opposed to 2: "differs"/"invalid"). */
export function fail(message: string): never {
  process.stderr.write(`moat: ${message}\n`);
  process.exit(1);
}

/** The config alone (status, doctor): exits 1 with the reason when it is invalid. */
export async function cliConfig(configPath: string | undefined): Promise<Config> {
  try {
    return await loadConfig(configPath ?? DEFAULT_CONFIG_PATH, configPath !== undefined);
  } catch (err) {
    fail(err instanceof ConfigFileError ? err.message : String(err));
  }
}

/**
 * What explain, matrix and graph need: the policy computed from Docker
 * directly, as moatd would (no daemon, no iptables needed).
 */
export async function policyContext(configPath: string | undefined): Promise<{ config: Config; desired: Desired }> {
  const config = await cliConfig(configPath);
  const policies = new PolicyDir(config.policyDir, pino({ level: 'warn' }, pino.destination(2)));
  await policies.load();
  let lists;
  try {
    lists = await dockerSource().lists();
  } catch (err) {
    fail(`cannot list Docker (DOCKER_HOST=${process.env.DOCKER_HOST ?? 'unix:///var/run/docker.sock'}): ${String(err)}`);
  }
  const families: Family[] = config.ipv6 === 'off' ? [4] : [4, 6];
  return { config, desired: computeDesired(lists, config, families, policies.rules()) };
}

/**
 * moatd's learned dns: addresses, from its status document on the control socket, best effort: undefined
 * when moatd cannot be reached or does not say (explain then calls a verdict that depends on them unknown).
 */
export async function learnedAddresses(config: Config): Promise<Learned | undefined> {
  if (config.dns.listen === null) return new Map(); // dns: grants are off: nothing is learned, and nothing depends on it
  try {
    const res = await controlGet(config.control.socket, '/status', 2_000);
    return res.status === 200 ? (learnedFromStatus(JSON.parse(res.body)) ?? undefined) : undefined;
  } catch {
    return undefined;
  }
}

/** The host's own addresses (what `host` means in explain). */
export function hostAddresses(): string[] {
  return Object.values(networkInterfaces()).flatMap((list) => (list ?? []).map((a) => a.address.replace(/%.*$/, '')));
}
