// `moat doctor`'s DNS check, only when dns: grants are on (dns.listen set):
// does Docker send its containers' queries to moat's forwarder? When it asks
// anything else, the answers never pass moatd, and dns: grants learn nothing.
import type { Config } from './config.js';
import type { Check } from './doctor-check.js';
import type { DoctorFacts } from './doctor-facts.js';
import { daemonJsonKeys } from './dockerd-flags.js';

const TITLE = "Docker's DNS upstream is moat's forwarder (dns.listen)";

/** Docker's `dns` servers: its --dns flags when given (they win), else daemon.json's "dns"; null when neither says. */
function dockerDns(f: DoctorFacts): { servers: readonly string[]; where: string } | string | null {
  const flags: string[] = [];
  (f.dockerdArgs ?? []).forEach((a, i, all) => {
    if (a.startsWith('--dns=')) flags.push(a.slice('--dns='.length));
    else if (a === '--dns' && all[i + 1] !== undefined) flags.push(all[i + 1]!);
  });
  if (flags.length > 0) return { servers: flags, where: "dockerd's --dns flags" };
  const json = daemonJsonKeys(f.daemonJson.text);
  if (typeof json === 'string') return `${f.daemonJson.path} is ${json}`;
  const dns = json.dns;
  if (dns === undefined) return null;
  if (!Array.isArray(dns) || !dns.every((s) => typeof s === 'string')) return `${f.daemonJson.path} "dns" is not a list of addresses`;
  return { servers: dns as string[], where: `${f.daemonJson.path} "dns"` };
}

export function dnsChecks(f: DoctorFacts, config: Config): Check[] {
  const listen = config.dns.listen;
  if (listen === null) return [];
  const check = (status: Check['status'], detail: string, fix: string | null = null): Check => ({ id: 'dns-forwarder', title: TITLE, status, detail, fix });
  const fix = `moat install --configure-docker (sets "dns": ["${listen}"] in daemon.json), then restart Docker`;
  const found = dockerDns(f);
  if (typeof found === 'string') return [check('fail', `${found}: Docker's DNS upstream is unknown`, fix)];
  if (found === null || found.servers.length === 0) {
    return [check('fail', `Docker sets no DNS server: containers ask the host's resolv.conf servers, never ${listen}, so dns: grants learn nothing`, fix)];
  }
  const list = found.servers.join(', ');
  if (!found.servers.includes(listen)) {
    return [check('fail', `${found.where} is ${list}, not ${listen}: answers never pass moat's forwarder, so dns: grants learn nothing`, fix)];
  }
  if (found.servers.length > 1) {
    return [
      check(
        'warn',
        `${found.where} is ${list}: Docker may ask the others, whose answers moat never sees (a dns: grant then misses what they answered)`,
        `keep only ${listen} (moat forwards to dns.upstream), then restart Docker`,
      ),
    ];
  }
  return [check('pass', `${found.where} is ${listen}: every container's answers pass moat's forwarder`)];
}
