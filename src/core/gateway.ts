// The endpoint Docker uses as a container's gateway, per address family: the
// one its default route goes through, and the one Docker programs published
// ports on. moat DNATs a published port there, so that replies leave the way
// the request came in (another endpoint would answer by the default route,
// through another bridge, where strict reverse-path filtering drops it).
//
// libnetwork's rule (moby v28.5.2, libnetwork/sandbox.go Endpoint.Less and
// libnetwork/default_gateway.go selectGatewayEndpoint): endpoints in order of
// GwPriority (highest first), then the Swarm gateway network last, internal
// networks last, endpoints with both gateways before one before none, then
// the network name; the first dual-stack endpoint with a gateway is the
// gateway of both families, else the first with an IPv4 gateway is IPv4's
// and the first with an IPv6 gateway IPv6's. Before 28.0 (20.10, 26.1)
// GwPriority is not in the API (every endpoint 0), the order is the same and
// the first endpoint with an IPv4 gateway serves both families
// (default_gateway.go getGatewayEndpoint): the same choice, since an
// IPv6-only network only exists from 28.0 on.
import type { Container, Endpoint, Family, Network } from './model.js';

/** Docker's Swarm gateway network: sorted after every other (libnetwork endpointInGWNetwork). */
const SWARM_GATEWAY = 'docker_gwbridge';

/**
 * Whether Docker gave the endpoint a gateway in this family: what the list
 * says (Gateway / IPv6Gateway), else (a list without those fields) an address
 * of that family on a network that is not internal.
 */
export function hasGateway(ep: Endpoint, net: Network, family: Family): boolean {
  const said = family === 4 ? ep.gateway4 : ep.gateway6;
  if (said !== undefined) return said;
  return (family === 4 ? ep.ipv4 : ep.ipv6) !== null && !net.internal;
}

/** The container's endpoints in libnetwork's gateway order (Endpoint.Less). */
function gatewayOrder(c: Container, networkOf: (id: string) => Network | undefined): { ep: Endpoint; net: Network }[] {
  const eps: { ep: Endpoint; net: Network }[] = [];
  for (const ep of c.endpoints) {
    const net = networkOf(ep.networkId);
    if (net && net.driver !== 'null' && net.driver !== 'host') eps.push({ ep, net });
  }
  const gwCount = (e: { ep: Endpoint; net: Network }) => Number(hasGateway(e.ep, e.net, 4)) + Number(hasGateway(e.ep, e.net, 6));
  return eps.sort(
    (a, b) =>
      (b.ep.gwPriority ?? 0) - (a.ep.gwPriority ?? 0) ||
      Number(a.net.name === SWARM_GATEWAY) - Number(b.net.name === SWARM_GATEWAY) ||
      Number(a.net.internal) - Number(b.net.internal) ||
      gwCount(b) - gwCount(a) ||
      (a.net.name < b.net.name ? -1 : a.net.name > b.net.name ? 1 : 0),
  );
}

/** The container's gateway endpoint for `family` and its network, or null when it has none there. */
export function gatewayEndpoint(c: Container, networkOf: (id: string) => Network | undefined, family: Family): { ep: Endpoint; net: Network } | null {
  const order = gatewayOrder(c, networkOf);
  // Before 28.0 (no GwPriority in the list): the first endpoint with an IPv4
  // gateway is the gateway of both families, whatever the others have.
  if (order.length > 0 && order.every((e) => e.ep.gwPriority === undefined) && order.some((e) => e.ep.gateway4 !== undefined)) {
    const gw = order.find((e) => hasGateway(e.ep, e.net, 4)) ?? null;
    return gw && hasGateway(gw.ep, gw.net, family) ? gw : null;
  }
  let first: { ep: Endpoint; net: Network } | null = null;
  for (const e of order) {
    const v4 = hasGateway(e.ep, e.net, 4);
    const v6 = hasGateway(e.ep, e.net, 6);
    if (v4 && v6) return e; // the first dual-stack gateway serves both, even past a higher-priority single-stack one
    if (!first && (family === 4 ? v4 : v6)) first = e;
  }
  return first;
}
