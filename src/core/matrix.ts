// Every container (and the zones host, lan, world) against every other: the
// verdict of `explain` for each pair, grouped by network. One Explainer
// answers them all, so the matrix is exactly what `moat explain` says.
import type { Config } from './config.js';
import { Explainer } from './explain.js';
import type { Proto } from './labels.js';
import { pushTo } from './maps.js';
import type { Container, Family } from './model.js';
import type { Policy } from './policy.js';

export type CellValue = 'allowed' | 'denied' | 'partial' | 'self' | 'unfiltered';

export interface MatrixNode {
  /** Container name, or `host`, `lan`, `world`. */
  readonly name: string;
  readonly kind: 'container' | 'host' | 'lan' | 'world';
  /** The networks the container is on, by name (empty for zones). */
  readonly networks: readonly string[];
}

export interface MatrixCell {
  readonly from: string;
  readonly to: string;
  /** `partial`: some ports, protocols or addresses get the other verdict (see `moat explain`). */
  readonly value: CellValue;
  readonly reason: string;
  readonly rule: string | null;
}

export interface Matrix {
  readonly family: Family;
  readonly port: number | null;
  readonly proto: Proto | null;
  /** Containers grouped by their first network (by name); zones last. */
  readonly groups: readonly { readonly name: string; readonly members: readonly string[] }[];
  readonly nodes: readonly MatrixNode[];
  /** Row-major: cells[i][j] is nodes[i] -> nodes[j]. */
  readonly cells: readonly (readonly MatrixCell[])[];
  readonly notes: readonly string[];
}

export interface MatrixOptions {
  readonly family?: Family;
  readonly port?: number | null;
  readonly proto?: Proto | null;
  readonly hostAddresses?: readonly string[];
}

const ZONES = ['host', 'lan', 'world'] as const;

export function buildMatrix(policy: Policy, config: Config, options: MatrixOptions = {}): Matrix {
  const family = options.family ?? 4;
  const port = options.port ?? null;
  const proto = options.proto ?? (port !== null ? 'tcp' : null);
  const x = new Explainer(policy, config, { hostAddresses: options.hostAddresses });
  const nets = new Map(policy.networks.map((n) => [n.network.id, n.network.name]));
  const notes: string[] = [];
  const netNames = (c: Container) =>
    c.endpoints
      .map((e) => nets.get(e.networkId))
      .filter((n): n is string => n !== undefined)
      .sort();

  const containers: Container[] = [];
  for (const { container: c } of policy.containers) {
    if (c.networkMode === 'host') notes.push(`${c.name}: host network mode (it is the host; not isolatable)`);
    else if (c.networkMode.startsWith('container:')) notes.push(`${c.name}: shares another container's network namespace (that container's row applies)`);
    else if (!c.endpoints.some((e) => (family === 4 ? e.ipv4 : e.ipv6))) notes.push(`${c.name}: no IPv${family} address`);
    else containers.push(c);
  }
  const groups = new Map<string, string[]>();
  for (const c of [...containers].sort((a, b) => (netNames(a)[0] ?? '').localeCompare(netNames(b)[0] ?? '') || a.name.localeCompare(b.name))) {
    const g = netNames(c)[0] ?? '(none)';
    pushTo(groups, g, c.name);
  }
  const ordered = [...groups.values()].flat();
  const byName = new Map(containers.map((c) => [c.name, c]));
  const nodes: MatrixNode[] = [
    ...ordered.map((name): MatrixNode => ({ name, kind: 'container', networks: netNames(byName.get(name)!) })),
    ...ZONES.map((z): MatrixNode => ({ name: z, kind: z, networks: [] })),
  ];

  const cells = nodes.map((from) =>
    nodes.map((to): MatrixCell => {
      if (from.name === to.name) return { from: from.name, to: to.name, value: 'self', reason: '', rule: null };
      if (from.kind !== 'container' && to.kind !== 'container' && !(to.kind === 'host' && port !== null)) {
        return { from: from.name, to: to.name, value: 'unfiltered', reason: 'neither end is a Docker network', rule: null };
      }
      const r = x.explain(from.name, to.name, port, proto, family);
      if (!r.ok) return { from: from.name, to: to.name, value: 'denied', reason: r.error, rule: null };
      const e = r.explanation;
      const value: CellValue =
        e.exceptions.length > 0
          ? 'partial'
          : e.decision.kind === 'unfiltered' && from.kind !== 'container' && to.kind !== 'container'
            ? 'unfiltered'
            : e.verdict === 'unknown' // never for a zone (no address, no set lookup); kept apart from allowed/denied all the same
              ? 'partial'
              : e.verdict;
      return { from: from.name, to: to.name, value, reason: e.decision.reason, rule: e.decision.rule };
    }),
  );
  return { family, port, proto, groups: [...groups].map(([name, members]) => ({ name, members })), nodes, cells, notes };
}
