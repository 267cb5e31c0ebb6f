// Docker list JSON -> Snapshot. Docker data is input like any other: each
// field is checked, anything odd is skipped and reported, never rendered raw.
// One object at a time: docker-network.ts, docker-container.ts; what is kept
// between calls: from-docker-memo.ts.
import { toContainer } from './docker-container.js';
import { toNetwork } from './docker-network.js';
import { byNameThenId, createFromDockerMemo, type FromDockerMemo, parseOnce, patched } from './from-docker-memo.js';
import type { Checked, Container, Network, Problem, Snapshot } from './model.js';

export interface DockerLists {
  readonly networks: readonly unknown[];
  readonly containers: readonly unknown[];
}

/** Builds the snapshot from `GET /networks` and `GET /containers/json` answers. Never throws. */
export function fromDocker(lists: DockerLists, memo: FromDockerMemo = createFromDockerMemo()): Checked<Snapshot> {
  const problems: Problem[] = [];
  const networks = lists.networks.map((n) => parseOnce(memo.networks, n, toNetwork, problems)).filter((n): n is Network => n !== null);
  const sortedNetworks = [...new Map(networks.map((n) => [n.id, n])).values()].sort(byNameThenId);
  // Until this call completes, nothing is known about the last one: patched() edits its index.
  const last = memo.last;
  memo.last = null;
  const quick = patched(memo, last, lists.containers);
  if (quick && last) {
    memo.last = { raws: lists.containers, sorted: quick.sorted, byId: quick.byId, problems: last.problems };
    return { result: { networks: sortedNetworks, containers: quick.sorted }, problems: [...problems, ...last.problems] };
  }
  const own: Problem[] = [];
  const containers = lists.containers.map((c) => parseOnce(memo.containers, c, toContainer, own)).filter((c): c is Container => c !== null);
  const byId = new Map(containers.map((c) => [c.id, c]));
  const sorted = [...byId.values()].sort(byNameThenId);
  if (byId.size === containers.length) memo.last = { raws: lists.containers, sorted, byId, problems: own };
  return { result: { networks: sortedNetworks, containers: sorted }, problems: [...problems, ...own] };
}
