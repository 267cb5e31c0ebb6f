// Reading Docker's settings as dockerd sees them: its command-line flags,
// then the keys of its daemon.json.

/** A dockerd boolean flag: `--name`, `--name=true|false`; null when absent. */
export function boolFlag(args: readonly string[] | null, name: string): boolean | null {
  if (!args) return null;
  let value: boolean | null = null;
  for (const a of args) {
    if (a === `--${name}`) value = true;
    const m = new RegExp(`^--${name}=(true|false|1|0)$`).exec(a);
    if (m) value = m[1] === 'true' || m[1] === '1';
  }
  return value;
}

/** The value of `--name=VALUE` or `--name VALUE`; null when absent. */
export function flagValue(args: readonly string[] | null, name: string): string | null {
  if (!args) return null;
  let value: string | null = null;
  args.forEach((a, i) => {
    if (a.startsWith(`--${name}=`)) value = a.slice(name.length + 3);
    else if (a === `--${name}` && args[i + 1] !== undefined) value = args[i + 1]!;
  });
  return value;
}

/** daemon.json's top-level keys; a string saying why when it is not a JSON object. */
export function daemonJsonKeys(text: string | null): Record<string, unknown> | string {
  if (text === null || text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : 'not a JSON object';
  } catch (err) {
    return `not valid JSON (${String(err).slice(0, 120)})`;
  }
}

/** A boolean setting: its dockerd flag, else its daemon.json key; null when neither sets it. */
export function dockerdBool(args: readonly string[] | null, json: Record<string, unknown> | string, name: string): boolean | null {
  return boolFlag(args, name) ?? (typeof json === 'object' && typeof json[name] === 'boolean' ? (json[name] as boolean) : null);
}
