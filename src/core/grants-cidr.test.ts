// Address and CIDR entries that cover containers (docs/policy.md#peer-kinds): the
// containers with an address in the range, only those addresses, as they come and go,
// plus the part of the range outside Docker as before.
import { describe, expect, it } from 'vitest';
import { dockerLists, type CtrSpec } from '../../test/fakes/docker-lists.js';
import { ConfigSchema } from './config.js';
import { computeDesired, createDesiredMemo } from './desired.js';
import { Explainer, parseTarget } from './explain.js';
import { fromDocker, type DockerLists } from './from-docker.js';
import { parsePolicyFile } from './policy-file.js';
import { buildPolicy } from './policy.js';
import { renderText } from './render.js';

const config = ConfigSchema.parse({ protectedNetworks: ['10.10.0.0/16'] });
const NETS = {
  left: { subnets: ['10.10.101.0/24', 'fd00:101::/64'] },
  right: { subnets: ['10.10.102.0/24', 'fd00:102::/64'] },
  quiet: { subnets: ['10.10.103.0/24'], options: { 'com.docker.network.bridge.enable_icc': 'false' } },
  vault: { subnets: ['10.10.104.0/24'], internal: true },
};
const BASE: Record<string, CtrSpec> = {
  web: { nets: { left: '10.10.101.3,fd00:101::3' } },
  // On two networks: a range over one of them opens only that address.
  api: { nets: { left: '10.10.101.4,fd00:101::4', right: '10.10.102.4' } },
  client: { nets: { right: '10.10.102.2,fd00:102::2' } },
};

