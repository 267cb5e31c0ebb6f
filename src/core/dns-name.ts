// RUNTIME's throw-away copy of CORE's src/core/dns-name.ts (issue 13 contract):
// the same exports and signatures, so the runtime builds before CORE merges.
// The lead keeps CORE's version of this file.

const LABEL = /^[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?$/;

export interface DnsSet {
  readonly pattern: string;
  readonly family: 4 | 6;
  readonly name: string;
}

function hostLabels(text: string): string[] | string {
  const name = text.toLowerCase().replace(/\.$/, '');
  if (name.length === 0) return 'empty name';
  if (name.length > 253) return 'name longer than 253 characters';
  const labels = name.split('.');
  for (const l of labels) {
    if (l.length === 0) return 'empty label';
    if (l.length > 63) return 'label longer than 63 characters';
    if (!LABEL.test(l)) return `label ${JSON.stringify(l)} is not [a-z0-9_-] (no leading or trailing '-')`;
  }
  return labels;
}

/** `text` is what follows `dns:`; the pattern is canonical. */
export function parseDnsName(text: string): { pattern: string } | { reason: string } {
  const wild = text.startsWith('*.');
  const labels = hostLabels(wild ? text.slice(2) : text);
  if (typeof labels === 'string') return { reason: labels };
  if (labels.length < 2) return { reason: wild ? 'the suffix after *. needs a dot' : 'a host name needs a dot' };
  return { pattern: `${wild ? '*.' : ''}${labels.join('.')}` };
}

/** Lower-case, trailing dot dropped; null for a name that is not a valid host name. */
export function normaliseQueryName(qname: string): string | null {
  const labels = hostLabels(qname);
  return typeof labels === 'string' ? null : labels.join('.');
}

/** `*.example.com` spans one label or several, never `example.com` itself. */
export function matchesDnsPattern(pattern: string, qname: string): boolean {
  if (!pattern.startsWith('*.')) return pattern === qname;
  const suffix = pattern.slice(1);
  return qname.length > suffix.length && qname.endsWith(suffix);
}

export function dnsSetName(pattern: string, family: 4 | 6): string {
  return `moat-dns${family}-${sha256Hex(pattern).slice(0, 16)}`;
}

// SHA-256 (FIPS 180-4) over UTF-8, pure: the core may not import node:crypto.
const K = Array.from({ length: 64 }, (_, i) => {
  let n = 2;
  for (let found = -1; found < i; n++) {
    let prime = true;
    for (let d = 2; d * d <= n; d++) if (n % d === 0) prime = false;
    if (prime) found++;
    if (found === i) break;
  }
  return Math.floor((Math.cbrt(n) % 1) * 2 ** 32) >>> 0;
});

function sha256Hex(text: string): string {
  const bytes = new TextEncoder().encode(text);
  const len = Math.ceil((bytes.length + 9) / 64) * 64;
  const msg = new Uint8Array(len);
  msg.set(bytes);
  msg[bytes.length] = 0x80;
  const view = new DataView(msg.buffer);
  view.setUint32(len - 4, (bytes.length * 8) >>> 0);
  view.setUint32(len - 8, Math.floor((bytes.length * 8) / 2 ** 32));
  const h = [0x6a09e667, 0xbb67ae85, 0x3c6ef372, 0xa54ff53a, 0x510e527f, 0x9b05688c, 0x1f83d9ab, 0x5be0cd19];
  const w = new Uint32Array(64);
  const rotr = (x: number, n: number) => (x >>> n) | (x << (32 - n));
  for (let off = 0; off < len; off += 64) {
    for (let i = 0; i < 16; i++) w[i] = view.getUint32(off + i * 4);
    for (let i = 16; i < 64; i++) {
      const a = w[i - 15]!;
      const b = w[i - 2]!;
      w[i] = (w[i - 16]! + (rotr(a, 7) ^ rotr(a, 18) ^ (a >>> 3)) + w[i - 7]! + (rotr(b, 17) ^ rotr(b, 19) ^ (b >>> 10))) >>> 0;
    }
    let [a, b, c, d, e, f, g, k] = h as [number, number, number, number, number, number, number, number];
    for (let i = 0; i < 64; i++) {
      const t1 = (k + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + K[i]! + w[i]!) >>> 0;
      const t2 = ((rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c))) >>> 0;
      k = g;
      g = f;
      f = e;
      e = (d + t1) >>> 0;
      d = c;
      c = b;
      b = a;
      a = (t1 + t2) >>> 0;
    }
    [a, b, c, d, e, f, g, k].forEach((v, i) => (h[i] = (h[i]! + v) >>> 0));
  }
  return h.map((v) => v.toString(16).padStart(8, '0')).join('');
}
