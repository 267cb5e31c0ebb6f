// Docker list JSON -> Snapshot. Docker data is input like any other: each
// field is checked, anything odd is skipped and reported, never rendered raw.
import { parseAddress, parseCidr } from './addr.js';
import type { Checked, Container, Endpoint, Network, Problem, PublishedPort, Snapshot } from './model.js';

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
    else problems.push({ kind: 'docker_data_invalid', subject: `network ${name}`, reason: `bridge name ${JSON.stringify(candidate.slice(0, 80))} is not a valid interface name` });
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
    internal: r.Internal === true || Object.entries(options).some(([k, v]) => /^com\.docker\.network\.bridge\.gateway_mode_ipv[46]$/.test(k) && v === 'isolated'),
    icc: options['com.docker.network.bridge.enable_icc'] !== 'false',
    nat: options['com.docker.network.bridge.enable_ip_masquerade'] !== 'false',
    options,
    labels,
  };
}

function toPorts(raw: unknown): PublishedPort[] {
  const ports: PublishedPort[] = [];
  for (const p of Array.isArray(raw) ? raw : []) {
    const o = obj(p);
    const containerPort = o.PrivatePort;
    const hostPort = o.PublicPort;
    const proto = str(o.Type);
    if (typeof containerPort !== 'number' || typeof hostPort !== 'number') continue; // exposed, not published
    if (!Number.isInteger(containerPort) || !Number.isInteger(hostPort) || containerPort < 1 || containerPort > 65535 || hostPort < 1 || hostPort > 65535) continue;
    if (proto !== 'tcp' && proto !== 'udp' && proto !== 'sctp') continue;
    const hostIp = parseAddress(str(o.IP) || '0.0.0.0')?.text;
    if (!hostIp) continue;
    ports.push({ containerPort, proto, hostPort, hostIp });
  }
  const key = (p: PublishedPort) => `${p.proto}/${String(p.hostPort).padStart(5, '0')}/${p.hostIp}/${p.containerPort}`;
  return [...new Map(ports.map((p) => [key(p), p])).values()].sort((a, b) => key(a).localeCompare(key(b)));
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
    endpoints.push({ networkId, ipv4: ipv4?.family === 4 ? ipv4.text : null, ipv6: ipv6?.family === 6 ? ipv6.text : null });
  }
  endpoints.sort((a, b) => a.networkId.localeCompare(b.networkId));
  return {
    id,
    name,
    project: labels['com.docker.compose.project'] ?? null,
    service: labels['com.docker.compose.service'] ?? null,
    labels,
    networkMode: str(obj(r.HostConfig).NetworkMode) || 'default',
    endpoints,
    ports: toPorts(r.Ports),
  };
}

const byNameThenId = (a: { name: string; id: string }, b: { name: string; id: string }) =>
  a.name === b.name ? a.id.localeCompare(b.id) : a.name < b.name ? -1 : 1;

/** Builds the snapshot from `GET /networks` and `GET /containers/json` answers. Never throws. */
export function fromDocker(lists: DockerLists): Checked<Snapshot> {
  const problems: Problem[] = [];
  const networks = lists.networks.map((n) => toNetwork(n, problems)).filter((n): n is Network => n !== null);
  const containers = lists.containers.map((c) => toContainer(c, problems)).filter((c): c is Container => c !== null);
  return {
    result: { networks: [...new Map(networks.map((n) => [n.id, n])).values()].sort(byNameThenId), containers: [...new Map(containers.map((c) => [c.id, c])).values()].sort(byNameThenId) },
    problems,
  };
}
