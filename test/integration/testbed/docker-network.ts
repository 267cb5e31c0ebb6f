// A user-defined bridge network on the private engine, with the bridge
// interface name moat will see (docs/design.md#bridge-names).
import type Docker from 'dockerode';

export interface NetworkSpec {
  readonly name: string;
  /** IPv4 and/or IPv6 subnets; an IPv6 one turns IPv6 on (20.10 needs no daemon flag for that). */
  readonly subnets?: readonly string[];
  readonly internal?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  /** Driver options, e.g. com.docker.network.bridge.enable_icc. */
  readonly options?: Readonly<Record<string, string>>;
}

export interface DockerNetwork extends AsyncDisposable {
  readonly id: string;
  readonly name: string;
  /** The Linux bridge in the host namespace. */
  readonly bridge: string;
  remove(): Promise<void>;
}

export async function createDockerNetwork(docker: Docker, spec: NetworkSpec): Promise<DockerNetwork> {
  const subnets = spec.subnets ?? [];
  const network = await docker.createNetwork({
    Name: spec.name,
    Driver: 'bridge',
    CheckDuplicate: true,
    EnableIPv6: subnets.some((s) => s.includes(':')),
    Internal: spec.internal ?? false,
    IPAM: { Driver: 'default', Config: subnets.map((Subnet) => ({ Subnet })) },
    Labels: { ...spec.labels },
    Options: { ...spec.options },
  });
  const id = network.id;
  let removed: Promise<void> | null = null;
  const remove = () =>
    (removed ??= network.remove().then(
      () => undefined,
      () => undefined,
    ));
  return {
    id,
    name: spec.name,
    bridge: spec.options?.['com.docker.network.bridge.name'] ?? `br-${id.slice(0, 12)}`,
    remove,
    [Symbol.asyncDispose]: remove,
  };
}
