// daemon.json's "dns" for moat's DNS forwarder (issue 13): with dns.listen set,
// `moat install --configure-docker` points Docker's embedded resolver at it,
// `"dns": [listen]`. Docker asks every listed server, so an operator's own
// entries would answer without moat learning anything: they are replaced,
// and the install says so. Uninstall puts back what was there, unless the
// operator changed the key since.
import { checked, deleteMember, parseObject, type DaemonJsonResult, type PreviousValue, setMember } from '../core/daemon-json.js';

export interface DnsPrevious {
  readonly previous: PreviousValue;
  /** What moat wrote: uninstall restores only while the key still holds it. */
  readonly wrote: readonly string[];
}

const same = (a: unknown, b: readonly string[]) => Array.isArray(a) && a.length === b.length && a.every((x, i) => x === b[i]);

/** Sets `"dns": [listen]`; `replaced` lists the operator's entries it took out (none when it only added the key). */
export function pointDockerDns(text: string, listen: string): DaemonJsonResult<{ previous: PreviousValue; replaced: readonly unknown[] }> {
  const parsed = parseObject(text);
  if (typeof parsed === 'string') return { ok: false, error: parsed };
  const had = Object.hasOwn(parsed, 'dns');
  const previous: PreviousValue = had ? { present: true, value: parsed.dns } : { present: false };
  if (same(parsed.dns, [listen])) return { ok: true, text, changed: false, previous, replaced: [] };
  const replaced = had ? (Array.isArray(parsed.dns) ? parsed.dns.filter((d) => d !== listen) : [parsed.dns]) : [];
  const out = setMember(text, 'dns', JSON.stringify([listen]));
  return checked(out, { ...parsed, dns: [listen] }, { previous, replaced, changed: true });
}

/** Puts back what `pointDockerDns` found, while the key still holds what moat wrote. */
export function restoreDockerDns(text: string, dns: DnsPrevious): DaemonJsonResult<{ notes: readonly string[] }> {
  const parsed = parseObject(text);
  if (typeof parsed === 'string') return { ok: false, error: parsed };
  if (!same(parsed.dns, dns.wrote)) {
    const now = Object.hasOwn(parsed, 'dns') ? JSON.stringify(parsed.dns) : 'absent';
    return { ok: true, text, changed: false, notes: [`"dns" is ${now} now, not the ${JSON.stringify(dns.wrote)} moat set: left as it is`] };
  }
  const expected: Record<string, unknown> = { ...parsed };
  let out: string;
  if (dns.previous.present) {
    out = setMember(text, 'dns', JSON.stringify(dns.previous.value));
    expected.dns = dns.previous.value;
  } else {
    out = deleteMember(text, 'dns');
    delete expected.dns;
  }
  return checked(out, expected, { notes: [], changed: out !== text });
}
