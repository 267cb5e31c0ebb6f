// Label text -> flow entries + problems (docs/policy.md#labels). Never throws. Label text is
// hostile input: only validated addresses, ports, protocols and names leave
// this file, and every one of them is checked against SAFE before it does.
//
// Entry grammar `PEER[:PORT[-PORT]][/PROTO]`, made precise:
//
// - Separators: ',' and ASCII whitespace (space, \t, \n, \r, \v, \f), any mix;
//   empty entries are ignored. Any other character outside
//   [A-Za-z0-9_.:/[\]-] (unicode spaces, NUL, quotes, ';', '$', ...) makes the
//   entry invalid.
// - Keywords (`world`, `lan`, `host`, `none`, `net:`, `dns:`) and protocols are
//   lower-case and case-sensitive. A keyword is a keyword only when it is the
//   whole peer: `World` is a container name, `world/web` is project `world`,
//   service `web`. Containers named world/lan/host/none can't be named by
//   container name (use PROJECT/SERVICE).
// - '/' is resolved in this order:
//   1. A trailing `/tcp|/udp|/sctp|/icmp` is always the protocol
//      (`db/udp` = peer `db`, protocol udp). A trailing `/TCP` etc. is an error.
//   2. The rest is split into PEER and PORT at the first ':' (for `net:NAME` the
//      first ':' after the name; for `[...]` the first ':' after ']').
//   3. In PEER, after an IPv4 address, `/DIGITS` is the CIDR prefix
//      (`10.0.0.0/8:5432`, `10.0.0.0/8/udp`). After a name, `/SERVICE` makes it
//      PROJECT/SERVICE (`app/web:80/tcp`). A further '/' part, or one after a
//      port, `net:NAME` or `]`, can only be a misplaced or unknown protocol
//      and is an error. So a compose service literally named tcp/udp/sctp/icmp
//      can't be written as PROJECT/SERVICE; `app:80/web` is an unknown protocol.
// - IPv4: dotted quad only; an octet with a leading zero is refused (some
//   parsers read it as octal). A peer of digits and dots is an address
//   attempt, never a container name (`10.0.0.5`; a bare `8080` is refused as
//   a forgotten peer); digits alone before `/SERVICE` are a project (`123/web`).
//   A CIDR is normalised to its network address (10.0.0.1/24 -> 10.0.0.0/24).
// - IPv6 only in brackets, prefix inside: `[2001:db8::/64]:443`.
// - `dns:NAME` (egress only; '*' allowed there alone): labels-dns.ts.
// - `none` belongs alone in moat.egress. Beside other entries it is reported
//   but still honoured (fail closed: world egress removed, the other entries
//   apply). In moat.ingress it is reported and skipped.
// - Lengths: an entry at most 1,024 characters; container, project and service
//   names at most 255, network names at most 128. Ports 1-65535, LO <= HI;
//   `:80-80` and `:80` (and `:80/tcp`) are the same entry and are deduped.
//
// Bounds: a value over 64 KiB (UTF-8) or with more than 1,000 entries is
// rejected whole: no entries, `none` false, one problem. Truncating could keep
// an arbitrary prefix of the operator's intent; rejecting grants nothing the
// label asked for and is reported once. Everything is a single linear pass
// with anchored regexes on short strings.
import { parseAddress, parseCidr } from './addr.js';
import { assertNever } from './assert-never.js';
import { clip, firstBadChar, looksLikeBareIpv6, nameRule, q, split, utf8Exceeds } from './label-text.js';
import { DNS_EGRESS_ONLY, DNS_PREFIX, dnsBadChar, type DnsPeer, dnsPeerSafe, parseDnsPeer } from './labels-dns.js';

export type Proto = 'tcp' | 'udp' | 'sctp' | 'icmp';
export type Peer =
  | { readonly kind: 'world' }
  | { readonly kind: 'lan' }
  | { readonly kind: 'host' }
  | { readonly kind: 'network'; readonly name: string }
  | { readonly kind: 'cidr'; readonly family: 4 | 6; readonly cidr: string }
  | { readonly kind: 'container'; readonly name: string }
  | { readonly kind: 'service'; readonly project: string; readonly service: string }
  | DnsPeer;
export interface PortRange {
  readonly lo: number;
  readonly hi: number;
}
export interface Entry {
  /** The entry as written, for reports only: never rendered into rules. */
  readonly text: string;
  readonly peer: Peer;
  /** null = every port. */
  readonly ports: PortRange | null;
  /** null = every protocol (only without a port); 'tcp' when a port is given without one. */
  readonly proto: Proto | null;
}
export interface LabelProblem {
  readonly entry: string;
  readonly reason: string;
}
export interface ParsedLabel {
  readonly none: boolean;
  readonly entries: readonly Entry[];
  readonly problems: readonly LabelProblem[];
}

