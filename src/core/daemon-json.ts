// Edits /etc/docker/daemon.json as text so that every other key, the key
// order, the indentation and the trailing newline stay as the operator wrote
// them; every edit is checked by re-parsing before it is returned.

/** The Docker keys moat turns off: Docker then writes no firewall rules. */
export const DOCKER_FIREWALL_KEYS = ['iptables', 'ip6tables'] as const;
export type DockerFirewallKey = (typeof DOCKER_FIREWALL_KEYS)[number];

/** What a key held before moat changed it, so uninstall can put it back. */
export type PreviousValue = { readonly present: false } | { readonly present: true; readonly value: unknown };
export type PreviousValues = Readonly<Record<DockerFirewallKey, PreviousValue>>;

export type DaemonJsonResult<T> =
  ({ readonly ok: true; readonly text: string; readonly changed: boolean } & T) | { readonly ok: false; readonly error: string };

interface Member {
  readonly key: string;
  readonly keyStart: number;
  readonly valueStart: number;
  readonly valueEnd: number;
}

interface TopLevel {
  readonly open: number;
  readonly close: number;
  readonly members: readonly Member[];
}

/** `text` null or blank means the file does not exist yet. */
export function disableDockerFirewall(text: string | null): DaemonJsonResult<{ previous: PreviousValues }> {
  const source = text === null || text.trim() === '' ? '{}\n' : text;
  const parsed = parseObject(source);
  if (typeof parsed === 'string') return { ok: false, error: parsed };
  const previous = Object.fromEntries(
    DOCKER_FIREWALL_KEYS.map((k) => [k, Object.hasOwn(parsed, k) ? { present: true, value: parsed[k] } : { present: false }]),
  ) as unknown as PreviousValues;
  let out = source;
  for (const key of DOCKER_FIREWALL_KEYS) if (parsed[key] !== false) out = setMember(out, key, 'false');
  const expected = { ...parsed, iptables: false, ip6tables: false };
  return checked(out, expected, { previous, changed: out !== text });
}

/**
 * Puts back what `disableDockerFirewall` found. A key the operator changed
 * since (no longer `false`) is left alone and reported in `notes`.
 */
export function restoreDockerFirewall(text: string | null, previous: PreviousValues): DaemonJsonResult<{ notes: readonly string[] }> {
  if (text === null) return { ok: true, text: '', changed: false, notes: ['daemon.json no longer exists: nothing to restore'] };
  const parsed = parseObject(text);
  if (typeof parsed === 'string') return { ok: false, error: parsed };
  const expected: Record<string, unknown> = { ...parsed };
  const notes: string[] = [];
  let out = text;
  for (const key of DOCKER_FIREWALL_KEYS) {
    const before = previous[key];
    if (parsed[key] !== false) {
      notes.push(`"${key}" is ${Object.hasOwn(parsed, key) ? JSON.stringify(parsed[key]) : 'absent'} now, not the false moat set: left as it is`);
      continue;
    }
    if (before.present) {
      out = setMember(out, key, JSON.stringify(before.value));
      expected[key] = before.value;
    } else {
      out = deleteMember(out, key);
      delete expected[key];
    }
  }
  return checked(out, expected, { notes, changed: out !== text });
}

export function checked<T>(out: string, expected: Record<string, unknown>, extra: T & { changed: boolean }): DaemonJsonResult<T> {
  const again = parseObject(out);
  if (typeof again === 'string' || canonical(again) !== canonical(expected)) {
    return { ok: false, error: 'internal error: the edited daemon.json does not parse to the expected object; not writing it' };
  }
  return { ok: true, text: out, ...extra };
}

export function parseObject(text: string): Record<string, unknown> | string {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return `daemon.json is not valid JSON (${err instanceof Error ? err.message : String(err)}): fix it first; moat does not edit a file it cannot parse`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'daemon.json must hold a JSON object';
  return value as Record<string, unknown>;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    return `{${Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonical((value as Record<string, unknown>)[k])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

/** Replaces the value of every top-level `key` (Docker rejects duplicates anyway), or appends the key. */
export function setMember(text: string, key: string, valueText: string): string {
  const top = scan(text);
  const hits = top.members.filter((m) => m.key === key);
  if (hits.length > 0) {
    let out = text;
    for (const m of [...hits].reverse()) out = out.slice(0, m.valueStart) + valueText + out.slice(m.valueEnd);
    return out;
  }
  const member = `${JSON.stringify(key)}${separator(text, top)}${valueText}`;
  const last = top.members.at(-1);
  if (!last) return `${text.slice(0, top.open)}{\n  ${member}\n}${text.slice(top.close + 1)}`;
  const first = top.members[0]!;
  const lead = text.slice(top.open + 1, first.keyStart);
  const nl = lead.lastIndexOf('\n');
  const insert = nl === -1 ? `, ${member}` : `,\n${lead.slice(nl + 1)}${member}`;
  return text.slice(0, last.valueEnd) + insert + text.slice(last.valueEnd);
}

export function deleteMember(text: string, key: string): string {
  let out = text;
  for (;;) {
    const top = scan(out);
    const i = top.members.findIndex((m) => m.key === key);
    if (i === -1) return out;
    const m = top.members[i]!;
    if (top.members.length === 1) out = `${out.slice(0, top.open)}{}${out.slice(top.close + 1)}`;
    else if (i === top.members.length - 1) out = out.slice(0, top.members[i - 1]!.valueEnd) + out.slice(m.valueEnd);
    else out = out.slice(0, m.keyStart) + out.slice(top.members[i + 1]!.keyStart);
  }
}

/** How the file spells `"key": value` — copied from its first member. */
function separator(text: string, top: TopLevel): string {
  const first = top.members[0];
  if (!first) return ': ';
  const between = text.slice(first.keyStart, first.valueStart);
  const colon = between.lastIndexOf(':');
  return between.slice(colon).replace(/\n/g, '') || ': ';
}

/** Positions of the top-level members; `text` is known to be valid JSON holding an object. */
function scan(text: string): TopLevel {
  let i = 0;
  const ws = () => {
    while (i < text.length && /[\s\uFEFF]/.test(text[i]!)) i++;
  };
  const skipString = () => {
    i++;
    while (text[i] !== '"') i += text[i] === '\\' ? 2 : 1;
    i++;
  };
  const skipValue = () => {
    if (text[i] === '"') return skipString();
    if (text[i] === '{' || text[i] === '[') {
      let depth = 0;
      do {
        if (text[i] === '"') {
          skipString();
          continue;
        }
        if (text[i] === '{' || text[i] === '[') depth++;
        else if (text[i] === '}' || text[i] === ']') depth--;
        i++;
      } while (depth > 0);
      return;
    }
    while (i < text.length && !/[\s,}\]]/.test(text[i]!)) i++;
  };
  ws();
  const open = i;
  i++;
  const members: Member[] = [];
  for (;;) {
    ws();
    if (text[i] === '}') return { open, close: i, members };
    if (text[i] === ',') {
      i++;
      continue;
    }
    const keyStart = i;
    skipString();
    const key = JSON.parse(text.slice(keyStart, i)) as string;
    ws();
    i++; // ':'
    ws();
    const valueStart = i;
    skipValue();
    members.push({ key, keyStart, valueStart, valueEnd: i });
  }
}
