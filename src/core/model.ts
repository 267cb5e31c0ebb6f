// The host snapshot: everything moat knows about Docker at one instant.
// Built only by from-docker.ts (validated, sorted); read-only everywhere else.

export type Family = 4 | 6;

export interface Network {
  readonly id: string;
  readonly name: string;
  readonly driver: string;
  /** Bridge interface name; null for drivers without a host bridge (macvlan, overlay, host, null). */
  readonly bridge: string | null;
  readonly subnets4: readonly string[];
  readonly subnets6: readonly string[];
  readonly internal: boolean;
  readonly icc: boolean;
  readonly nat: boolean;
  readonly options: Readonly<Record<string, string>>;
  readonly labels: Readonly<Record<string, string>>;
}

export interface Endpoint {
  readonly networkId: string;
  readonly ipv4: string | null;
  readonly ipv6: string | null;
  /** Docker 28's GwPriority; absent before 28.0 (the API has no such field: every endpoint 0). */
  readonly gwPriority?: number;
  /** Whether Docker gave the endpoint an IPv4 / IPv6 gateway (Gateway, IPv6Gateway); absent when the list does not say. */
  readonly gateway4?: boolean;
  readonly gateway6?: boolean;
}

export interface PublishedPort {
  readonly containerPort: number;
  readonly proto: 'tcp' | 'udp' | 'sctp';
  readonly hostPort: number;
  /** Host address the port is bound to; '0.0.0.0' or '::' for every address. */
  readonly hostIp: string;
}

/**
 * A port published in routed mode (Docker 28, gateway_mode_ipvN=routed): no
 * host port; Docker opens the container port itself to direct routing, in
 * one family, on the container's gateway endpoint for that family.
 */
export interface RoutedPort {
  readonly containerPort: number;
  readonly proto: 'tcp' | 'udp' | 'sctp';
  readonly family: Family;
}

export interface Container {
  readonly id: string;
  readonly name: string;
  readonly project: string | null;
  readonly service: string | null;
  readonly labels: Readonly<Record<string, string>>;
  /** 'bridge', 'host', 'none', 'default', a network name, or 'container:ID'. */
  readonly networkMode: string;
  readonly endpoints: readonly Endpoint[];
  readonly ports: readonly PublishedPort[];
  /** Ports published without a host port (routed mode); absent when there are none. */
  readonly routedPorts?: readonly RoutedPort[];
}

export interface Snapshot {
  readonly networks: readonly Network[];
  readonly containers: readonly Container[];
}

export interface Problem {
  readonly kind: string;
  readonly subject: string;
  readonly reason: string;
  readonly [detail: string]: unknown;
}

export interface Checked<T> {
  readonly result: T;
  readonly problems: readonly Problem[];
}
