// `moat doctor`: facts about the host (gathered by adapters/doctor-facts.ts)
// -> pass/warn/fail checks, each failing one with the fix. Pure, so every
// misconfiguration is testable from a few strings.
import type { Config } from './config.js';
import type { Check, CheckStatus } from './doctor-check.js';
import { type RuntimeFacts, startGateCheck } from './doctor-gate.js';
import { engineLine, engineMajor, isTestedEngine, TESTED_ENGINES } from './engines.js';
import { parseSave, type LiveState, type LiveTable } from './live.js';
import { isMoatChain } from './names.js';
import { planRestore } from './plan.js';
import type { RenderedRuleset } from './render.js';

export interface DoctorFacts {
  /** `firewallBackend`: /info FirewallBackend.Driver (Docker 28.3+: `iptables`, 29+: also `nftables`). */
  readonly docker: {
    readonly reachable: boolean;
    readonly error?: string;
    readonly version?: string;
    readonly swarm?: string;
    readonly rootDir?: string;
    readonly firewallBackend?: string;
  };
  /** dockerd's command line (argv after the program), or null when its process was not found. */
  readonly dockerdArgs: readonly string[] | null;
  /** The daemon config file dockerd reads (its --config-file, else /etc/docker/daemon.json). */
  readonly daemonJson: { readonly path: string; readonly text: string | null };
  /** sysctl name -> value (trimmed), null when the switch does not exist. */
  readonly sysctl: Readonly<Record<string, string | null>>;
  /** `iptables -V`, e.g. `iptables v1.8.9 (nf_tables)`; null when it does not run. */
  readonly iptablesVersion: string | null;
  /** `iptables-legacy-save` / `iptables-nft-save` (and ip6tables-) outputs; null when the tool does not run. */
  readonly saves: Readonly<Record<'legacy4' | 'nft4' | 'legacy6' | 'nft6', string | null>>;
  /** What moatd would write, per family; null when Docker could not be listed. */
  readonly desired: readonly RenderedRuleset[] | null;
  readonly containers: readonly { readonly name: string; readonly networkMode: string; readonly privileged: boolean; readonly capAdd: readonly string[] }[];
  readonly control: {
    readonly socket: string;
    readonly ok: boolean;
    readonly error?: string;
    readonly dockerConnected?: boolean;
    readonly lastOk?: boolean | null;
  };
  /** Some Docker network has IPv6 subnets. */
  readonly ipv6Networks: boolean;
  /** Docker's default runtime and registered runtimes; null when Docker is not reachable. */
  readonly runtime?: RuntimeFacts | null;
  /** `nft list tables`, as `FAMILY NAME` (e.g. `ip docker-bridges`); null when nft does not run. Absent: not gathered. */
  readonly nftTables?: readonly string[] | null;
}

// Docker 28 added DOCKER-FORWARD, DOCKER-BRIDGE and DOCKER-CT; DOCKER-INTERNAL
// (internal networks) comes from engines newer than 28.5.
const DOCKER_CHAINS = /^(DOCKER|DOCKER-USER|DOCKER-ISOLATION-STAGE-\d|DOCKER-FORWARD|DOCKER-INGRESS|DOCKER-CT|DOCKER-BRIDGE|DOCKER-INTERNAL)$/;
/** The nftables tables Docker 29's `firewall-backend: nftables` writes (one per family). */
const DOCKER_NFT_TABLE = /^(ip|ip6) docker-bridges$/;

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

function jsonKeys(text: string | null): Record<string, unknown> | string {
  if (text === null || text.trim() === '') return {};
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : 'not a JSON object';
  } catch (err) {
    return `not valid JSON (${String(err).slice(0, 120)})`;
  }
}

const ruleCount = (save: string | null) => (save ?? '').split('\n').filter((l) => l.startsWith('-A ')).length;
const chainsOf = (live: LiveState) => Object.values(live).flatMap((t) => [...(t?.chains.keys() ?? [])]);

