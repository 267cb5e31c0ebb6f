// The unit files shipped in systemd/ name /usr/local/bin; an install into
// another prefix points their Exec lines there instead.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';

const SHIPPED_BIN = '/usr/local/bin/';

/** Rewrites `/usr/local/bin/` on Exec*= lines to PREFIX/bin/. */
export function renderUnit(template: string, prefix: string): string {
  const bin = `${prefix.replace(/\/+$/, '')}/bin/`;
  return template
    .split('\n')
    .map((line) => (/^Exec[A-Za-z]*=/.test(line) ? line.split(SHIPPED_BIN).join(bin) : line))
    .join('\n');
}

export async function readUnitTemplate(packageRoot: string, name: string): Promise<string> {
  return readFile(join(packageRoot, 'systemd', name), 'utf8');
}
