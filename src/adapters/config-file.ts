// Reads and validates the YAML config file; errors carry the key path.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import { type Config, DEFAULT_CONFIG, parseConfig } from '../core/config.js';

export const DEFAULT_CONFIG_PATH = '/etc/moat/config.yaml';

export class ConfigFileError extends Error {
  override name = 'ConfigFileError';
  constructor(
    readonly path: string,
    readonly problems: readonly string[],
  ) {
    super(`${path}: invalid config\n${problems.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** Loads `path`; a missing file is only fine for the default path (every key has a default). */
export async function loadConfig(path: string, explicit: boolean): Promise<Config> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    if (!explicit && (err as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_CONFIG;
    throw new ConfigFileError(path, [`cannot read: ${(err as Error).message}`]);
  }
  return parseConfigText(text, path);
}

export function parseConfigText(text: string, path: string): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ConfigFileError(
      path,
      doc.errors.map((e) => `YAML ${e.linePos?.[0] ? `line ${e.linePos[0].line}, column ${e.linePos[0].col}` : ''}: ${e.message.split('\n')[0]}`),
    );
  }
  let raw: unknown;
  try {
    // Expanding aliases can throw (an alias bomb): that is a bad file too, not a crash.
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    throw new ConfigFileError(path, [`YAML: ${(err as Error).message}`]);
  }
  const { config, errors } = parseConfig(raw);
  if (!config)
    throw new ConfigFileError(
      path,
      errors.map((e) => `${e.path}: ${e.message}`),
    );
  return config;
}