export function runChecks(f: DoctorFacts, config: Config): Check[] {
  const checks: Check[] = [];
  const add = (id: string, title: string, status: CheckStatus, detail: string, fix: string | null = null) =>
    checks.push({ id, title, status, detail, fix: status === 'pass' || status === 'skip' ? null : fix });
  const backend = /\(legacy\)/.test(f.iptablesVersion ?? '') ? 'legacy' : 'nft';
  const mine = { 4: parseSave(f.saves[`${backend}4`] ?? ''), 6: parseSave(f.saves[`${backend}6`] ?? '') } as const;

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
  const json = jsonKeys(f.daemonJson.text);
  const fromJson = (k: string) => (typeof json === 'object' && typeof json[k] === 'boolean' ? (json[k] as boolean) : null);
  const major = engineMajor(f.docker.version) ?? 0;
  const ipt = boolFlag(f.dockerdArgs, 'iptables') ?? fromJson('iptables');
  const ip6t = boolFlag(f.dockerdArgs, 'ip6tables') ?? fromJson('ip6tables');
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

  // br_netfilter: traffic inside one bridge reaches iptables only with it.
  for (const [name, family] of [
    ['net.bridge.bridge-nf-call-iptables', 4],
    ['net.bridge.bridge-nf-call-ip6tables', 6],
  ] as const) {
    const v = f.sysctl[name];
    const title = `${name} = 1`;
    if (family === 6 && config.ipv6 === 'off') add(`br-netfilter-v${family}`, title, 'skip', 'ipv6: off');
    else if (v === null || v === undefined)
      add(
        `br-netfilter-v${family}`,
        title,
        'fail',
        'br_netfilter is not loaded: traffic between containers on one network never reaches iptables (ICC off and same-network rules do nothing)',
        `modprobe br_netfilter && sysctl -w ${name}=1; persist: echo br_netfilter > /etc/modules-load.d/moat.conf and ${name}=1 in /etc/sysctl.d/99-moat.conf`,
      );
    else if (v !== '1')
      add(
        `br-netfilter-v${family}`,
        title,
        'fail',
        `${name} is ${v}: traffic between containers on one network bypasses iptables (ICC off and same-network rules do nothing)`,
        `sysctl -w ${name}=1; persist it in /etc/sysctl.d/99-moat.conf`,
      );
    else add(`br-netfilter-v${family}`, title, 'pass', 'bridged traffic goes through iptables');
  }

  const fwd4 = f.sysctl['net.ipv4.ip_forward'];
  add(
    'ip-forward-v4',
    'IPv4 forwarding on',
    fwd4 === '1' ? 'pass' : 'warn',
    fwd4 === '1'
      ? 'net.ipv4.ip_forward = 1'
      : `net.ipv4.ip_forward is ${fwd4 ?? 'unreadable'}: containers reach nothing beyond their bridge (world egress, published ports in dnat mode)`,
    'sysctl -w net.ipv4.ip_forward=1; persist it in /etc/sysctl.d/99-moat.conf',
  );
  if (f.ipv6Networks && config.ipv6 !== 'off') {
    const fwd6 = f.sysctl['net.ipv6.conf.all.forwarding'];
    add(
      'ip-forward-v6',
      'IPv6 forwarding on',
      fwd6 === '1' ? 'pass' : 'warn',
      fwd6 === '1'
        ? 'net.ipv6.conf.all.forwarding = 1'
        : `net.ipv6.conf.all.forwarding is ${fwd6 ?? 'unreadable'}: IPv6 containers reach nothing beyond their bridge`,
      'sysctl -w net.ipv6.conf.all.forwarding=1',
    );
  }

  // Two backends: both run in the kernel, moat sees and orders only its own.
  const other = backend === 'nft' ? 'legacy' : 'nft';
  const foreign = ruleCount(f.saves[`${other}4`]) + ruleCount(f.saves[`${other}6`]);
  if (f.iptablesVersion === null)
    add('iptables-backend', 'one iptables backend', 'fail', 'iptables -V does not run: moat cannot work', 'install iptables (apt-get install iptables)');
  else if (foreign > 0) {
    const chains = [
      ...new Set(
        `${f.saves[`${other}4`] ?? ''}\n${f.saves[`${other}6`] ?? ''}`
          .split('\n')
          .filter((l) => l.startsWith('-A '))
          .map((l) => l.split(' ')[1]!),
      ),
    ];
    const tool = other === 'legacy' ? 'iptables-legacy' : 'iptables-nft';
    add(
      'iptables-backend',
      'one iptables backend',
      'warn',
      `moat writes with ${backend === 'nft' ? 'nf_tables' : 'legacy'} (${f.iptablesVersion}), but ${foreign} rule(s) live in the ${other} backend (${tool}-save shows them; chains ${chains.slice(0, 8).join(', ')}): the kernel runs both, and moat can neither see them nor put its jumps before them`,
      other === 'legacy'
        ? `move those rules to nf_tables (iptables-legacy-save | iptables-nft-restore) and flush them from legacy (iptables-legacy -F; iptables-legacy -X), or make every tool use one backend (update-alternatives --config iptables)`
        : 'flush the nf_tables rules (iptables-nft -F; iptables-nft -X) or switch moat to nf_tables (update-alternatives --set iptables /usr/sbin/iptables-nft)',
    );
  } else add('iptables-backend', 'one iptables backend', 'pass', `${f.iptablesVersion}; the ${other} backend holds no rules`);

  if (!f.docker.reachable || f.docker.swarm === undefined) add('swarm', 'Swarm mode off', 'skip', 'Docker not reachable');
  else if (f.docker.swarm === 'inactive' || f.docker.swarm === '') add('swarm', 'Swarm mode off', 'pass', 'swarm inactive');
  else
    add(
      'swarm',
      'Swarm mode off',
      'fail',
      `swarm is ${f.docker.swarm}: overlay and ingress networks bypass the host's netfilter, moat cannot firewall them (unsupported)`,
      'docker swarm leave --force on this host, or do not run moat here',
    );

  const proxy = boolFlag(f.dockerdArgs, 'userland-proxy') ?? fromJson('userland-proxy') ?? true;
  if (config.publishMode === 'proxy' && !proxy)
    add(
      'userland-proxy',
      'userland proxy matches publishMode',
      'fail',
      'publishMode: proxy, but Docker runs with userland-proxy false: published ports answer nothing',
      'set publishMode: dnat in the moat config, or remove "userland-proxy": false from Docker',
    );
  else if (config.publishMode === 'dnat' && !proxy)
    add(
      'userland-proxy',
      'userland proxy matches publishMode',
      'warn',
      'publishMode: dnat without the userland proxy: host-local clients on 127.0.0.1/::1 cannot reach published ports',
      "enable Docker's userland-proxy (the default) if local clients use published ports",
    );
  else add('userland-proxy', 'userland proxy matches publishMode', 'pass', `publishMode: ${config.publishMode}, userland-proxy ${proxy ? 'on' : 'off'}`);

  const risky: string[] = [];
  let worst: CheckStatus = 'pass';
  for (const c of f.containers) {
    const netAdmin = c.capAdd.some((x) => /^(CAP_)?(NET_ADMIN|ALL)$/i.test(x));
    const host = c.networkMode === 'host';
    if (host && (c.privileged || netAdmin)) {
      worst = 'fail';
      risky.push(`${c.name}: host network mode with ${c.privileged ? 'privileged' : 'NET_ADMIN'}: it can rewrite the host's firewall, moat's chains included`);
    } else if (host) {
      if (worst === 'pass') worst = 'warn';
      risky.push(`${c.name}: host network mode: it is the host, a host firewall cannot isolate it`);
    } else if (c.privileged || netAdmin) {
      if (worst === 'pass') worst = 'warn';
      risky.push(
        `${c.name}: ${c.privileged ? 'privileged' : 'NET_ADMIN'}: it can change its own address and so borrow another container's grants${c.privileged ? ', and reach host devices' : ''}`,
      );
    }
  }
  add(
    'containers',
    'no host-network, privileged or NET_ADMIN containers',
    f.docker.reachable ? worst : 'skip',
    risky.length ? risky.join('; ') : f.docker.reachable ? `${f.containers.length} containers, none risky` : 'Docker not reachable',
    'run them on a bridge network without --privileged or --cap-add NET_ADMIN, or accept that moat cannot isolate them',
  );

  // moat's own chains, and its jumps first in the built-in chains.
  const problems: string[] = [];
  const drift: string[] = [];
  for (const family of [4, 6] as const) {
    if (family === 6 && (config.ipv6 === 'off' || f.saves[`${backend}6`] === null)) continue;
    const live = mine[family];
    const want = f.desired?.find((d) => d.family === family);
    if (!want) {
      for (const chain of ['MOAT-FORWARD', 'MOAT-INPUT']) if (!chainsOf(live).includes(chain)) problems.push(`IPv${family}: ${chain} missing`);
      for (const b of ['FORWARD', 'INPUT'])
        if (live.filter?.chains.get(b)?.[0] !== `-j MOAT-${b}`) problems.push(`IPv${family}: ${b} does not jump to MOAT-${b} first`);
      continue;
    }
    const plan = planRestore(want, live);
    for (const t of plan.tables) {
      const missing = t.rewritten.filter((c) => !live[t.table]?.chains.has(c));
      if (missing.length) problems.push(`IPv${family} ${t.table}: missing ${missing.join(', ')}`);
      if (t.jumpsFixed.length)
        problems.push(`IPv${family} ${t.table}: ${t.jumpsFixed.join(', ')} do${t.jumpsFixed.length === 1 ? 'es' : ''} not jump to moat first`);
      const changed = t.rewritten.filter((c) => live[t.table]?.chains.has(c));
      if (changed.length) drift.push(`IPv${family} ${t.table}: ${changed.length} chain(s) differ (${changed.slice(0, 4).join(', ')})`);
      if (t.deleted.length) drift.push(`IPv${family} ${t.table}: stale ${t.deleted.filter(isMoatChain).join(', ')}`);
    }
  }
  if (problems.length)
    add(
      'moat-chains',
      "moat's chains present, jumps first",
      'fail',
      problems.join('; '),
      'start moatd (systemctl start moatd), or check its log for apply_failed; `moat plan` shows the diff',
    );
  else if (drift.length)
    add(
      'moat-chains',
      "moat's chains present, jumps first",
      'warn',
      `live differs from what moat computes now: ${drift.join('; ')}`,
      "moatd repairs this within a second or at its next resync; if it persists, check moatd's log and `moat plan`",
    );
  else
    add(
      'moat-chains',
      "moat's chains present, jumps first",
      'pass',
      f.desired ? 'live equals desired' : 'chains and jumps present (Docker not listed: contents not compared)',
    );

  if (!f.control.ok)
    add(
      'daemon',
      'moatd reachable on its socket',
      'fail',
      `${f.control.socket}: ${f.control.error ?? 'no answer'}`,
      'start moatd (systemctl start moatd) and check control.socket in its config',
    );
  else if (f.control.dockerConnected === false)
    add(
      'daemon',
      'moatd reachable on its socket',
      'warn',
      'moatd answers, but it is not connected to Docker: new containers are not covered',
      'check DOCKER_HOST for moatd and that Docker runs',
    );
  else if (f.control.lastOk === false)
    add('daemon', 'moatd reachable on its socket', 'warn', 'moatd answers, but its last reconcile failed', "see `moat status` and moatd's log (apply_failed)");
  else add('daemon', 'moatd reachable on its socket', 'pass', `${f.control.socket}: answering, Docker connected`);
  checks.push(startGateCheck(f.runtime, config));
  return checks;
}
