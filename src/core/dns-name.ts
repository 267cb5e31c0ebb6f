// DNS names in `dns:` entries (docs/policy.md#dns-names) and in the questions
// moatd's forwarder sees: one canonical form, one matching rule, and the name
// of the kernel set each pattern's learned addresses go to. Pure; never throws.
//
// A name is case-insensitive (kept lower-case), may end in one dot (dropped),
// has labels of [a-z0-9_-] (no leading or trailing '-'; punycode `xn--` as
// written, unicode refused), labels of at most 63 and a name of at most 253
// characters, and at least two labels, the last one not all digits (that is
// an address, not a name). A pattern `*.SUFFIX` has `*` as its whole first
// label and a SUFFIX of at least two labels; it matches names of one or more
// labels before SUFFIX, never SUFFIX itself.
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex, utf8ToBytes } from '@noble/hashes/utils.js';

export interface DnsSet {
  readonly pattern: string;
  readonly family: 4 | 6;
  readonly name: string;
}

const MAX_NAME = 253;
const MAX_LABEL = 63;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]*[a-z0-9_])?$/;

/** Why `label` is not a DNS label, or null when it is one. */
function labelProblem(label: string): string | null {
  if (label === '') return 'an empty label (two dots in a row, or a leading dot)';
  if (label.length > MAX_LABEL) return `a label longer than ${MAX_LABEL} characters`;
  if (LABEL.test(label)) return null;
  if (label.startsWith('-') || label.endsWith('-')) return `label '${label.slice(0, 64)}' starts or ends with '-'`;
  if (label.includes('*')) return "'*' is allowed only as the whole first label (*.example.com)";
  return `label '${label.slice(0, 64)}' holds a character other than letters, digits, '_' and '-' (write an IDN in punycode, xn--...)`;
}

/** Lower-cased, one trailing dot dropped. */
const canonical = (text: string): string => (text.endsWith('.') ? text.slice(0, -1) : text).toLowerCase();

/** Parses what follows `dns:` into its canonical pattern, or the reason it is not a name or pattern. */
export function parseDnsName(text: string): { pattern: string } | { reason: string } {
  if (text === '') return { reason: "missing name after 'dns:'" };
  const name = canonical(text);
  if (name === '') return { reason: "missing name after 'dns:'" };
  if (name.length > MAX_NAME) return { reason: `DNS name is longer than ${MAX_NAME} characters` };
  const labels = name.split('.');
  const wildcard = labels[0] === '*';
  const rest = wildcard ? labels.slice(1) : labels;
  for (const label of rest) {
    const problem = labelProblem(label);
    if (problem !== null) return { reason: `invalid DNS name: ${problem}` };
  }
  if (wildcard && rest.length < 2) return { reason: `'*.' needs a suffix of at least two labels (*.example.com, not ${name.slice(0, 64)})` };
  if (rest.length < 2) return { reason: `a host name needs a dot (${name.slice(0, 64)} is a single label)` };
  if (/^[0-9]+$/.test(rest[rest.length - 1]!)) return { reason: 'an address is not a DNS name: write it as an address entry (10.0.0.5, [2001:db8::5])' };
  return { pattern: name };
}

/** A question name as the forwarder matches it: lower-case, trailing dot dropped; null when it is not a valid host name. */
export function normaliseQueryName(qname: string): string | null {
  if (typeof qname !== 'string' || qname.length > MAX_NAME + 1) return null;
  const name = canonical(qname);
  if (name === '' || name.length > MAX_NAME) return null;
  return name.split('.').every((l) => labelProblem(l) === null) ? name : null;
}

/** True when the normalised question name is the pattern's name, or for `*.SUFFIX` a name of one or more labels under SUFFIX. */
export function matchesDnsPattern(pattern: string, qname: string): boolean {
  if (!pattern.startsWith('*.')) return qname === pattern;
  const suffix = pattern.slice(1); // '.example.com'
  return qname.length > suffix.length && qname.endsWith(suffix);
}

/** What dnsSetName makes, and nothing else: the only ipset names moat ever hands to ipset. */
export const DNS_SET_NAME = /^moat-dns[46]-[0-9a-f]{16}$/;

/** The kernel set (ipset, hash:ip) of a pattern's learned addresses of one family: 26 characters, ipset allows 31. */
export function dnsSetName(pattern: string, family: 4 | 6): string {
  return `moat-dns${family}-${bytesToHex(sha256(utf8ToBytes(pattern))).slice(0, 16)}`;
}

/** The set of one pattern and family, named. */
export const dnsSet = (pattern: string, family: 4 | 6): DnsSet => ({ pattern, family, name: dnsSetName(pattern, family) });
