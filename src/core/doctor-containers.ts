// `moat doctor`'s checks of what runs on Docker: Swarm mode off, the userland
// proxy as publishMode expects it, and no container that can escape moat.
import type { Config } from './config.js';
import type { Check, CheckStatus } from './doctor-check.js';
import { checkList } from './doctor-check-list.js';
import type { DoctorFacts } from './doctor-facts.js';
import { daemonJsonKeys, dockerdBool } from './dockerd-flags.js';

export function containerChecks(f: DoctorFacts, config: Config): Check[] {
  const { checks, add } = checkList();
  if (!f.docker.reachable || f.docker.swarm === undefined) add('swarm', 'Swarm mode off', 'skip', 'Docker not reachable');
  else if (f.docker.swarm === 'inactive' || f.docker.swarm === '') add('swarm', 'Swarm mode off', 'pass', 'swarm inactive');
  else
    add(
      'swarm',
      'Swarm mode off',
      'fail',
      `swarm is ${f.docker.swarm}: overlay and ingress networks bypass the host's netfilter, moat cannot firewall them (unsupported)`,
      'docker swarm leave --force on this host, or do not run moat here',
    );

  const proxy = dockerdBool(f.dockerdArgs, daemonJsonKeys(f.daemonJson.text), 'userland-proxy') ?? true;
  if (config.publishMode === 'proxy' && !proxy)
    add(
      'userland-proxy',
      'userland proxy matches publishMode',
      'fail',
      'publishMode: proxy, but Docker runs with userland-proxy false: published ports answer nothing',
      'set publishMode: dnat in the moat config, or remove "userland-proxy": false from Docker',
    );
  else if (config.publishMode === 'dnat' && !proxy)
    add(
      'userland-proxy',
      'userland proxy matches publishMode',
      'warn',
      'publishMode: dnat without the userland proxy: host-local clients on 127.0.0.1/::1 cannot reach published ports',
      "enable Docker's userland-proxy (the default) if local clients use published ports",
    );
  else add('userland-proxy', 'userland proxy matches publishMode', 'pass', `publishMode: ${config.publishMode}, userland-proxy ${proxy ? 'on' : 'off'}`);

  const risky: string[] = [];
  let worst: CheckStatus = 'pass';
  for (const c of f.containers) {
    const netAdmin = c.capAdd.some((x) => /^(CAP_)?(NET_ADMIN|ALL)$/i.test(x));
    const host = c.networkMode === 'host';
    if (host && (c.privileged || netAdmin)) {
      worst = 'fail';
      risky.push(`${c.name}: host network mode with ${c.privileged ? 'privileged' : 'NET_ADMIN'}: it can rewrite the host's firewall, moat's chains included`);
    } else if (host) {
      if (worst === 'pass') worst = 'warn';
      risky.push(`${c.name}: host network mode: it is the host, a host firewall cannot isolate it`);
    } else if (c.privileged || netAdmin) {
      if (worst === 'pass') worst = 'warn';
      risky.push(
        `${c.name}: ${c.privileged ? 'privileged' : 'NET_ADMIN'}: it can change its own address and so borrow another container's grants${c.privileged ? ', and reach host devices' : ''}`,
      );
    }
  }
  add(
    'containers',
    'no host-network, privileged or NET_ADMIN containers',
    f.docker.reachable ? worst : 'skip',
    risky.length ? risky.join('; ') : f.docker.reachable ? `${f.containers.length} containers, none risky` : 'Docker not reachable',
    'run them on a bridge network without --privileged or --cap-add NET_ADMIN, or accept that moat cannot isolate them',
  );
  return checks;
}
