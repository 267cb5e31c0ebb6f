// A container whose own command connects once, right at start, with no
// retry — the way an app fetches its config or runs migrations at boot —
// and reports whether that first connection opened. Created and started
// through the API (what `docker run -d` does), removed afterwards.
import type Docker from 'dockerode';
import { PROBE_IMAGE } from './probe-image.js';
import { url } from './probe.js';

export interface FirstConnectionSpec {
  readonly name: string;
  /** The network it is created on (`NetworkMode`); `also` are connected before start, as compose does. */
  readonly network: string;
  readonly also?: readonly string[];
  readonly labels?: Readonly<Record<string, string>>;
  readonly to: string;
  readonly port: number;
  /** Keep running afterwards (serving httpd on 80) instead of exiting. */
  readonly stay?: boolean;
  readonly image?: string;
  /** A runtime other than the engine's default (`runc`: around the start gate). */
  readonly runtime?: string;
}

export interface FirstConnection {
  readonly id: string;
  readonly name: string;
  /** Resolves with the verdict of the container's first (and only) connection. */
  readonly result: Promise<'open' | 'closed'>;
  /** What the container printed (wget's error tells why a connection was closed). */
  logs(): Promise<string>;
  remove(): Promise<void>;
}

const MARK = { open: 'FIRST-CONNECTION-OPEN', closed: 'FIRST-CONNECTION-CLOSED' } as const;

/** The container's command: one wget, 3 s at most (busybox 1.35's own -T crashes), and one line saying how it went. */
export function firstConnectionCommand(to: string, port: number, stay = false): string[] {
  const then = stay ? '; httpd -p 80 -h /www; exec sleep 2147483647' : '';
  return ['/bin/sh', '-c', `if timeout 3 wget -q -O /dev/null '${url(to, port)}'; then echo ${MARK.open}; else echo ${MARK.closed}; fi${then}`];
}

export async function startFirstConnection(docker: Docker, spec: FirstConnectionSpec): Promise<FirstConnection> {
  const container = await docker.createContainer({
    name: spec.name,
    Image: spec.image ?? PROBE_IMAGE,
    Cmd: firstConnectionCommand(spec.to, spec.port, spec.stay),
    Labels: { ...spec.labels },
    HostConfig: { NetworkMode: spec.network, ...(spec.runtime ? { Runtime: spec.runtime } : {}) },
  });
  for (const net of spec.also ?? []) await docker.getNetwork(net).connect({ Container: container.id });
  await container.start();
  const result = (async () => {
    for (let i = 0; i < 200; i++) {
      const logs = (await container.logs({ stdout: true, stderr: true })).toString('utf8');
      if (logs.includes(MARK.open)) return 'open' as const;
      if (logs.includes(MARK.closed)) return 'closed' as const;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`${spec.name}: no verdict from its first connection within 10 s`);
  })();
  return {
    id: container.id,
    name: spec.name,
    result,
    logs: async () => (await container.logs({ stdout: true, stderr: true })).toString('utf8'),
    remove: () =>
      container.remove({ force: true }).then(
        () => undefined,
        () => undefined,
      ),
  };
}
