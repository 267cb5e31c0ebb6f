// Which Docker engine the test bed runs, chosen per run by MOAT_ENGINE:
// 20.10 is the system's docker.io (bookworm); 26.1 and 28.5 are Debian's
// trixie and sid packages that scripts/fetch-engines.sh unpacked (not
// installed) under /var/cache/moat-engines/<version>. Their usr/sbin and
// usr/bin come first on dockerd's PATH, so dockerd starts its own
// containerd, shim and docker-proxy; runc is the system's.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { TESTED_ENGINES, type TestedEngine } from '../../../src/core/engines.js';

/** The engines moat claims to be tested on are exactly those the bed runs. */
export const ENGINE_VERSIONS = TESTED_ENGINES;
export type EngineVersion = TestedEngine;

export interface EngineChoice {
  readonly version: EngineVersion;
  /** dockerd to run: an absolute path for a fetched engine, `dockerd` (system PATH) for 20.10. */
  readonly dockerd: string;
  /** Prepended to dockerd's PATH; empty for the system engine. */
  readonly pathDirs: readonly string[];
}

export const ENGINES_DIR = process.env.MOAT_ENGINES_DIR ?? '/var/cache/moat-engines';

const fetched = (version: EngineVersion, dir: string) => existsSync(join(dir, version, '.complete'));

export function engineChoice(version: EngineVersion, dir = ENGINES_DIR): EngineChoice {
  if (version === '20.10') return { version, dockerd: 'dockerd', pathDirs: [] };
  if (!fetched(version, dir)) throw new Error(`engine ${version} is not unpacked in ${join(dir, version)}: run scripts/fetch-engines.sh (as root)`);
  const root = join(dir, version);
  return { version, dockerd: join(root, 'usr/sbin/dockerd'), pathDirs: [join(root, 'usr/sbin'), join(root, 'usr/bin')] };
}

/** MOAT_ENGINE, else 28.5 when it is unpacked, else the system's 20.10. */
export function chosenEngine(env: NodeJS.ProcessEnv = process.env, dir = ENGINES_DIR): EngineChoice {
  const asked = env.MOAT_ENGINE;
  if (asked === undefined || asked === '') return engineChoice(fetched('28.5', dir) ? '28.5' : '20.10', dir);
  const version = ENGINE_VERSIONS.find((v) => v === asked);
  if (!version) throw new Error(`MOAT_ENGINE=${asked}: expected one of ${ENGINE_VERSIONS.join(', ')}`);
  return engineChoice(version, dir);
}

export { engineLine } from '../../../src/core/engines.js';
