// `moat doctor`'s checks of Docker itself: reachable, a tested engine, and
// writing no firewall rules of its own (iptables, ip6tables, nftables).
import type { Check } from './doctor-check.js';
import { checkList } from './doctor-check-list.js';
import type { DoctorFacts } from './doctor-facts.js';
import { chainsOf } from './doctor-saves.js';
import { daemonJsonKeys, dockerdBool, flagValue } from './dockerd-flags.js';
import { engineLine, engineMajor, isTestedEngine, TESTED_ENGINES } from './engines.js';
import { parseSave, type LiveTable } from './live.js';

// Docker 28 added DOCKER-FORWARD, DOCKER-BRIDGE and DOCKER-CT; DOCKER-INTERNAL
// (internal networks) comes from engines newer than 28.5.
const DOCKER_CHAINS = /^(DOCKER|DOCKER-USER|DOCKER-ISOLATION-STAGE-\d|DOCKER-FORWARD|DOCKER-INGRESS|DOCKER-CT|DOCKER-BRIDGE|DOCKER-INTERNAL)$/;
/** The nftables tables Docker 29's `firewall-backend: nftables` writes (one per family). */
const DOCKER_NFT_TABLE = /^(ip|ip6) docker-bridges$/;

export function dockerChecks(f: DoctorFacts): Check[] {
  const { checks, add } = checkList();
  add(
    'docker-api',
    'Docker API reachable',
    f.docker.reachable ? 'pass' : 'fail',
    f.docker.reachable ? `Docker ${f.docker.version ?? '?'}` : `cannot reach Docker: ${f.docker.error ?? 'unknown error'}`,
    'start Docker, or point DOCKER_HOST at its socket',
  );

  if (!f.docker.reachable) add('docker-engine', 'Docker engine tested with moat', 'skip', 'Docker not reachable');
  else {
    const line = engineLine(f.docker.version) ?? f.docker.version ?? '?';
    const tested = `moat is tested on Docker ${TESTED_ENGINES.join(', ')}`;
    const backendNote = `firewall backend ${f.docker.firewallBackend ?? 'not reported by this engine: iptables'}`;
    if (isTestedEngine(f.docker.version))
      add('docker-engine', 'Docker engine tested with moat', 'pass', `Docker ${f.docker.version ?? '?'} (${backendNote}): ${tested}`);
    else
      add(
        'docker-engine',
        'Docker engine tested with moat',
        'warn',
        `Docker ${f.docker.version ?? '?'} (${backendNote}): ${tested}, not ${line}`,
        `moat may work (it reads Docker's lists and writes its own rules), but defaults and list answers change between engines: after an upgrade run moat doctor and moat plan, and check the flows you rely on`,
      );
  }

  // Docker must write no firewall rules: daemon.json, its flags, and what it actually wrote.
  const json = daemonJsonKeys(f.daemonJson.text);
  const major = engineMajor(f.docker.version) ?? 0;
  const ipt = dockerdBool(f.dockerdArgs, json, 'iptables');
  const ip6t = dockerdBool(f.dockerdArgs, json, 'ip6tables');
  const effective4 = ipt ?? true;
  // Before 27.0 ip6tables is experimental, off by default and refused without
  // iptables. From 27.0 on it defaults to true on its own: "iptables": false
  // alone leaves Docker writing ip6tables rules (DNAT, raw DROPs, DOCKER chains).
  const effective6 = major >= 27 ? (ip6t ?? true) : effective4 && ip6t === true;
  const jsonBackend = typeof json === 'object' && typeof json['firewall-backend'] === 'string' ? json['firewall-backend'] : null;
  const backendOfDocker = flagValue(f.dockerdArgs, 'firewall-backend') ?? jsonBackend ?? f.docker.firewallBackend ?? 'iptables';
  const saves = [f.saves.legacy4, f.saves.nft4, f.saves.legacy6, f.saves.nft6].map((t) => parseSave(t ?? ''));
  const dockerChains = [...new Set(saves.flatMap(chainsOf).filter((c) => DOCKER_CHAINS.test(c)))].sort();
  // Docker 28's direct-access protection: raw PREROUTING drops of container addresses arriving on another interface.
  // (parseSave keeps every table of the text, raw included, though TableName names only moat's.)
  const rawDrops = saves
    .flatMap((t) => (t as Partial<Record<string, LiveTable>>).raw?.chains.get('PREROUTING') ?? [])
    .filter((r) => /^-d \S+ ! -i (br-\S+|docker0) -j DROP$/.test(r)).length;
  const dockerLive = [...dockerChains, ...(rawDrops ? [`${rawDrops} raw PREROUTING DROP rule(s)`] : [])];
  const dockerTables = (f.nftTables ?? []).filter((t) => DOCKER_NFT_TABLE.test(t));
  const where = `${f.dockerdArgs ? 'dockerd flags' : 'dockerd process not found'}, ${f.daemonJson.path}${typeof json === 'string' ? ` (${json})` : ''}`;
  const defaulted = (v: boolean | null) => (v === null ? ', the default' : '');
  if (effective4 || effective6) {
    const why = !effective4 && effective6 && ip6t === null ? `: "ip6tables" defaults to true from Docker 27 on, even with "iptables": false` : '';
    const into =
      backendOfDocker === 'nftables'
        ? ` into nftables tables docker-bridges (firewall-backend nftables)${dockerTables.length ? `, live: ${dockerTables.join(', ')}` : ''}`
        : dockerLive.length
          ? `; its rules are live: ${dockerLive.join(', ')}`
          : '';
    add(
      'docker-iptables',
      'Docker runs with "iptables": false',
      'fail',
      `Docker${f.docker.version ? ` ${f.docker.version}` : ''} writes its own firewall rules (iptables ${effective4}${defaulted(ipt)}, ip6tables ${effective6}${defaulted(ip6t)}; from ${where})${why}${into}`,
      `set "iptables": false and "ip6tables": false in ${f.daemonJson.path} (or drop --iptables=true / --ip6tables=true from dockerd's flags), restart Docker, then run moatd (sudo moat install does both)`,
    );
  } else if (dockerLive.length > 0) {
    add(
      'docker-iptables',
      'Docker runs with "iptables": false',
      'warn',
      `Docker is configured with iptables and ip6tables false (${where}), but its rules are still live: ${dockerLive.join(', ')} (left from before?)`,
      'remove them (iptables -F/-X each DOCKER* chain and ip6tables the same, iptables -t raw -F PREROUTING if nothing else uses it, or reboot) so no stale Docker rule opens a port or drops what moat allows',
    );
  } else {
    add('docker-iptables', 'Docker runs with "iptables": false', 'pass', `iptables false, ip6tables false${defaulted(ip6t)} (${where}); no Docker chains live`);
  }

  // Docker 29's nftables backend keeps its own tables; nftables runs every
  // table's hooks, so their drops and DNATs apply beside moat's rules.
  if (f.nftTables === null) add('docker-nftables', 'no Docker nftables tables', 'skip', 'nft does not run here');
  else if (f.nftTables !== undefined) {
    if (dockerTables.length === 0)
      add('docker-nftables', 'no Docker nftables tables', 'pass', `no docker-bridges table (Docker's firewall backend: ${backendOfDocker})`);
    else {
      const writing = (effective4 || effective6) && backendOfDocker === 'nftables';
      add(
        'docker-nftables',
        'no Docker nftables tables',
        writing ? 'fail' : 'warn',
        `${dockerTables.map((t) => `table ${t}`).join(', ')} ${writing ? 'written by Docker (firewall-backend nftables)' : 'left over from Docker with firewall-backend nftables'}: nftables runs every table, so its drops and DNATs apply beside moat's rules, and moat cannot order its rules before them`,
        `${writing ? "turn Docker's firewall off as above, restart Docker, then " : ''}${dockerTables.map((t) => `nft delete table ${t}`).join('; ')}`,
      );
    }
  }
  return checks;
}
