// Synthetic Docker list answers (GET /networks, GET /containers/json), shaped
// like test/golden/scenarios/*/snapshot.json, for hosts far larger than the
// bed can run. Deterministic: the same spec gives the same JSON.
//
// Network i: bridge br-<id12>, subnet 10.(i>>8).(i&255).0/24; network i%10==4 has
// moat.egress=none, i%20==5 enable_icc=false. Container j sits on network
// j % N (so ~C/N per network), in compose project p<net>, and carries:
//   j%5==0   moat.egress  "<container j+1, on the next network>:80"   (cross-network grant)
//   j%10==3  moat.ingress "<container j+2>:8080"                       (cross-network grant)
//   j%20==7  moat.egress  "none"
//   j%20==11 moat.egress  "192.168.50.10:5432, world:443"              (CIDR grant)
//   j%25==4  a published port (0.0.0.0:20000+j -> 80/tcp)
//   j%50==13 a second endpoint on network (net + N/2) % N
// plus Docker's default bridge/host/none networks.
import { createHash } from 'node:crypto';

export interface SyntheticSpec {
  readonly containers: number;
  readonly networks: number;
}

export interface DockerLists {
  readonly networks: Record<string, unknown>[];
  readonly containers: Record<string, unknown>[];
}

export const hexId = (seed: string) => createHash('sha256').update(seed).digest('hex');
const pad = (n: number, width: number) => String(n).padStart(width, '0');

export const netName = (i: number) => `n${pad(i, 4)}`;
export const containerName = (j: number) => `c${pad(j, 5)}`;
export const subnetOf = (i: number) => `10.${(i >> 8) & 255}.${i & 255}.0/24`;
export const addressOn = (i: number, host: number) => `10.${(i >> 8) & 255}.${i & 255}.${host}`;

function network(i: number): Record<string, unknown> {
  const options: Record<string, string> = {};
  const labels: Record<string, string> = {};
  if (i % 10 === 4) labels['moat.egress'] = 'none';
  if (i % 20 === 5) options['com.docker.network.bridge.enable_icc'] = 'false';
  return {
    Name: netName(i),
    Id: hexId(`net-${i}`),
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Options: {}, Config: [{ Subnet: subnetOf(i), Gateway: addressOn(i, 1) }] },
    Internal: false,
    Attachable: false,
    Ingress: false,
    Containers: {},
    Options: options,
    Labels: labels,
  };
}

const builtinNetworks = (): Record<string, unknown>[] => [
  {
    Name: 'bridge',
    Id: hexId('net-bridge'),
    Scope: 'local',
    Driver: 'bridge',
    EnableIPv6: false,
    IPAM: { Driver: 'default', Config: [{ Subnet: '172.17.0.0/16' }] },
    Internal: false,
    Options: { 'com.docker.network.bridge.default_bridge': 'true', 'com.docker.network.bridge.name': 'docker0' },
    Labels: {},
  },
  { Name: 'host', Id: hexId('net-host'), Scope: 'local', Driver: 'host', IPAM: { Driver: 'default', Config: [] }, Internal: false, Options: {}, Labels: {} },
  { Name: 'none', Id: hexId('net-none'), Scope: 'local', Driver: 'null', IPAM: { Driver: 'default', Config: [] }, Internal: false, Options: {}, Labels: {} },
];

export interface ContainerSpec {
  readonly name: string;
  readonly id: string;
  readonly net: number;
  readonly host: number;
  readonly labels: Record<string, string>;
  readonly extraNet?: { net: number; host: number };
  readonly publish?: number;
}

export function containerJson(c: ContainerSpec): Record<string, unknown> {
  const endpoint = (net: number, host: number) => ({
    IPAMConfig: null,
    Links: null,
    Aliases: null,
    NetworkID: hexId(`net-${net}`),
    EndpointID: hexId(`ep-${c.id}-${net}`),
    Gateway: addressOn(net, 1),
    IPAddress: addressOn(net, host),
    IPPrefixLen: 24,
    IPv6Gateway: '',
    GlobalIPv6Address: '',
    GlobalIPv6PrefixLen: 0,
    MacAddress: '02:42:0a:00:00:00',
    DriverOpts: null,
  });
  const networks: Record<string, unknown> = { [netName(c.net)]: endpoint(c.net, c.host) };
  if (c.extraNet) networks[netName(c.extraNet.net)] = endpoint(c.extraNet.net, c.extraNet.host);
  return {
    Id: c.id,
    Names: [`/${c.name}`],
    Image: 'moat-probe',
    Command: 'serve 80',
    Created: 1_700_000_000,
    Ports: c.publish ? [{ IP: '0.0.0.0', PrivatePort: 80, PublicPort: c.publish, Type: 'tcp' }] : [],
    Labels: c.labels,
    State: 'running',
    Status: 'Up 1 minute',
    HostConfig: { NetworkMode: netName(c.net) },
    NetworkSettings: { Networks: networks },
    Mounts: [],
  };
}

export function containerSpec(j: number, spec: SyntheticSpec): ContainerSpec {
  const { containers: C, networks: N } = spec;
  const net = j % N;
  const host = Math.floor(j / N) + 2;
  if (host > 200) throw new Error(`synthetic spec puts more than 199 containers on one /24: ${C}/${N}`);
  const labels: Record<string, string> = { 'com.docker.compose.project': `p${netName(net)}`, 'com.docker.compose.service': `s${host}` };
  if (j % 5 === 0) labels['moat.egress'] = `${containerName((j + 1) % C)}:80`;
  if (j % 10 === 3) labels['moat.ingress'] = `${containerName((j + 2) % C)}:8080`;
  if (j % 20 === 7) labels['moat.egress'] = 'none';
  if (j % 20 === 11) labels['moat.egress'] = '192.168.50.10:5432, world:443';
  const extra = j % 50 === 13 && N > 1 ? { net: (net + Math.floor(N / 2)) % N, host: 220 + (Math.floor(j / N) % 30) } : undefined;
  return {
    name: containerName(j),
    id: hexId(`ctr-${j}`),
    net,
    host,
    labels,
    ...(extra ? { extraNet: extra } : {}),
    ...(j % 25 === 4 ? { publish: 20_000 + j } : {}),
  };
}

export function synthetic(spec: SyntheticSpec): DockerLists {
  const networks = [...builtinNetworks()];
  for (let i = 0; i < spec.networks; i++) networks.push(network(i));
  const containers: Record<string, unknown>[] = [];
  for (let j = 0; j < spec.containers; j++) containers.push(containerJson(containerSpec(j, spec)));
  return { networks, containers };
}

/**
 * The one-container change: a new container on the network that comes last in
 * MOAT-FORWARD (the worst place for dispatch), with a cross-network grant to
 * container 0 and default world egress. `k` makes each one distinct.
 */
export function extraContainer(spec: SyntheticSpec, k: number): Record<string, unknown> {
  return containerJson({
    name: `extra-${k}`,
    id: hexId(`extra-${k}`),
    net: spec.networks - 1,
    host: 250,
    labels: { 'moat.egress': `${containerName(0)}:80` },
  });
}
