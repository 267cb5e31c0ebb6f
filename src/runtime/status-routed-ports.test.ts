// moat status lists ports published in Docker 28's routed mode (no host port) apart from host ports.
import { describe, expect, it } from 'vitest';
import { dockerLists } from '../../test/fakes/docker-lists.js';
import { DEFAULT_CONFIG } from '../core/config.js';
import { fromDocker } from '../core/from-docker.js';
import { buildPolicy } from '../core/policy.js';
import { policyView } from './policy-view.js';

describe('status: routed-mode ports', () => {
  it('are listed as routedPorts, not as host ports', () => {
    const lists = dockerLists(
      {
        r: {
          subnets: ['172.30.5.0/24', 'fd00:30:5::/64'],
          options: { 'com.docker.network.bridge.gateway_mode_ipv4': 'routed', 'com.docker.network.bridge.gateway_mode_ipv6': 'routed' },
        },
      },
      { web: { nets: { r: '172.30.5.2,fd00:30:5::2' } } },
    );
    // As 28.5 lists them: the binding's address, no PublicPort.
    (lists.containers[0] as { Ports: unknown[] }).Ports = [
      { IP: '0.0.0.0', PrivatePort: 80, Type: 'tcp' },
      { IP: '::', PrivatePort: 80, Type: 'tcp' },
    ];
    const policy = buildPolicy(fromDocker(lists).result, DEFAULT_CONFIG);
    expect(policyView(policy, []).containers[0]).toMatchObject({
      ports: [],
      routedPorts: [
        { family: 4, containerPort: 80, proto: 'tcp' },
        { family: 6, containerPort: 80, proto: 'tcp' },
      ],
    });
  });
});
