// The lexical layer under labels.ts's grammar: splitting a value into
// entries, its UTF-8 size bound, the characters an entry may hold, and the
// log-safe quoting of hostile text in problem reports. Linear, no regexes on
// unbounded input.

const MAX_QUOTED_CHARS = 64;

function isSeparator(c: number): boolean {
  // ',' space \t \n \v \f \r
  return c === 0x2c || c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/** Splits on separators, stopping once `limit` tokens are found. */
export function split(value: string, limit: number): string[] {
  const out: string[] = [];
  let start = -1;
  for (let i = 0; i <= value.length && out.length < limit; i++) {
    const sep = i === value.length || isSeparator(value.charCodeAt(i));
    if (sep && start >= 0) {
      out.push(value.slice(start, i));
      start = -1;
    } else if (!sep && start < 0) start = i;
  }
  return out;
}

/** True when the UTF-8 encoding of `s` is longer than `limit` bytes (stops counting there). */
export function utf8Exceeds(s: string, limit: number): boolean {
  if (s.length > limit) return true;
  if (s.length * 3 <= limit) return false;
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      bytes += 4;
      i++;
    } else bytes += 3;
    if (bytes > limit) return true;
  }
  return false;
}

function isEntryChar(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || // 0-9
    (c >= 0x41 && c <= 0x5a) || // A-Z
    (c >= 0x61 && c <= 0x7a) || // a-z
    c === 0x5f ||
    c === 0x2e ||
    c === 0x2d ||
    c === 0x3a ||
    c === 0x2f ||
    c === 0x5b ||
    c === 0x5d // _ . - : / [ ]
  );
}

/**
 * The first character an entry may not hold, quoted with its code point; null when there is none.
 * `star`: '*' is allowed too (only a `dns:` entry has it, in its `*.SUFFIX` pattern).
 */
export function firstBadChar(s: string, star = false): string | null {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isEntryChar(c) || (star && c === 0x2a)) continue;
    const cp = s.codePointAt(i) ?? 0;
    const hex = cp.toString(16).toUpperCase().padStart(4, '0');
    return `${q(String.fromCodePoint(cp))} (U+${hex})`;
  }
  return null;
}

/** Two ':' never occur outside brackets, net: and dns:, so hex-and-colons is an unbracketed IPv6 address. */
export function looksLikeBareIpv6(s: string): boolean {
  const first = s.indexOf(':');
  if (first < 0 || s.indexOf(':', first + 1) < 0) return false;
  return s.includes('::') || /^[0-9a-fA-F]{1,4}$/.test(s.slice(0, first));
}

/** How a container, service or network name is written, for a problem reason. */
export function nameRule(max: number): string {
  return `a letter or digit, then letters, digits, '_', '.' or '-', at most ${max} characters`;
}

/** Quoted for a problem reason, log-safe and clipped. */
export function q(s: string): string {
  return `'${clip(s, MAX_QUOTED_CHARS)}'`;
}

/**
 * Log-safe copy: printable ASCII stays, '\' and everything else (control,
 * bidi, line separators, non-ASCII) becomes \xNN or \uNNNN; at most `max` characters.
 */
export function clip(s: string, max: number): string {
  const mark = '...';
  let out = '';
  let cut = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out +=
      c === 0x5c
        ? '\\\\'
        : c >= 0x20 && c < 0x7f
          ? String.fromCharCode(c)
          : c < 0x100
            ? `\\x${c.toString(16).padStart(2, '0')}`
            : `\\u${c.toString(16).padStart(4, '0')}`;
    if (out.length > max) return out.slice(0, cut) + mark;
    if (out.length <= max - mark.length) cut = out.length;
  }
  return out;
}
