// Address parsing and containment. Only text that passes these checks is
// ever rendered into a rule, so every address in the ruleset is canonical.
import ipaddr from 'ipaddr.js';
import type { Family } from './model.js';

export interface Cidr {
  readonly family: Family;
  /** Canonical text with prefix, as iptables-save prints it (e.g. 10.0.0.0/8, fd00::/64). */
  readonly text: string;
  readonly prefix: number;
  readonly addr: ipaddr.IPv4 | ipaddr.IPv6;
}

function familyOf(addr: ipaddr.IPv4 | ipaddr.IPv6): Family {
  return addr.kind() === 'ipv4' ? 4 : 6;
}

function canonical(addr: ipaddr.IPv4 | ipaddr.IPv6): string {
  // RFC 5952 is what inet_ntop, and so iptables-save, prints.
  return addr.kind() === 'ipv4' ? addr.toString() : (addr as ipaddr.IPv6).toRFC5952String();
}

/** Parses a bare address (no brackets); null when invalid. */
export function parseAddress(text: string): { family: Family; text: string } | null {
  if (text.length > 64 || text.includes('%') || !ipaddr.isValid(text)) return null;
  // Reject IPv4 shorthands ipaddr.js accepts ("10.1", hex, and leading zeros it reads as octal): dotted quads only.
  if (!text.includes(':') && !/^(0|[1-9]\d{0,2})(\.(0|[1-9]\d{0,2})){3}$/.test(text)) return null;
  const addr = ipaddr.parse(text);
  if (addr.kind() === 'ipv6' && (addr as ipaddr.IPv6).isIPv4MappedAddress()) return null;
  return { family: familyOf(addr), text: canonical(addr) };
}

/** Parses "addr/prefix" or a bare address (host prefix); the network address is normalised. */
export function parseCidr(text: string): Cidr | null {
  const slash = text.indexOf('/');
  const base = parseAddress(slash < 0 ? text : text.slice(0, slash));
  if (!base) return null;
  const max = base.family === 4 ? 32 : 128;
  let prefix = max;
  if (slash >= 0) {
    const p = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(p)) return null;
    prefix = Number(p);
    if (prefix > max) return null;
  }
  const addr = ipaddr.parse(base.text);
  const network = networkAddress(addr, prefix);
  return { family: base.family, text: `${canonical(network)}/${prefix}`, prefix, addr: network };
}

function networkAddress(addr: ipaddr.IPv4 | ipaddr.IPv6, prefix: number): ipaddr.IPv4 | ipaddr.IPv6 {
  const bytes = addr.toByteArray();
  for (let i = 0; i < bytes.length; i++) {
    const keep = Math.max(0, Math.min(8, prefix - i * 8));
    bytes[i] = (bytes[i] ?? 0) & (0xff << (8 - keep)) & 0xff;
  }
  return ipaddr.fromByteArray(bytes);
}

/** True when `inner` lies entirely inside `outer`. */
export function cidrContains(outer: Cidr, inner: Cidr): boolean {
  if (outer.family !== inner.family || inner.prefix < outer.prefix) return false;
  return inner.addr.match(outer.addr, outer.prefix);
}

/** True when the two ranges share any address. */
export function cidrOverlaps(a: Cidr, b: Cidr): boolean {
  return cidrContains(a, b) || cidrContains(b, a);
}

/** Host address as a /32 or /128 CIDR, as iptables-save prints a single address. */
export function hostCidr(address: string): string {
  const parsed = parseAddress(address);
  if (!parsed) throw new Error(`not an address: ${address}`);
  return `${parsed.text}/${parsed.family === 4 ? 32 : 128}`;
}

/** 127.0.0.0/8 or ::1 (canonical text, as parseAddress gives it). */
export function isLoopback(address: string): boolean {
  return address === '::1' || /^127\.\d+\.\d+\.\d+$/.test(address);
}
