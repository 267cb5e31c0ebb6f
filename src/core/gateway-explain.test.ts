// moat explain answers by the gateway endpoint: a routed-mode port, a
// container's egress, and the userland proxy's connection.
import { describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { withGateways } from '../../test/fakes/gateway-lists.js';
import { DEFAULT_CONFIG } from './config.js';
import { explain, type ExplainResult } from './explain.js';
import { fromDocker } from './from-docker.js';
import { buildPolicy } from './policy.js';

const explained = (r: ExplainResult) => {
  if (!r.ok) throw new Error(r.error);
  return r.explanation;
};

describe('moat explain follows the gateway endpoint', () => {
  it('a routed-mode port: allowed by direct routing, and says so', () => {
    const lists = dockerLists(
      { r: { subnets: ['172.30.5.0/24'], options: { 'com.docker.network.bridge.gateway_mode_ipv4': 'routed' } } },
      { web: { nets: { r: '172.30.5.2' } } },
    );
    (lists.containers[0] as { Ports: unknown[] }).Ports = [{ IP: '0.0.0.0', PrivatePort: 80, Type: 'tcp' }];
    const policy = buildPolicy(fromDocker(lists).result, DEFAULT_CONFIG);
    const open = explained(explain(policy, DEFAULT_CONFIG, 'world', 'web', 80, 'tcp'));
    expect(open.verdict).toBe('allowed');
    expect(open.decision.reason).toMatch(/routed mode \(no host port\): web:80\/tcp is reached by direct routing/);
    expect(explained(explain(policy, DEFAULT_CONFIG, 'world', 'web', 81, 'tcp')).verdict).toBe('denied');
  });

  it("a container's traffic to world leaves by its gateway endpoint", () => {
    const nets = { aaa: { subnets: ['172.30.1.0/24'], labels: { 'moat.egress': 'none' } }, zzz: { subnets: ['172.30.2.0/24'] } };
    const lists = withGateways(dockerLists(nets, { c: { nets: { aaa: '172.30.1.2', zzz: '172.30.2.2' } } }), {
      c: { aaa: { gw4: 'x', prio: 0 }, zzz: { gw4: 'x', prio: 3 } },
    });
    const policy = buildPolicy(fromDocker(lists).result, DEFAULT_CONFIG);
    const r = explained(explain(policy, DEFAULT_CONFIG, 'c', 'world', 443, 'tcp'));
    expect(r.src).toMatchObject({ network: 'zzz', address: '172.30.2.2' });
    expect(r.verdict).toBe('allowed');
  });

  it('proxy mode: the userland proxy connects to the gateway endpoint', () => {
    const nets = { aaa: { subnets: ['172.30.1.0/24'] }, zzz: { subnets: ['172.30.2.0/24'] } };
    const lists = withGateways(
      dockerLists(nets, { web: { nets: { aaa: '172.30.1.2', zzz: '172.30.2.2' }, ports: [{ containerPort: 80, hostPort: 8080, hostIp: '0.0.0.0' }] } }),
      { web: { aaa: { gw4: 'x', prio: 0 }, zzz: { gw4: 'x', prio: 3 } } },
    );
    const policy = buildPolicy(fromDocker(lists).result, DEFAULT_CONFIG);
    const r = explained(explain(policy, DEFAULT_CONFIG, 'world', 'host', 8080, 'tcp'));
    expect(r.notes.join('\n')).toContain('published by web (port 80)');
    expect(r.legs.at(-1)?.dst).toBe('172.30.2.2');
  });
});