export const MAX_VALUE_BYTES = 64 * 1024;
export const MAX_ENTRIES = 1000;
const MAX_ENTRY_CHARS = 1024;
const MAX_NAME_CHARS = 255;
const MAX_NETWORK_NAME_CHARS = 128;
const MAX_PROBLEM_ENTRY_CHARS = 200;

const PROTOS: readonly Proto[] = ['tcp', 'udp', 'sctp', 'icmp'];
const PROTO_LIST = PROTOS.join(', ');
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
const PROJECT = /^[a-z0-9][a-z0-9_-]*$/;
const DIGITS = /^[0-9]+$/;
/** Every Entry field but `text` matches this, so nothing else can reach a rule. */
const SAFE = /^[A-Za-z0-9_.:/-]*$/;
/** Canonical text of an entry: the protocol is always written when there is one. */
export function formatEntry(e: Pick<Entry, 'peer' | 'ports' | 'proto'>): string {
  const port = e.ports === null ? '' : e.ports.lo === e.ports.hi ? `:${e.ports.lo}` : `:${e.ports.lo}-${e.ports.hi}`;
  return `${formatPeer(e.peer)}${port}${e.proto === null ? '' : `/${e.proto}`}`;
}

function formatPeer(p: Peer): string {
  switch (p.kind) {
    case 'world':
    case 'lan':
    case 'host':
      return p.kind;
    case 'network':
      return `net:${p.name}`;
    case 'cidr':
      return p.family === 4 ? p.cidr : `[${p.cidr}]`;
    case 'container':
      return p.name;
    case 'service':
      return `${p.project}/${p.service}`;
    case 'dns':
      return `${DNS_PREFIX}${p.pattern}`;
    default:
      return assertNever(p);
  }
}

export function parseLabelValue(value: string, kind: 'egress' | 'ingress'): ParsedLabel {
  if (typeof value !== 'string') return reject('', 'label value is not a string');
  if (utf8Exceeds(value, MAX_VALUE_BYTES)) return reject(value, `label value is larger than ${MAX_VALUE_BYTES} bytes; ignored as a whole`);
  const tokens = split(value, MAX_ENTRIES + 1);
  if (tokens.length > MAX_ENTRIES) return reject(value, `label value has more than ${MAX_ENTRIES} entries; ignored as a whole`);
  if (kind === 'egress' && tokens.length === 1 && tokens[0] === 'none') return { none: true, entries: [], problems: [] };

  const entries = new Map<string, Entry>();
  const problems = new Map<string, LabelProblem>();
  // `none` beside other entries is reported, but still honoured: the writer
  // meant to close world egress, and failing closed is the safe reading.
  const none = kind === 'egress' && tokens.includes('none');
  for (const text of tokens) {
    let r: Parsed | Failure =
      text === 'none'
        ? {
            reason:
              kind === 'egress'
                ? "'none' should be the only entry of moat.egress (honoured: world egress removed, the other entries still apply)"
                : "'none' is only valid in moat.egress",
          }
        : parseEntry(text);
    if (!('reason' in r) && kind === 'ingress' && r.peer.kind === 'dns') r = { reason: DNS_EGRESS_ONLY };
    if ('reason' in r) {
      const p = { entry: clip(text, MAX_PROBLEM_ENTRY_CHARS), reason: r.reason };
      problems.set(`${p.entry}\n${p.reason}`, p);
      continue;
    }
    const key = formatEntry(r);
    if (!entries.has(key)) entries.set(key, { text, ...r });
  }
  return { none, entries: [...entries.values()], problems: [...problems.values()] };
}

function reject(value: string, reason: string): ParsedLabel {
  return { none: false, entries: [], problems: [{ entry: clip(value, MAX_PROBLEM_ENTRY_CHARS), reason }] };
}

type Parsed = Omit<Entry, 'text'>;
interface Failure {
  readonly reason: string;
}
const fail = (reason: string): Failure => ({ reason });

