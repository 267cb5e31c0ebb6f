// Policy files (docs/policy.md#policy-files), by real connections: grants in policyDir/*.yaml are
// read at start and on change, select containers by service, container or
// network, use the label grammar; a file that fails to parse is rejected
// whole (path and line logged) and its last good version stays in force; and
// removing a grant closes the flow at once, cutting a live connection it
// allowed (conntrack), not only new ones.
import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { flowCases, startFlowsMoatd, type State } from './flows-cases.js';
import { createBed, type Bed } from './testbed/bed.js';
import { check, type Case } from './testbed/check.js';
import { execInContainer } from './testbed/container-exec.js';
import type { Moatd } from './testbed/moatd.js';
import type { ServerContainer } from './testbed/server-container.js';

const LIVE_PORT = 9000;
const GRANTS = `# web may call its project's app; lan may reach db:8080; pq may reach world:80
- select: { service: web }
  egress: ["app:80", "app:${LIVE_PORT}"]
- select: { container: db }
  ingress: ["192.168.77.0/24:8080"]
`;
const MORE = `- select: { network: pq }
  egress: ["world:80"]
`;

describe('policy files (docs/policy.md#policy-files)', () => {
  let bed: Bed;
  let moatd: Moatd;
  let policyDir: string;
  const c: Record<string, ServerContainer> = {};

  beforeAll(async () => {
    bed = await createBed();
    await bed.createNetwork({ name: 'pp', subnets: ['172.31.40.0/24'] });
    await bed.createNetwork({ name: 'pq', subnets: ['172.31.41.0/24'], labels: { 'moat.egress': 'none' } });
    const compose = (service: string) => ({ 'com.docker.compose.project': 'shop', 'com.docker.compose.service': service });
    const started = await Promise.all([
      bed.startServer({ name: 'shop-web-1', networks: ['pp'], labels: compose('web') }),
      bed.startServer({ name: 'shop-app-1', networks: ['pq'], labels: compose('app') }),
      bed.startServer({ name: 'other-app-1', networks: ['pq'], labels: { 'com.docker.compose.project': 'other', 'com.docker.compose.service': 'app' } }),
      bed.startServer({ name: 'db', networks: ['pq'] }),
    ]);
    for (const s of started) c[s.name] = s;
    policyDir = `${bed.dir}/policy.d`;
    await bed.writeFile('policy.d/grants.yaml', GRANTS);
    moatd = await startFlowsMoatd(bed);
  });

  afterAll(async () => {
    await bed?.dispose();
  });

  const { addr: ip, cc, fromPeer, toPeer } = flowCases({ bed: () => bed, containers: c, networkOf: (name) => (name === 'shop-web-1' ? 'pp' : 'pq') });
  const lanToDb = (port: number, state: State): Case => fromPeer('lan', 'db', port, state);
  const toWorld = (from: string, state: State): Case => toPeer(from, 'world', 80, state);
  /** Waits for the reconcile that follows a policy change. */
  const policyApplied = (since: number) =>
    moatd.waitForEvent((l) => l.event === 'reconcile' && String(l.trigger).includes('policy') && l.committed === true, { since, timeoutMs: 10_000 });

  it('reads the policy directory at start: service and container selectors, the label grammar', async () => {
    await check([
      cc('shop-web-1', 'shop-app-1', 80, 'open'),
      cc('shop-web-1', 'shop-app-1', 8080, 'closed'),
      cc('shop-web-1', 'other-app-1', 80, 'closed'), // `app` resolves in the selected container's project
      cc('shop-app-1', 'shop-web-1', 80, 'closed'),
      lanToDb(8080, 'open'),
      lanToDb(80, 'closed'),
      toWorld('db', 'closed'),
    ]);
  });

  it('picks up a changed file by itself: a network selector', async () => {
    const mark = moatd.mark();
    await bed.writeFile('policy.d/grants.yaml', GRANTS + MORE);
    await policyApplied(mark);
    await check([toWorld('db', 'open'), toWorld('shop-app-1', 'open'), cc('shop-web-1', 'shop-app-1', 80, 'open')]);
  });

  it('rejects a broken file whole, with path and line, and keeps its last good version', async () => {
    const mark = moatd.mark();
    await bed.writeFile('policy.d/grants.yaml', `${GRANTS}${MORE}- select: { service: web }\n  egress: ["app:99999"]\n`);
    const rejected = await moatd.waitForEvent('policy_rejected', { since: mark, timeoutMs: 10_000 });
    expect(rejected).toMatchObject({ path: `${policyDir}/grants.yaml`, line: 9 });
    await check([toWorld('db', 'open'), cc('shop-web-1', 'shop-app-1', 80, 'open'), lanToDb(8080, 'open')]);
  });

  it('revokes at once when the grant goes away, cutting the live connection it allowed and no other', async () => {
    const docker = bed.engine.docker;
    const app = c['shop-app-1']!;
    /**
     * A long-lived TCP connection from -> shop-app-1:port that sends "one", then "two"
     * four seconds later; resolves to what the server received.
     */
    const liveConnection = async (from: string, port: number) => {
      const file = `/tmp/got-${port}`;
      // The listener's stdin stays open: busybox nc closes the connection at stdin EOF.
      const server = execInContainer(docker, app.id, ['sh', '-c', `sleep 15 | nc -l -p ${port} > ${file}`], 30_000).catch(() => null);
      for (let i = 0; !(await execInContainer(docker, app.id, ['netstat', '-ltn'])).stdout.includes(`:${port} `); i++) {
        if (i > 50) throw new Error('nc did not listen');
        await sleep(50);
      }
      const client = execInContainer(docker, c[from]!.id, ['sh', '-c', `(echo one; sleep 4; echo two; sleep 1) | nc ${ip('shop-app-1')} ${port}`], 30_000);
      for (let i = 0; !(await execInContainer(docker, app.id, ['cat', file])).stdout.includes('one'); i++) {
        if (i > 50) throw new Error(`the connection from ${from} never carried data`);
        await sleep(50);
      }
      return async () => {
        await client;
        void server;
        return (await execInContainer(docker, app.id, ['cat', file])).stdout;
      };
    };
    // Allowed only by the policy file, and (the control) by ICC on pq.
    const granted = await liveConnection('shop-web-1', LIVE_PORT);
    const control = await liveConnection('db', LIVE_PORT + 1);

    const mark = moatd.mark();
    await rm(`${policyDir}/grants.yaml`);
    await policyApplied(mark);
    const revoked = await moatd.waitForEvent('conntrack_revoked', { since: mark, timeoutMs: 5_000 });
    expect(Number(revoked.deleted)).toBeGreaterThan(0);
    await check([cc('shop-web-1', 'shop-app-1', 80, 'closed'), lanToDb(8080, 'closed'), toWorld('db', 'closed'), cc('db', 'shop-app-1', 80, 'open')]);

    // "two" is sent after the revocation: it arrives only on the connection still allowed.
    expect(await granted()).toBe('one\n');
    expect(await control()).toBe('one\ntwo\n');
  });
});
