// One `GET /containers/json` object -> a Container (from-docker.ts), or null and a problem.
import { parseAddress } from './addr.js';
import { ID, obj, str, strMap } from './docker-json.js';
import type { Container, Endpoint, Problem, PublishedPort, RoutedPort } from './model.js';

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

export function toContainer(raw: unknown, problems: Problem[]): Container | null {
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
