import { describe, expect, it } from 'vitest';
import type { Container, Snapshot } from './model.js';
import { parsePolicyFile, policyOrigins } from './policy-file.js';

const F = '/etc/moat/policy.d/web.yaml';

describe('parsePolicyFile', () => {
  it('parses the example of docs/policy.md#policy-files with line numbers', () => {
    const { rules, errors } = parsePolicyFile(
      F,
      `# grants
- select: { service: proxy }
  egress: ["app:80"]
- select: { container: app1-wordpress }
  ingress: ["10.10.10.0/24:22"]
`,
    );
    expect(errors).toEqual([]);
    expect(rules).toHaveLength(2);
    expect(rules[0]).toMatchObject({
      file: F,
      line: 2,
      select: { service: 'proxy' },
      egress: [{ peer: { kind: 'container', name: 'app' }, ports: { lo: 80, hi: 80 }, proto: 'tcp' }],
      ingress: [],
    });
    expect(rules[1]).toMatchObject({ line: 4, select: { container: 'app1-wordpress' }, ingress: [{ peer: { kind: 'cidr', cidr: '10.10.10.0/24' } }] });
  });

  it('wants a list of rules', () => {
    expect(parsePolicyFile(F, 'select: { service: proxy }\negress: [world]\n').errors[0]).toMatchObject({
      line: 1,
      message: expect.stringMatching(/list of rules/),
    });
  });

  it('treats an empty file as granting nothing', () => {
    expect(parsePolicyFile(F, '# nothing yet\n')).toEqual({ rules: [], errors: [] });
  });

  it.each([
    ['- select: { service: proxy }\n  egress: ["app:80"\n', 3, /end with a \]/], // the YAML library points at the end of the unclosed list
    ['select: { service: proxy }\n', 1, /Unexpected/],
    ['- select: { service: proxy }\n  egres: ["app:80"]\n', 2, /unknown key "egres"/],
    ['- select: { servce: proxy }\n  egress: ["app:80"]\n', 1, /unknown selector "servce"/],
    ['- select: { service: proxy }\n  egress: ["app:80", "app:99999"]\n', 2, /99999/],
    ['- egress: ["app:80"]\n', 1, /no select/],
    ['- select: { service: proxy }\n', 1, /grants nothing/],
    ['- select: { service: "a b" }\n  egress: [world]\n', 1, /Docker name/],
    ['- select: { project: shop }\n  egress: [world]\n', 1, /needs service, container or network/],
    ['- select: { service: web }\n  egress: [none]\n', 2, /not a grant/],
  ])('rejects the whole file on %j with the line', (text, line, message) => {
    const { rules, errors } = parsePolicyFile(F, `- select: { service: ok }\n  egress: [world]\n${text}`);
    expect(rules).toEqual([]);
    expect(errors.length).toBeGreaterThan(0);
    expect(errors[0]).toMatchObject({ file: F, line: line + 2 });
    expect(errors[0]!.message).toMatch(message);
  });
});

describe('policyOrigins', () => {
  const c = (name: string, extra: Partial<Container>): Container => ({
    id: name.padEnd(64, '0'),
    name,
    project: null,
    service: null,
    labels: {},
    networkMode: 'x',
    endpoints: [],
    ports: [],
    ...extra,
  });
  const snapshot: Snapshot = {
    networks: [
      {
        id: 'n'.repeat(64),
        name: 'edge',
        driver: 'bridge',
        bridge: 'br-x',
        subnets4: [],
        subnets6: [],
        internal: false,
        icc: true,
        nat: true,
        options: {},
        labels: {},
      },
    ],
    containers: [
      c('a', { project: 'shop', service: 'proxy' }),
      c('b', { project: 'blog', service: 'proxy' }),
      c('d', { endpoints: [{ networkId: 'n'.repeat(64), ipv4: '172.18.0.5', ipv6: null }] }),
    ],
  };

  it('selects by service (narrowed by project), container and network', () => {
    const { rules } = parsePolicyFile(
      F,
      `- select: { service: proxy }
  egress: [world]
- select: { service: proxy, project: blog }
  ingress: [lan]
- select: { network: edge }
  egress: [host]
- select: { container: a }
  egress: ["10.0.0.1"]
`,
    );
    const o = policyOrigins(snapshot, rules);
    expect(o.map((x) => [x.container.name, x.direction, x.id, x.reason])).toEqual([
      ['a', 'egress', 'policy:web.yaml:1:egress', `policy ${F}:1`],
      ['b', 'egress', 'policy:web.yaml:1:egress', `policy ${F}:1`],
      ['b', 'ingress', 'policy:web.yaml:3:ingress', `policy ${F}:3`],
      ['d', 'egress', 'policy:web.yaml:5:egress', `policy ${F}:5`],
      ['a', 'egress', 'policy:web.yaml:7:egress', `policy ${F}:7`],
    ]);
  });
});
