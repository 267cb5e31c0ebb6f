// Tiny builders for Docker list answers (GET /networks, GET /containers/json),
// so unit tests can state a host in a few lines.
import { createHash } from 'node:crypto';
import type { DockerLists } from '../../src/core/from-docker.js';

const id = (kind: string, name: string) => createHash('sha256').update(`${kind}:${name}`).digest('hex');

export interface NetSpec {
  readonly subnets: readonly string[];
  readonly internal?: boolean;
  readonly driver?: string;
  readonly labels?: Record<string, string>;
  readonly options?: Record<string, string>;
}

export interface CtrSpec {
  /** network name -> IPv4 (and optionally ",IPv6") address. */
  readonly nets?: Record<string, string>;
  readonly labels?: Record<string, string>;
  readonly mode?: string;
  readonly ports?: readonly { containerPort: number; hostPort: number; proto?: string; hostIp?: string }[];
}

export const netId = (name: string) => id('net', name);
export const ctrId = (name: string) => id('ctr', name);

export function dockerLists(nets: Record<string, NetSpec>, ctrs: Record<string, CtrSpec>): DockerLists {
  return {
    networks: Object.entries(nets).map(([name, n]) => ({
      Name: name,
      Id: netId(name),
      Driver: n.driver ?? 'bridge',
      Internal: n.internal ?? false,
      IPAM: { Config: n.subnets.map((Subnet) => ({ Subnet })) },
      Options: n.options ?? {},
      Labels: n.labels ?? {},
    })),
    containers: Object.entries(ctrs).map(([name, c]) => ({
      Id: ctrId(name),
      Names: [`/${name}`],
      Labels: c.labels ?? {},
      HostConfig: { NetworkMode: c.mode ?? Object.keys(c.nets ?? {})[0] ?? 'none' },
      Ports: (c.ports ?? []).flatMap((p) => {
        const ips = p.hostIp ? [p.hostIp] : ['0.0.0.0', '::'];
        return ips.map((IP) => ({ IP, PrivatePort: p.containerPort, PublicPort: p.hostPort, Type: p.proto ?? 'tcp' }));
      }),
      NetworkSettings: {
        Networks: Object.fromEntries(
          Object.entries(c.nets ?? {}).map(([net, addrs]) => {
            const [v4 = '', v6 = ''] = addrs.split(',');
            return [net, { NetworkID: netId(net), IPAddress: v4, GlobalIPv6Address: v6 }];
          }),
        ),
      },
    })),
  };
}
