// Docker list JSON -> Snapshot. Docker data is input like any other: each
// field is checked, anything odd is skipped and reported, never rendered raw.
import { parseAddress, parseCidr } from './addr.js';
import { changedItems } from './memo.js';
import type { Checked, Container, Endpoint, Network, Problem, PublishedPort, RoutedPort, Snapshot } from './model.js';

export interface DockerLists {
  readonly networks: readonly unknown[];
  readonly containers: readonly unknown[];
}

const ID = /^[0-9a-f]{64}$/;
/** Linux interface names: at most 15 bytes; we also refuse anything but these characters. */
export const IFACE = /^[A-Za-z0-9_.-]{1,15}$/;
const BRIDGE_DRIVERS = new Set(['bridge']);

type Obj = Record<string, unknown>;
const obj = (v: unknown): Obj => (v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Obj) : {});
const str = (v: unknown): string => (typeof v === 'string' ? v : '');
const strMap = (v: unknown): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [k, val] of Object.entries(obj(v))) if (typeof val === 'string') out[k] = val;
  return out;
};

export function bridgeName(id: string, name: string, options: Readonly<Record<string, string>>): string {
  const explicit = options['com.docker.network.bridge.name'];
  if (explicit) return explicit;
  return name === 'bridge' ? 'docker0' : `br-${id.slice(0, 12)}`;
}

function toNetwork(raw: unknown, problems: Problem[]): Network | null {
  const r = obj(raw);
  const id = str(r.Id);
  const name = str(r.Name);
  if (!ID.test(id)) {
    problems.push({ kind: 'docker_data_invalid', subject: `network ${JSON.stringify(name.slice(0, 80))}`, reason: 'network id is not 64 hex characters' });
    return null;
  }
  const driver = str(r.Driver);
  const options = strMap(r.Options);
  const labels = strMap(r.Labels);
  let bridge: string | null = null;
  if (BRIDGE_DRIVERS.has(driver)) {
    const candidate = bridgeName(id, name, options);
    if (IFACE.test(candidate)) bridge = candidate;
    else
      problems.push({
        kind: 'docker_data_invalid',
        subject: `network ${name}`,
        reason: `bridge name ${JSON.stringify(candidate.slice(0, 80))} is not a valid interface name`,
      });
  }
  const subnets4: string[] = [];
  const subnets6: string[] = [];
  const configs = Array.isArray(obj(r.IPAM).Config) ? (obj(r.IPAM).Config as unknown[]) : [];
  for (const c of configs) {
    const text = str(obj(c).Subnet);
    if (!text) continue;
    const cidr = parseCidr(text);
    if (!cidr) {
      problems.push({ kind: 'docker_data_invalid', subject: `network ${name}`, reason: `subnet ${JSON.stringify(text.slice(0, 80))} is not a CIDR` });
      continue;
    }
    (cidr.family === 4 ? subnets4 : subnets6).push(cidr.text);
  }
  return {
    id,
    name,
    driver,
    bridge,
    subnets4: [...new Set(subnets4)].sort(),
    subnets6: [...new Set(subnets6)].sort(),
    // Docker 28's gateway_mode_ipvN=isolated (no gateway for that family): moat
    // keeps the whole network in, as internal; failing closed is the safe reading.
    internal:
      r.Internal === true || Object.entries(options).some(([k, v]) => /^com\.docker\.network\.bridge\.gateway_mode_ipv[46]$/.test(k) && v === 'isolated'),
    icc: options['com.docker.network.bridge.enable_icc'] !== 'false',
    nat: options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false',
    options,
    labels,
  };
}

/**
 * The list's port entries: published ones (a host port), and those published
 * in routed mode (Docker 28: a host address, no host port). An entry with
 * neither is only exposed, not published.
 */