const lists = (ctrs: Record<string, CtrSpec>): DockerLists => dockerLists(NETS, ctrs);
const desired = (l: DockerLists, rules = parsePolicyFile('/etc/moat/policy.d/x.yaml', '# none\n').rules) => computeDesired(l, config, [4, 6], rules);
const lines = (text: string, comment: string) =>
  text
    .split('\n')
    .filter((l) => l.includes(comment))
    .map((l) => l.replace(/ -m comment --comment "[^"]*"/, ''));
const v4 = (d: ReturnType<typeof desired>) => renderText(d.rendered[0]!);
const v6 = (d: ReturnType<typeof desired>) => renderText(d.rendered[1]!);

describe('address and CIDR entries over containers', () => {
  it('egress: a static address opens that container, on that address only', () => {
    const d = desired(lists({ ...BASE, client: { ...BASE.client, labels: { 'moat.egress': '10.10.101.4:80' } } }));
    expect(lines(v4(d), 'moat:label:')).toEqual([
      '-A MOAT-OUT-' +
        d.policy.networks.find((n) => n.network.name === 'right')!.network.id.slice(0, 12) +
        ' -s 10.10.102.2/32 -d 10.10.101.4/32 -p tcp -m tcp --dport 80 -j ACCEPT',
    ]);
    // Not api's other address, and not IPv6: the entry is an IPv4 address.
    expect(v4(d)).not.toContain('-d 10.10.102.4/32 -p tcp -m tcp --dport 80');
    expect(lines(v6(d), 'moat:label:')).toEqual([]);
    expect(d.problems).toEqual([]);
  });

  it('egress: a CIDR over a whole network opens every container there (both of its own families apart), no rule for the range itself', () => {
    const d = desired(lists({ ...BASE, client: { ...BASE.client, labels: { 'moat.egress': '10.10.101.0/24:80 [fd00:101::/64]:443' } } }));
    expect(lines(v4(d), 'moat:label:').map((l) => l.replace(/^-A \S+ /, ''))).toEqual([
      '-s 10.10.102.2/32 -d 10.10.101.4/32 -p tcp -m tcp --dport 80 -j ACCEPT',
      '-s 10.10.102.2/32 -d 10.10.101.3/32 -p tcp -m tcp --dport 80 -j ACCEPT',
    ]);
    expect(lines(v6(d), 'moat:label:').map((l) => l.replace(/^-A \S+ /, ''))).toEqual([
      '-s fd00:102::2/128 -d fd00:101::4/128 -p tcp -m tcp --dport 443 -j ACCEPT',
      '-s fd00:102::2/128 -d fd00:101::3/128 -p tcp -m tcp --dport 443 -j ACCEPT',
    ]);
    expect(v4(d)).not.toContain('-d 10.10.101.0/24');
    expect(d.problems).toEqual([]);
  });

  it('ingress: the covered containers may reach it, from their addresses in the range', () => {
    const d = desired(lists({ ...BASE, web: { ...BASE.web, labels: { 'moat.ingress': '10.10.102.0/24:8080' } } }));
    expect(lines(v4(d), 'moat:label:').map((l) => l.replace(/^-A \S+ /, ''))).toEqual([
      '-s 10.10.102.4/32 -d 10.10.101.3/32 -p tcp -m tcp --dport 8080 -j ACCEPT',
      '-s 10.10.102.2/32 -d 10.10.101.3/32 -p tcp -m tcp --dport 8080 -j ACCEPT',
    ]);
  });

  it('a range overlapping Docker and the LAN opens the containers and, as before, the part outside Docker', () => {
    const d = desired(lists({ ...BASE, client: { ...BASE.client, labels: { 'moat.egress': '10.10.0.0/16:80' } } }));
    const rules = lines(v4(d), 'moat:label:').map((l) => l.replace(/^-A \S+ /, ''));
    expect(rules).toEqual([
      '-s 10.10.102.2/32 -d 10.10.0.0/16 -p tcp -m tcp --dport 80 -j MOAT-TO-EXTERNAL',
      '-s 10.10.102.2/32 -d 10.10.102.4/32 -p tcp -m tcp --dport 80 -j ACCEPT',
      '-s 10.10.102.2/32 -d 10.10.101.4/32 -p tcp -m tcp --dport 80 -j ACCEPT',
      '-s 10.10.102.2/32 -d 10.10.101.3/32 -p tcp -m tcp --dport 80 -j ACCEPT',
    ]);
  });

  it('leaves the origin itself out, and opens peers on its own ICC-off network like a name would', () => {
    const l = dockerLists(NETS, {
      q1: { nets: { quiet: '10.10.103.2' }, labels: { 'moat.egress': '10.10.103.0/24:80' } },
      q2: { nets: { quiet: '10.10.103.3' } },
    });
    const d = desired(l);
    expect(lines(v4(d), 'moat:label:').map((l) => l.replace(/^-A \S+ /, ''))).toEqual([
      '-s 10.10.103.2/32 -d 10.10.103.3/32 -p tcp -m tcp --dport 80 -j ACCEPT',
    ]);
    const x = new Explainer(d.policy, config, { hostAddresses: ['10.10.103.1'] });
    const ask = (src: string, dst: string) => {
      const t = parseTarget(dst);
      if ('error' in t) throw new Error(t.error);
      const r = x.explain(src, t.ref, t.port, t.proto);
      if (!r.ok) throw new Error(r.error);
      return r.explanation;
    };
    const e = ask('q1', 'q2:80');
    expect(e.verdict).toBe('allowed');
    expect(e.decision).toMatchObject({ kind: 'label', reason: 'label moat.egress on q1: 10.10.103.0/24:80' });
    expect(ask('q1', 'q2:81')).toMatchObject({ verdict: 'denied', decision: { rule: 'moat:icc-off' } });
    expect(ask('q2', 'q1:80')).toMatchObject({ verdict: 'denied', decision: { rule: 'moat:icc-off' } });
  });

  it('grants covered containers on an internal network; only the part outside Docker is reported there', () => {
    const l = dockerLists(NETS, {
      v1: { nets: { vault: '10.10.104.2' }, labels: { 'moat.egress': '10.10.104.3 10.10.104.0/23:22' } },
      v2: { nets: { vault: '10.10.104.3' } },
    });
    const policy = buildPolicy(fromDocker(l).result, config);
    expect(policy.flows.map((f) => `${f.reason} -> ${f.to.kind === 'container' ? f.to.container.name : f.to.kind}`)).toEqual([
      'label moat.egress on v1: 10.10.104.3 -> v2',
      'label moat.egress on v1: 10.10.104.0/23:22 -> v2',
    ]);
    expect(policy.problems).toEqual([
      expect.objectContaining({ kind: 'label_ignored', value: '10.10.104.0/23:22', reason: expect.stringContaining('internal network "vault"') }),
    ]);
  });

  it('reports an entry wholly inside Docker that covers no container, and no other empty match', () => {
    const d = desired(lists({ ...BASE, client: { ...BASE.client, labels: { 'moat.egress': '10.10.101.99:80 [fd00:102::/64] 10.10.0.0/16:22' } } }));
    expect(d.problems.map((p) => [p.kind, p.value, p.reason])).toEqual([
      [
        'label_ignored',
        '10.10.101.99:80',
        'inside the subnet of Docker network "left", where no other container has an address in it: it grants nothing until one does',
      ],
      [
        'label_ignored',
        '[fd00:102::/64]',
        'inside the subnet of Docker network "right", where no other container has an address in it: it grants nothing until one does',
      ],
    ]);
  });

  it('policy files: an address entry selects the containers it covers', () => {
    const { rules, errors } = parsePolicyFile('/etc/moat/policy.d/x.yaml', '- select: { container: web }\n  ingress: ["10.10.102.2:80"]\n');
    expect(errors).toEqual([]);
    const d = desired(lists(BASE), rules);
    expect(lines(v4(d), 'moat:policy:').map((l) => l.replace(/^-A \S+ /, ''))).toEqual([
      '-s 10.10.102.2/32 -d 10.10.101.3/32 -p tcp -m tcp --dport 80 -j ACCEPT',
    ]);
    expect(d.policy.flows[0]?.reason).toBe('policy /etc/moat/policy.d/x.yaml:1: 10.10.102.2:80');
  });

  it('follows containers arriving in and leaving the range (the incremental path renders what a fresh one does)', () => {
    const memo = createDesiredMemo();
    const labelled = { ...BASE, client: { ...BASE.client, labels: { 'moat.egress': '10.10.101.0/24:80' } } };
    // The same list objects from step to step, as the Docker adapter keeps them (fromDocker's memo is by object).
    const pool = lists({ ...labelled, late: { nets: { left: '10.10.101.7' } }, other: { nets: { right: '10.10.102.9' } } });
    const pick = (names: readonly string[]): DockerLists => ({
      networks: pool.networks,
      containers: pool.containers.filter((c) => names.includes((c as { Names: string[] }).Names[0]!.slice(1))),
    });
    const steps = [
      ['web', 'api', 'client'],
      ['web', 'api', 'client', 'late'],
      ['web', 'api', 'client', 'late', 'other'],
      ['web', 'api', 'client', 'other'],
      ['client', 'other'],
    ].map(pick);
    const opened = steps.map((l) => {
      const inc = computeDesired(l, config, [4, 6], [], memo);
      const fresh = computeDesired(l, config, [4, 6]);
      expect(inc.rendered.map(renderText)).toEqual(fresh.rendered.map(renderText));
      expect(inc.problems).toEqual(fresh.problems);
      return lines(v4(inc), 'moat:label:').map((l) => /-d (\S+)/.exec(l)![1]);
    });
    expect(opened).toEqual([
      ['10.10.101.4/32', '10.10.101.3/32'],
      ['10.10.101.4/32', '10.10.101.7/32', '10.10.101.3/32'],
      ['10.10.101.4/32', '10.10.101.7/32', '10.10.101.3/32'],
      ['10.10.101.4/32', '10.10.101.3/32'],
      [],
    ]);
  });
});
