// One origin's flows from what its lookups answered (resolveGrants), and a
// problem for each entry that names nothing, or nothing moat may grant.
import { cut } from './cut.js';
import type { Flow, Side } from './flow.js';
import type { GrantOrigin } from './grant-origin.js';
import type { Entry } from './labels.js';
import type { Problem } from './model.js';
import { flowId } from './rule-ids.js';

/** Peers outside Docker: an internal network never reaches or is reached from them. */
const OUTSIDE_DOCKER: ReadonlySet<Entry['peer']['kind']> = new Set(['world', 'lan', 'host', 'cidr', 'dns']);

/** The flows of one origin from what its lookups answered; problems for the entries that name nothing. */
export function originFlows(
  origin: GrantOrigin,
  self: Side,
  internalOnly: readonly string[] | null,
  resolved: readonly { peers: Side[] | string; docker: string | null }[],
): { flows: Flow[]; problems: Problem[] } {
  const flows: Flow[] = [];
  const problems: Problem[] = [];
  origin.entries.forEach((e, index) => {
    const { peers, docker } = resolved[index]!;
    const report = (kind: 'label_invalid' | 'label_ignored', reason: string) =>
      problems.push({ kind, subject: `container ${origin.container.name}`, container: origin.container.name, key: origin.key, value: cut(e.text), reason });
    if (typeof peers === 'string') {
      report('label_invalid', peers);
      return;
    }
    // An address or CIDR entry wholly inside a Docker subnet stands for the containers there
    // alone: with none there now it grants nothing (until one comes), like a name that matches
    // nothing, and is reported so.
    if (docker !== null && peers.length === 0) {
      report(
        'label_ignored',
        `inside the subnet of Docker network ${JSON.stringify(docker)}, where no other container has an address in it: it grants nothing until one does`,
      );
      return;
    }
    // The containers an address or CIDR entry covers are Docker peers, granted on internal networks too.
    const granted = internalOnly && OUTSIDE_DOCKER.has(e.peer.kind) ? peers.filter((p) => p.kind === 'container') : peers;
    if (internalOnly && granted.length < peers.length) {
      const nets = internalOnly.map((n) => JSON.stringify(n)).join(', ');
      report(
        'label_ignored',
        `only on internal network${internalOnly.length > 1 ? 's' : ''} ${nets}: internal networks never reach world, lan or the host, nor are reached from them`,
      );
    }
    for (const peer of granted) {
      const [from, to] = origin.direction === 'egress' ? [self, peer] : [peer, self];
      flows.push({ from, to, ports: e.ports, proto: e.proto, reason: `${origin.reason}: ${cut(e.text, 100)}`, id: flowId(origin.id, index) });
    }
  });
  return { flows, problems };
}