function toPorts(raw: unknown): { ports: PublishedPort[]; routed: RoutedPort[] } {
  const ports: PublishedPort[] = [];
  const routed: RoutedPort[] = [];
  for (const p of Array.isArray(raw) ? raw : []) {
    const o = obj(p);
    const containerPort = o.PrivatePort;
    const hostPort = o.PublicPort;
    const proto = str(o.Type);
    if (typeof containerPort !== 'number' || !Number.isInteger(containerPort) || containerPort < 1 || containerPort > 65535) continue;
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') continue;
    if (hostPort === undefined || hostPort === 0) {
      // Routed mode lists the binding's address (0.0.0.0 or ::, whatever was asked) and no host port.
      const ip = typeof o.IP === 'string' && o.IP ? parseAddress(o.IP) : null;
      if (ip) routed.push({ containerPort, proto, family: ip.family });
      continue; // else exposed, not published
    }
    if (typeof hostPort !== 'number' || !Number.isInteger(hostPort) || hostPort < 1 || hostPort > 65535) continue;
    const hostIp = parseAddress(str(o.IP) || '0.0.0.0')?.text;
    if (!hostIp) continue;
    ports.push({ containerPort, proto, hostPort, hostIp });
  }
  const key = (p: PublishedPort) => `${p.proto}/${String(p.hostPort).padStart(5, '0')}/${p.hostIp}/${p.containerPort}`;
  const rkey = (p: RoutedPort) => `${p.proto}/${String(p.containerPort).padStart(5, '0')}/${p.family}`;
  return {
    ports: [...new Map(ports.map((p) => [key(p), p])).values()].sort((a, b) => key(a).localeCompare(key(b))),
    routed: [...new Map(routed.map((p) => [rkey(p), p])).values()].sort((a, b) => rkey(a).localeCompare(rkey(b))),
  };
}

function toContainer(raw: unknown, problems: Problem[]): Container | null {
  const r = obj(raw);
  const id = str(r.Id);
  const names = Array.isArray(r.Names) ? r.Names.filter((n): n is string => typeof n === 'string') : [];
  const name = (names.find((n) => n.lastIndexOf('/') === 0) ?? names[0] ?? '').replace(/^\//, '');
  if (!ID.test(id)) {
    problems.push({ kind: 'docker_data_invalid', subject: `container ${JSON.stringify(name.slice(0, 80))}`, reason: 'container id is not 64 hex characters' });
    return null;
  }
  const labels = strMap(r.Labels);
  const endpoints: Endpoint[] = [];
  for (const [netName, ep] of Object.entries(obj(obj(r.NetworkSettings).Networks))) {
    const e = obj(ep);
    const networkId = str(e.NetworkID);
    if (!ID.test(networkId)) continue; // not attached yet (or a network we cannot name safely)
    const v4 = str(e.IPAddress);
    const v6 = str(e.GlobalIPv6Address);
    const ipv4 = v4 ? parseAddress(v4) : null;
    const ipv6 = v6 ? parseAddress(v6) : null;
    if ((v4 && ipv4?.family !== 4) || (v6 && ipv6?.family !== 6)) {
      problems.push({ kind: 'docker_data_invalid', subject: `container ${name}`, reason: `address on network ${netName} is not valid` });
    }
    const endpoint: { -readonly [K in keyof Endpoint]: Endpoint[K] } = {
      networkId,
      ipv4: ipv4?.family === 4 ? ipv4.text : null,
      ipv6: ipv6?.family === 6 ? ipv6.text : null,
    };
    // Which endpoint is the container's gateway (gateway.ts): only what the list says.
    if (typeof e.GwPriority === 'number' && Number.isSafeInteger(e.GwPriority)) endpoint.gwPriority = e.GwPriority;
    if (typeof e.Gateway === 'string') endpoint.gateway4 = e.Gateway !== '';
    if (typeof e.IPv6Gateway === 'string') endpoint.gateway6 = e.IPv6Gateway !== '';
    endpoints.push(endpoint);
  }
  endpoints.sort((a, b) => a.networkId.localeCompare(b.networkId));
  const { ports, routed } = toPorts(r.Ports);
  return {
    id,
    name,
    project: labels['com.docker.compose.project'] ?? null,
    service: labels['com.docker.compose.service'] ?? null,
    labels,
    networkMode: str(obj(r.HostConfig).NetworkMode) || 'default',
    endpoints,
    ports,
    ...(routed.length > 0 ? { routedPorts: routed } : {}),
  };
}

const byNameThenId = (a: { name: string; id: string }, b: { name: string; id: string }) =>
  a.name === b.name ? a.id.localeCompare(b.id) : a.name < b.name ? -1 : 1;

interface Parsed<T> {
  readonly value: T | null;
  readonly problems: readonly Problem[];
}

/**
 * What each raw list object parsed to, kept across calls: an object Docker
 * data did not change is not parsed again, and yields the very same Network
 * or Container, which is what lets every later stage reuse its own work.
 * Raw objects must be treated as immutable: replaced when they change, never edited.
 */
export interface FromDockerMemo {
  readonly networks: WeakMap<object, Parsed<Network>>;
  readonly containers: WeakMap<object, Parsed<Container>>;
  /** The last call's containers (raw list, sorted result, by id, problems), when they had no duplicate id; null otherwise. */
  last: {
    readonly raws: readonly unknown[];
    readonly sorted: readonly Container[];
    readonly byId: Map<string, Container>;
    readonly problems: readonly Problem[];
  } | null;
}

export const createFromDockerMemo = (): FromDockerMemo => ({ networks: new WeakMap(), containers: new WeakMap(), last: null });

function parseOnce<T>(cache: WeakMap<object, Parsed<T>>, raw: unknown, parse: (raw: unknown, problems: Problem[]) => T | null, problems: Problem[]): T | null {
  const key = raw !== null && typeof raw === 'object' ? raw : null;
  let parsed = key ? cache.get(key) : undefined;
  if (!parsed) {
    const own: Problem[] = [];
    parsed = { value: parse(raw, own), problems: own };
    if (key) cache.set(key, parsed);
  }
  problems.push(...parsed.problems);
  return parsed.value;
}

/**
 * The containers of `raws` from the last call's, when only a few raw objects
 * came or went, none of them with a problem or a duplicate id: the sorted
 * list patched in place of a parse, dedupe and sort of every container. Null
 * when that does not hold (the caller starts over).
 */
function patched(memo: FromDockerMemo, last: FromDockerMemo['last'], raws: readonly unknown[]): { sorted: Container[]; byId: Map<string, Container> } | null {
  const diff = last ? changedItems(last.raws, raws) : null;
  if (!last || !diff) return null;
  const parsed = (raw: unknown) => (raw !== null && typeof raw === 'object' ? memo.containers.get(raw) : undefined);
  const gone: Container[] = [];
  for (const raw of diff.removed) {
    const p = parsed(raw);
    if (!p || p.problems.length > 0 || !p.value || last.byId.get(p.value.id) !== p.value) return null;
    gone.push(p.value);
  }
  const come: Container[] = [];
  const ids = new Set<string>();
  for (const raw of diff.added) {
    if (raw === null || typeof raw !== 'object') return null;
    const problems: Problem[] = [];
    const value = parseOnce(memo.containers, raw, toContainer, problems);
    const holder = value ? last.byId.get(value.id) : undefined;
    if (problems.length > 0 || !value || ids.has(value.id) || (holder && !gone.includes(holder))) return null;
    ids.add(value.id);
    come.push(value);
  }
  const sorted = [...last.sorted];
  for (const c of gone) {
    sorted.splice(sorted.indexOf(c), 1);
    last.byId.delete(c.id);
  }
  for (const c of come) {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (byNameThenId(sorted[mid]!, c) < 0) lo = mid + 1;
      else hi = mid;
    }
    sorted.splice(lo, 0, c);
    last.byId.set(c.id, c);
  }
  return { sorted, byId: last.byId };
}

