import { describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { ConfigSchema } from './config.js';
import { fromDocker } from './from-docker.js';
import { renderGraph } from './graph.js';
import { buildMatrix } from './matrix.js';
import { buildPolicy } from './policy.js';

const config = ConfigSchema.parse({});
const policy = buildPolicy(
  fromDocker(
    dockerLists(
      { front: { subnets: ['172.29.1.0/24'] }, back: { subnets: ['172.29.2.0/24'], labels: { 'moat.egress': 'none' } } },
      {
        proxy: { nets: { front: '172.29.1.2' }, labels: { 'moat.egress': 'app:80' }, ports: [{ containerPort: 80, hostPort: 8080, hostIp: '0.0.0.0' }] },
        app: { nets: { back: '172.29.2.2' }, labels: { 'moat.egress': 'net:front:9000, 10.1.2.0/24:443' } },
        db: { nets: { back: '172.29.2.3' } },
        hosty: { mode: 'host' },
      },
    ),
  ).result,
  config,
);

describe('buildMatrix', () => {
  it('groups containers by network, zones last, and agrees with explain per cell', () => {
    const m = buildMatrix(policy, config);
    expect(m.groups).toEqual([
      { name: 'back', members: ['app', 'db'] },
      { name: 'front', members: ['proxy'] },
    ]);
    expect(m.nodes.map((n) => n.name)).toEqual(['app', 'db', 'proxy', 'host', 'lan', 'world']);
    const cell = (a: string, b: string) => m.cells[m.nodes.findIndex((n) => n.name === a)]![m.nodes.findIndex((n) => n.name === b)]!.value;
    expect(cell('proxy', 'app')).toBe('partial');
    expect(cell('app', 'db')).toBe('allowed');
    expect(cell('db', 'proxy')).toBe('denied');
    expect(cell('proxy', 'world')).toBe('allowed');
    expect(cell('app', 'world')).toBe('denied');
    expect(cell('app', 'app')).toBe('self');
    expect(cell('lan', 'world')).toBe('unfiltered');
    expect(m.notes.join()).toContain('hosty: host network mode');
    expect(buildMatrix(policy, config, { port: 80 }).cells[2]![0]!.value).toBe('allowed');
  });
});

describe('renderGraph', () => {
  it('draws networks as subgraphs, flows and published ports as labelled edges', () => {
    const mermaid = renderGraph(policy, config, 'mermaid');
    expect(mermaid).toBe(`flowchart LR
  subgraph net0["back"]
    c0["app"]
    c1["db"]
  end
  subgraph net1["front"]
    c3["proxy"]
  end
  x0[/"10.1.2.0/24"/]
  world(("world"))
  c0 -->|"tcp/9000"| net1
  c0 -->|"tcp/443"| x0
  c3 -->|"tcp/80"| c0
  world -.->|"published 8080→80/tcp"| c3
`);
    const dot = renderGraph(policy, config, 'dot');
    expect(dot).toContain('subgraph cluster_net0 {');
    expect(dot).toContain('c0 -> c3 [label="tcp/9000", lhead=cluster_net1];');
    expect(dot).toContain('world -> c3 [label="published 8080→80/tcp", style=dashed];');
  });
});