function parseEntry(t: string): Parsed | Failure {
  if (t.length > MAX_ENTRY_CHARS) return fail(`entry is longer than ${MAX_ENTRY_CHARS} characters`);
  const dns = t.startsWith(DNS_PREFIX);
  const bad = firstBadChar(t, dns);
  if (bad !== null) return fail(dns ? dnsBadChar(bad) : `invalid character ${bad}; allowed: ASCII letters, digits and _ . - : / [ ]`);

  // 1. A trailing protocol.
  let rest = t;
  let proto: Proto | null = null;
  const lastSlash = t.lastIndexOf('/');
  if (lastSlash >= 0) {
    const tail = t.slice(lastSlash + 1);
    if (isProto(tail)) {
      proto = tail;
      rest = t.slice(0, lastSlash);
    } else if (isProto(tail.toLowerCase())) {
      return fail(`protocol ${q(tail)} must be lower-case (${PROTO_LIST})`);
    }
  }

  // 2. PEER and PORT, split at the first ':' after the peer's own syntax.
  let from = 0;
  if (rest.startsWith('net:') || dns) from = 4;
  else if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0) return fail("'[' without a closing ']'");
    from = close + 1;
  } else if (looksLikeBareIpv6(rest)) {
    return fail('IPv6 address must be in brackets, e.g. [2001:db8::5] or [2001:db8::5]:443/tcp');
  }
  if (rest === '' || rest.startsWith(':') || rest.startsWith('/')) return fail('missing peer (e.g. world, 10.0.0.0/8, net:NAME, a container name)');
  const colon = rest.indexOf(':', from);
  const peerText = colon < 0 ? rest : rest.slice(0, colon);
  const portText = colon < 0 ? null : rest.slice(colon + 1);

  const peer = parsePeer(peerText);
  if ('reason' in peer) return peer;

  // 3. PORT and anything after it.
  let ports: PortRange | null = null;
  if (portText !== null) {
    const [port = '', ...extra] = portText.split('/');
    const p = parsePorts(port);
    if ('reason' in p) return p;
    ports = p;
    if (extra.length > 0) return misplaced(extra[0] ?? '');
  }

  if (proto === 'icmp' && ports !== null) return fail('icmp takes no port');
  if (ports !== null && proto === null) proto = 'tcp';
  const parsed: Parsed = { peer, ports, proto };
  // The guarantee that no label text reaches iptables-restore: checked, not assumed.
  if (!peerFieldsSafe(peer)) return fail('entry does not reduce to safe characters');
  return parsed;
}

function parsePeer(text: string): Peer | Failure {
  if (text.startsWith('[')) return parseBracketed(text);
  if (text.startsWith('net:')) return parseNetwork(text.slice(4));
  if (text.startsWith(DNS_PREFIX)) return parseDnsPeer(text.slice(DNS_PREFIX.length));
  const [base = '', ...segs] = text.split('/');
  // `123/web` is still project 123, service web; `123` alone or `1.2.3/8` is an address attempt.
  if (/^[0-9.]+$/.test(base) && (base.includes('.') || segs.length === 0)) return parseIpv4(base, segs);
  if (segs.length === 0) {
    if (base === 'world' || base === 'lan' || base === 'host') return { kind: base };
    if (base === 'none') return fail("'none' takes no port or protocol, and must be the only entry of moat.egress");
    if (!NAME.test(base) || base.length > MAX_NAME_CHARS) return fail(`invalid container or service name ${q(base)} (${nameRule(MAX_NAME_CHARS)})`);
    return { kind: 'container', name: base };
  }
  const [service = '', ...extra] = segs;
  if (!PROJECT.test(base) || base.length > MAX_NAME_CHARS) {
    return fail(`invalid compose project name ${q(base)} (lower-case letters, digits, '_' and '-', at most ${MAX_NAME_CHARS} characters)`);
  }
  if (service === '') return fail(`missing service name after ${q(`${base}/`)}`);
  if (isProto(service.toLowerCase())) return misplaced(service);
  if (!NAME.test(service) || service.length > MAX_NAME_CHARS) return fail(`invalid compose service name ${q(service)} (${nameRule(MAX_NAME_CHARS)})`);
  if (extra.length > 0) return misplaced(extra[0] ?? '');
  return { kind: 'service', project: base, service };
}

function parseNetwork(text: string): Peer | Failure {
  const [name = '', ...extra] = text.split('/');
  if (name === '') return fail("missing network name after 'net:'");
  if (!NAME.test(name) || name.length > MAX_NETWORK_NAME_CHARS) return fail(`invalid network name ${q(name)} (${nameRule(MAX_NETWORK_NAME_CHARS)})`);
  if (extra.length > 0) return misplaced(extra[0] ?? '');
  return { kind: 'network', name };
}