/** Builds the snapshot from `GET /networks` and `GET /containers/json` answers. Never throws. */
export function fromDocker(lists: DockerLists, memo: FromDockerMemo = createFromDockerMemo()): Checked<Snapshot> {
  const problems: Problem[] = [];
  const networks = lists.networks.map((n) => parseOnce(memo.networks, n, toNetwork, problems)).filter((n): n is Network => n !== null);
  const sortedNetworks = [...new Map(networks.map((n) => [n.id, n])).values()].sort(byNameThenId);
  // Until this call completes, nothing is known about the last one: patched() edits its index.
  const last = memo.last;
  memo.last = null;
  const quick = patched(memo, last, lists.containers);
  if (quick && last) {
    memo.last = { raws: lists.containers, sorted: quick.sorted, byId: quick.byId, problems: last.problems };
    return { result: { networks: sortedNetworks, containers: quick.sorted }, problems: [...problems, ...last.problems] };
  }
  const own: Problem[] = [];
  const containers = lists.containers.map((c) => parseOnce(memo.containers, c, toContainer, own)).filter((c): c is Container => c !== null);
  const byId = new Map(containers.map((c) => [c.id, c]));
  const sorted = [...byId.values()].sort(byNameThenId);
  if (byId.size === containers.length) memo.last = { raws: lists.containers, sorted, byId, problems: own };
  return { result: { networks: sortedNetworks, containers: sorted }, problems: [...problems, ...own] };
}
