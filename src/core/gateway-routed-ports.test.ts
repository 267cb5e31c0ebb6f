// Ports published in routed mode (Docker 28: a host address, no host port):
// read apart from exposed ports, and opened to direct routing on the gateway endpoint.
import { describe, expect, it } from 'vitest';
import { ctrId, dockerLists } from '../../test/fakes/docker-lists.js';
import { lines, rules } from '../../test/fakes/gateway-lists.js';
import { DEFAULT_CONFIG, type Config } from './config.js';
import { fromDocker } from './from-docker.js';
import { renderGraph } from './graph.js';
import { buildPolicy } from './policy.js';

describe('ports published in routed mode (no host port)', () => {
  const WEB = `moat:published:${ctrId('web').slice(0, 12)}:`;
  const routed = (mode4: string, labels: Record<string, string> = {}) => {
    const lists = dockerLists(
      {
        r: {
          subnets: ['172.30.5.0/24', 'fd00:30:5::/64'],
          options: { 'com.docker.network.bridge.gateway_mode_ipv4': mode4, 'com.docker.network.bridge.gateway_mode_ipv6': 'routed' },
        },
      },
      { web: { nets: { r: '172.30.5.2,fd00:30:5::2' }, labels } },
    );
    const c = lists.containers[0] as { Ports: unknown[] };
    // As 28.5 lists them: the binding's address, no PublicPort (an entry without IP is only exposed).
    c.Ports = [
      { IP: '0.0.0.0', PrivatePort: 80, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, Type: 'tcp' },
      { PrivatePort: 443, Type: 'tcp' },
    ];
    return lists;
  };

  it('reads them apart from exposed ports', () => {
    const c = fromDocker(routed('routed')).result.containers[0]!;
    expect(c.ports).toEqual([]);
    expect(c.routedPorts).toEqual([
      { containerPort: 80, proto: 'tcp', family: 4 },
      { containerPort: 80, proto: 'tcp', family: 6 },
    ]);
  });

  it('open the container port to direct routing on the gateway endpoint, in proxy and dnat mode alike', () => {
    for (const publishMode of ['proxy', 'dnat'] as const) {
      const r = rules(routed('routed'), { ...DEFAULT_CONFIG, publishMode });
      expect(lines(r.v4, WEB)).toEqual([expect.stringMatching(/^-A MOAT-IN-\w+ -d 172\.30\.5\.2\/32 -p tcp -m tcp --dport 80 -m comment/)]);
      expect(lines(r.v6, WEB)).toEqual([expect.stringMatching(/^-A MOAT-IN-\w+ -d fd00:30:5::2\/128 -p tcp -m tcp --dport 80 -m comment/)]);
      expect(lines(r.v4, '--dport 443')).toEqual([]);
    }
  });

  it('moat graph draws them', () => {
    const policy = buildPolicy(fromDocker(routed('routed')).result, DEFAULT_CONFIG);
    expect(renderGraph(policy, DEFAULT_CONFIG, 'mermaid')).toContain('published routed 80/tcp');
  });

  it("only where that family's gateway mode is routed", () => {
    const r = rules(routed('nat'));
    expect(lines(r.v4, WEB)).toEqual([]);
    expect(lines(r.v6, WEB)).toHaveLength(1);
  });

  it('published: labelled admits only the granted sources', () => {
    const config: Config = { ...DEFAULT_CONFIG, publishMode: 'dnat', published: 'labelled' };
    expect(lines(rules(routed('routed'), config).v4, WEB)).toEqual([]);
    const granted = rules(routed('routed', { 'moat.ingress': '192.168.77.0/24:80' }), config);
    expect(lines(granted.v4, '--dport 80')).toEqual([
      expect.stringMatching(/^-A MOAT-IN-\w+ -s 192\.168\.77\.0\/24 -d 172\.30\.5\.2\/32 -p tcp -m tcp --dport 80 .* -j ACCEPT$/),
    ]);
  });
});