function parseIpv4(base: string, segs: readonly string[]): Peer | Failure {
  if (!base.includes('.')) return fail(`${q(base)} is not a peer: a port needs one (e.g. world:${base.slice(0, 5)}), an address needs four parts`);
  if (base.split('.').some((octet) => octet.length > 1 && octet.startsWith('0'))) return fail(`IPv4 address ${q(base)} has an octet with a leading zero`);
  const addr = parseAddress(base);
  if (!addr || addr.family !== 4) return fail(`invalid IPv4 address ${q(base)}`);
  const [prefix, ...extra] = segs;
  if (prefix === undefined) return cidrPeer(`${addr.text}/32`);
  if (prefix === '') return fail(`missing CIDR prefix after ${q(`${base}/`)}`);
  if (!DIGITS.test(prefix)) return misplaced(prefix);
  if (prefix.length > 3 || Number(prefix) > 32) return fail(`CIDR prefix ${q(prefix)} is out of range 0-32`);
  if (extra.length > 0) return misplaced(extra[0] ?? '');
  return cidrPeer(`${addr.text}/${Number(prefix)}`);
}

function parseBracketed(text: string): Peer | Failure {
  const close = text.indexOf(']');
  const inner = text.slice(1, close);
  const after = text.slice(close + 1);
  if (after !== '') {
    if (!after.startsWith('/')) return fail(`unexpected ${q(after)} after ']'`);
    const seg = after.slice(1).split('/')[0] ?? '';
    if (DIGITS.test(seg)) return fail('a CIDR prefix goes inside the brackets, e.g. [2001:db8::/64]');
    return misplaced(seg);
  }
  if (inner === '') return fail("empty '[]'");
  const slash = inner.indexOf('/');
  const addrText = slash < 0 ? inner : inner.slice(0, slash);
  const prefix = slash < 0 ? null : inner.slice(slash + 1);
  const addr = parseAddress(addrText);
  if (addr?.family === 4) return fail('IPv4 address must not be in brackets');
  if (!addr) return fail(`invalid IPv6 address ${q(addrText)}`);
  if (prefix === null) return cidrPeer(`${addr.text}/128`);
  if (prefix === '') return fail(`missing CIDR prefix after ${q(`${addrText}/`)}`);
  if (!DIGITS.test(prefix)) return fail(`invalid CIDR prefix ${q(prefix)} (0-128)`);
  if (prefix.length > 3 || Number(prefix) > 128) return fail(`CIDR prefix ${q(prefix)} is out of range 0-128`);
  return cidrPeer(`${addr.text}/${Number(prefix)}`);
}

function cidrPeer(text: string): Peer | Failure {
  const cidr = parseCidr(text);
  if (!cidr) return fail(`invalid address ${q(text)}`);
  return { kind: 'cidr', family: cidr.family, cidr: cidr.text };
}

function parsePorts(text: string): PortRange | Failure {
  if (text === '') return fail("missing port after ':'");
  const dash = text.indexOf('-');
  const loText = dash < 0 ? text : text.slice(0, dash);
  const hiText = dash < 0 ? text : text.slice(dash + 1);
  if (!DIGITS.test(loText) || !DIGITS.test(hiText)) return fail(`invalid port ${q(text)} (a number 1-65535 or a range LO-HI)`);
  for (const p of [loText, hiText]) if (p.length > 5 || Number(p) < 1 || Number(p) > 65535) return fail(`port ${q(p)} is out of range 1-65535`);
  const lo = Number(loText);
  const hi = Number(hiText);
  if (lo > hi) return fail(`port range ${lo}-${hi} is reversed (LO must not exceed HI)`);
  return { lo, hi };
}

/** A '/' part where only a protocol could be: misplaced if it is one, unknown otherwise. */
function misplaced(seg: string): Failure {
  if (seg === '') return fail("missing protocol after '/'");
  if (isProto(seg.toLowerCase())) return fail(`protocol ${q(seg)} is misplaced: one protocol, last, lower-case (PEER:PORT/PROTO)`);
  return fail(`unknown protocol ${q(seg)} (${PROTO_LIST})`);
}

function isProto(s: string): s is Proto {
  return (PROTOS as readonly string[]).includes(s);
}

function peerFieldsSafe(p: Peer): boolean {
  switch (p.kind) {
    case 'world':
    case 'lan':
    case 'host':
      return true;
    case 'network':
    case 'container':
      return SAFE.test(p.name);
    case 'cidr':
      return SAFE.test(p.cidr);
    case 'service':
      return SAFE.test(p.project) && SAFE.test(p.service);
    case 'dns':
      return dnsPeerSafe(p);
    default:
      return assertNever(p);
  }
}
