// The Docker engines moat is tested on (CI runs the integration tests on
// each: scripts/test-integration.sh), and the engine-dependent defaults
// `moat doctor` needs to judge a daemon.json.

/** Major.minor lines, oldest first; Debian bookworm, trixie and sid packages. */
export const TESTED_ENGINES = ['20.10', '26.1', '28.5'] as const;
export type TestedEngine = (typeof TESTED_ENGINES)[number];

/** `28.5.2+dfsg4` -> `28.5`; null when it is not a version. */
export function engineLine(version: string | undefined): string | null {
  const m = /^(\d+)\.(\d+)(?:\.|$|[+-])/.exec(version ?? '');
  return m ? `${Number(m[1])}.${Number(m[2])}` : null;
}

export function engineMajor(version: string | undefined): number | null {
  const line = engineLine(version);
  return line === null ? null : Number(line.split('.')[0]);
}

export function isTestedEngine(version: string | undefined): boolean {
  const line = engineLine(version);
  return TESTED_ENGINES.some((t) => t === line);
}
