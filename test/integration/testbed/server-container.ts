// Probe servers in containers: busybox httpd on a few ports, started through
// testcontainers-node. Its default wait strategy connects to mapped ports from
// the test process, which lives in the machine's namespace and cannot reach
// the bed's; the image's `serve` prints "ready" once every port listens, so
// we wait for that log line instead.
import type Docker from 'dockerode';
import type { ContainerInspectInfo } from 'dockerode';
import { GenericContainer, Wait, type StartedTestContainer } from 'testcontainers';
import { PROBE_IMAGE } from './probe-image.js';
import { bindTestcontainers } from './testcontainers-binding.js';

export interface Publish {
  readonly containerPort: number;
  readonly hostPort: number;
  /** Default: all addresses (0.0.0.0 and ::). */
  readonly hostIp?: string;
  readonly protocol?: 'tcp' | 'udp';
}

export interface ServerSpec {
  readonly name?: string;
  /** Networks to join; the first at create, the others before the container starts. */
  readonly networks?: readonly string[];
  /** GwPriority of a network joined after create (`docker network connect --gw-priority`, Docker 28+). */
  readonly gwPriority?: Readonly<Record<string, number>>;
  /** Static addresses by network (`docker run --ip/--ip6`, `docker network connect --ip`). */
  readonly addresses?: Readonly<Record<string, StaticAddress>>;
  /** `none`, `host`, `container:NAME` (instead of `networks`). */
  readonly networkMode?: string;
  readonly labels?: Readonly<Record<string, string>>;
  /** Ports httpd listens on inside the container. Default 80 and 8080. */
  readonly ports?: readonly number[];
  readonly publish?: readonly Publish[];
  readonly image?: string;
}

export interface StaticAddress {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

const ipamConfig = (a: StaticAddress | undefined) =>
  a === undefined ? {} : { IPAMConfig: { ...(a.ipv4 ? { IPv4Address: a.ipv4 } : {}), ...(a.ipv6 ? { IPv6Address: a.ipv6 } : {}) } };

export interface ServerContainer extends AsyncDisposable {
  readonly id: string;
  readonly name: string;
  readonly started: StartedTestContainer;
  /** Address on a network, as of the last inspect (start, or refresh()). */
  ipv4(network: string): string;
  ipv6(network: string): string;
  refresh(): Promise<ContainerInspectInfo>;
  stop(): Promise<void>;
}

// testcontainers only binds HostPort and joins one network at create; the two
// protected hooks below add host IPs and further networks.
class ProbeServer extends GenericContainer {
  constructor(
    image: string,
    private readonly docker: Docker,
    private readonly moreNetworks: readonly string[],
    private readonly gwPriority: Readonly<Record<string, number>> = {},
    private readonly addresses: Readonly<Record<string, StaticAddress>> = {},
  ) {
    super(image);
  }

  /** The static address on the network joined at create. */
  withStaticAddress(network: string): this {
    const a = this.addresses[network];
    if (a) this.createOpts.NetworkingConfig = { EndpointsConfig: { [network]: ipamConfig(a) } };
    return this;
  }

  withPublished(publish: readonly Publish[]): this {
    for (const p of publish) {
      const key = `${p.containerPort}/${p.protocol ?? 'tcp'}`;
      this.createOpts.ExposedPorts = { ...this.createOpts.ExposedPorts, [key]: {} };
      const bindings = this.hostConfig.PortBindings?.[key] ?? [];
      this.hostConfig.PortBindings = { ...this.hostConfig.PortBindings, [key]: [...bindings, { HostIp: p.hostIp ?? '', HostPort: String(p.hostPort) }] };
    }
    return this;
  }

  protected override async containerCreated(containerId: string): Promise<void> {
    for (const network of this.moreNetworks) {
      const prio = this.gwPriority[network];
      // dockerode's EndpointSettings type predates GwPriority (API 1.48).
      const config = { ...(prio === undefined ? {} : { GwPriority: prio }), ...ipamConfig(this.addresses[network]) };
      const endpoint = Object.keys(config).length === 0 ? {} : { EndpointConfig: config as object };
      await this.docker.getNetwork(network).connect({ Container: containerId, ...endpoint });
    }
  }
}

export async function startServerContainer(engine: { docker: Docker; dockerHost: string }, spec: ServerSpec = {}): Promise<ServerContainer> {
  await bindTestcontainers(engine.dockerHost);
  const [first, ...more] = spec.networks ?? [];
  const mode = spec.networkMode ?? first;
  let container = new ProbeServer(spec.image ?? PROBE_IMAGE, engine.docker, more, spec.gwPriority, spec.addresses)
    .withCommand(['serve', ...(spec.ports ?? [80, 8080]).map(String)])
    .withLabels({ ...spec.labels })
    .withPublished(spec.publish ?? [])
    .withAutoCleanup(false)
    .withWaitStrategy(Wait.forLogMessage('ready'))
    .withStartupTimeout(15_000);
  if (spec.name) container = container.withName(spec.name);
  if (mode) container = container.withNetworkMode(mode);
  if (first && !spec.networkMode) container = container.withStaticAddress(first);
  const started = await container.start();
  let info = await engine.docker.getContainer(started.getId()).inspect();
  const endpoint = (network: string) => {
    const ep = info.NetworkSettings.Networks[network];
    if (!ep) throw new Error(`${info.Name} is not on network ${network}`);
    return ep;
  };
  let stopping: Promise<void> | null = null;
  const stop = () => (stopping ??= started.stop({ remove: true, timeout: 0 }).then(() => undefined));
  return {
    id: started.getId(),
    name: info.Name.replace(/^\//, ''),
    started,
    ipv4: (network) => endpoint(network).IPAddress,
    ipv6: (network) => endpoint(network).GlobalIPv6Address,
    async refresh() {
      info = await engine.docker.getContainer(started.getId()).inspect();
      return info;
    },
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
