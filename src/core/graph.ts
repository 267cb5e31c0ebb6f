// Networks as clusters, containers as nodes, granted flows (labels, policy
// files) and published ports as labelled edges, in Mermaid or Graphviz DOT.
// Default reach (same network, world egress) is the legend, not an edge: at
// thirty containers it would bury the flows someone asked for.
import { assertNever } from './assert-never.js';
import type { Config } from './config.js';
import type { Flow, Side } from './flow.js';
import type { Policy } from './policy.js';

export type GraphFormat = 'mermaid' | 'dot';

interface Cluster {
  readonly id: string;
  readonly label: string;
  readonly members: { readonly id: string; readonly label: string }[];
}

interface Edge {
  readonly from: string;
  readonly to: string;
  readonly label: string;
  readonly dashed: boolean;
  /** DOT: the edge ends at a cluster (lhead). */
  readonly toCluster?: string;
  readonly fromCluster?: string;
}

const portLabel = (f: Pick<Flow, 'ports' | 'proto'>) => {
  if (f.proto === null) return 'any';
  if (f.ports === null) return f.proto === 'icmp' ? 'icmp' : `${f.proto}/any`;
  return `${f.proto}/${f.ports.lo === f.ports.hi ? f.ports.lo : `${f.ports.lo}-${f.ports.hi}`}`;
};

/** The graph as data: clusters per network, zone and CIDR nodes, deduplicated edges. */
function model(
  policy: Policy,
  _config: Config,
): { clusters: Cluster[]; extra: { id: string; label: string; shape: 'zone' | 'cidr' }[]; edges: Edge[]; networkNodes: Map<string, string> } {
  const netName = new Map(policy.networks.map((n) => [n.network.id, n.network.name]));
  const clusters: Cluster[] = policy.networks
    .filter((n) => policy.containers.some((c) => c.container.endpoints.some((e) => e.networkId === n.network.id)))
    .map((n, i) => ({ id: `net${i}`, label: `${n.network.name}${n.network.internal ? ' (internal)' : ''}`, members: [] as { id: string; label: string }[] }));
  const clusterByName = new Map(clusters.map((c, i) => [c.label.split(' ')[0]!, { cluster: c, index: i }]));
  const nodeOf = new Map<string, string>();
  policy.containers.forEach(({ container: c }, i) => {
    const nets = c.endpoints
      .map((e) => netName.get(e.networkId))
      .filter((n): n is string => n !== undefined)
      .sort();
    const home = nets[0] ? clusterByName.get(nets[0]) : undefined;
    if (!home) return;
    const id = `c${i}`;
    nodeOf.set(c.id, id);
    home.cluster.members.push({ id, label: nets.length > 1 ? `${c.name} (+ ${nets.slice(1).join(', ')})` : c.name });
  });
  const networkNodes = new Map(clusters.map((c) => [c.label.split(' ')[0]!, c.id]));
  const extra: { id: string; label: string; shape: 'zone' | 'cidr' }[] = [];
  const zone = (z: string) => {
    if (!extra.some((e) => e.id === z)) extra.push({ id: z, label: z, shape: 'zone' });
    return z;
  };
  const cidrs = new Map<string, string>();
  const end = (s: Side): { node: string; cluster?: string } | null => {
    switch (s.kind) {
      case 'container':
        return nodeOf.has(s.container.id) ? { node: nodeOf.get(s.container.id)! } : null;
      case 'network': {
        const id = networkNodes.get(s.network.name);
        return id ? { node: id, cluster: id } : null;
      }
      case 'cidr': {
        if (!cidrs.has(s.cidr)) {
          cidrs.set(s.cidr, `x${cidrs.size}`);
          extra.push({ id: cidrs.get(s.cidr)!, label: s.cidr, shape: 'cidr' });
        }
        return { node: cidrs.get(s.cidr)! };
      }
      case 'dns': {
        // An address node, like a CIDR's: what it stands for is learned from answers.
        const key = `dns:${s.pattern}`;
        if (!cidrs.has(key)) {
          cidrs.set(key, `x${cidrs.size}`);
          extra.push({ id: cidrs.get(key)!, label: key, shape: 'cidr' });
        }
        return { node: cidrs.get(key)! };
      }
      case 'world':
      case 'lan':
      case 'host':
        return { node: zone(s.kind) };
      default:
        return assertNever(s);
    }
  };
  const edges = new Map<string, Edge>();
  for (const f of policy.flows) {
    const a = end(f.from);
    const b = end(f.to);
    if (!a || !b) continue;
    const e: Edge = { from: a.node, to: b.node, label: portLabel(f), dashed: false, toCluster: b.cluster, fromCluster: a.cluster };
    edges.set(`${e.from}>${e.to}>${e.label}`, e);
  }
  for (const { container: c } of policy.containers) {
    const id = nodeOf.get(c.id);
    if (!id) continue;
    const seen = new Set<string>();
    const published = [
      ...c.ports.map((p) => `published ${p.hostPort}→${p.containerPort}/${p.proto}`),
      ...(c.routedPorts ?? []).map((p) => `published routed ${p.containerPort}/${p.proto}`),
    ];
    for (const label of published) {
      if (seen.has(label)) continue;
      seen.add(label);
      const e: Edge = { from: zone('world'), to: id, label, dashed: true };
      edges.set(`${e.from}>${e.to}>${e.label}`, e);
    }
  }
  return { clusters, extra, edges: [...edges.values()], networkNodes };
}

