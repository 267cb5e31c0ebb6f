// Gives a container a default route through its network's gateway, from the
// host side (`nsenter` into the container's network namespace, which the
// test created): nothing runs inside the container and it needs no
// NET_ADMIN.
//
// Why: from Docker 26 on (not 20.10), a container on an `internal` network
// gets no default route, so anything beyond its subnet is unreachable by
// routing alone. moat must still keep such a network in when a route exists
// (a container with NET_ADMIN sets one itself, the host's own address on the
// bridge is always one hop away), so tests give the route back and every
// "closed" they then see is the firewall's doing, on every engine.
import type Docker from 'dockerode';
import { execaRun, type Run } from './run.js';

export async function addDefaultRoute(docker: Docker, container: string, gateways: readonly string[], run: Run = execaRun): Promise<void> {
  const { State } = await docker.getContainer(container).inspect();
  if (!State.Running || !State.Pid) throw new Error(`container ${container} is not running`);
  for (const gw of gateways) {
    await run('nsenter', [`--net=/proc/${State.Pid}/ns/net`, 'ip', gw.includes(':') ? '-6' : '-4', 'route', 'replace', 'default', 'via', gw]);
  }
}