const q = (s: string) => s.replace(/"/g, "'");

export function renderGraph(policy: Policy, config: Config, format: GraphFormat): string {
  const { clusters, extra, edges } = model(policy, config);
  const lines: string[] = [];
  if (format === 'mermaid') {
    lines.push('flowchart LR');
    for (const c of clusters) {
      lines.push(`  subgraph ${c.id}["${q(c.label)}"]`);
      for (const m of c.members) lines.push(`    ${m.id}["${q(m.label)}"]`);
      lines.push('  end');
    }
    for (const x of extra) lines.push(x.shape === 'zone' ? `  ${x.id}(("${x.label}"))` : `  ${x.id}[/"${x.label}"/]`);
    for (const e of edges) lines.push(`  ${e.from} ${e.dashed ? '-.->' : '-->'}|"${q(e.label)}"| ${e.to}`);
    return `${lines.join('\n')}\n`;
  }
  lines.push(
    'digraph moat {',
    '  rankdir=LR;',
    '  compound=true;',
    '  node [shape=box, fontname="sans-serif"];',
    '  edge [fontname="sans-serif", fontsize=10];',
  );
  const anchor = new Map<string, string>();
  for (const c of clusters) {
    lines.push(`  subgraph cluster_${c.id} {`, `    label="${q(c.label)}";`);
    for (const m of c.members) lines.push(`    ${m.id} [label="${q(m.label)}"];`);
    anchor.set(c.id, c.members[0]?.id ?? `${c.id}_anchor`);
    if (c.members.length === 0) lines.push(`    ${c.id}_anchor [shape=point, style=invis];`);
    lines.push('  }');
  }
  for (const x of extra) lines.push(`  ${x.id} [label="${q(x.label)}", shape=${x.shape === 'zone' ? 'ellipse' : 'parallelogram'}];`);
  for (const e of edges) {
    const attrs = [`label="${q(e.label)}"`];
    if (e.dashed) attrs.push('style=dashed');
    if (e.toCluster) attrs.push(`lhead=cluster_${e.toCluster}`);
    if (e.fromCluster) attrs.push(`ltail=cluster_${e.fromCluster}`);
    const from = e.fromCluster ? anchor.get(e.fromCluster)! : e.from;
    const to = e.toCluster ? anchor.get(e.toCluster)! : e.to;
    lines.push(`  ${from} -> ${to} [${attrs.join(', ')}];`);
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
