// The demo: a private Docker engine ("iptables": false) in its own network
// namespace, a LAN peer and an internet peer, a three-container shop, and
// the reachability table before and after moatd. Run by scripts/demo.sh.
import { createBed } from '../test/integration/testbed/bed.js';
import { containerSource, netnsSource, probe, type ProbeSource } from '../test/integration/testbed/probe.js';

const HOST_PORT = 9000;
const PUBLISHED = 8080;

async function main(): Promise<void> {
  console.log('Starting a private Docker engine with "iptables": false in a network namespace…');
  await using bed = await createBed({ hostHttpPorts: [HOST_PORT] });
  await bed.createNetwork({ name: 'shop-edge', subnets: ['172.30.101.0/24'] });
  await bed.createNetwork({ name: 'shop-back', subnets: ['172.30.102.0/24'], labels: { 'moat.egress': 'none' } });
  const { lan, world, host } = bed.topology;
  const [proxy, app, db] = await Promise.all([
    bed.startServer({ name: 'proxy', networks: ['shop-edge'], publish: [{ containerPort: 80, hostPort: PUBLISHED }], labels: { 'moat.egress': 'app:80' } }),
    bed.startServer({ name: 'app', networks: ['shop-back'], labels: { 'moat.egress': `${lan.ipv4}:80` } }),
    bed.startServer({ name: 'db', networks: ['shop-back'] }),
  ]);
  const c = (s: { id: string; name: string }): ProbeSource => containerSource(bed.engine.docker, s.id, s.name);
  const rows: { flow: string; from: ProbeSource; to: string; port: number; why: string }[] = [
    { flow: 'proxy -> app:80 (other network)', from: c(proxy), to: app.ipv4('shop-back'), port: 80, why: 'allowed: proxy label moat.egress=app:80' },
    { flow: 'proxy -> db:80 (other network)', from: c(proxy), to: db.ipv4('shop-back'), port: 80, why: 'denied: other network, no grant' },
    { flow: 'app -> db:80 (same network)', from: c(app), to: db.ipv4('shop-back'), port: 80, why: 'allowed: same network (ICC)' },
    { flow: 'proxy -> internet', from: c(proxy), to: world.ipv4, port: 80, why: 'allowed: network egress world' },
    { flow: 'app -> internet', from: c(app), to: world.ipv4, port: 80, why: 'denied: network label moat.egress=none' },
    { flow: 'app -> LAN server:80', from: c(app), to: lan.ipv4, port: 80, why: `allowed: app label moat.egress=${lan.ipv4}:80` },
    { flow: 'db -> LAN server:80', from: c(db), to: lan.ipv4, port: 80, why: 'denied: lan (protectedNetworks)' },
    { flow: 'db -> host service', from: c(db), to: '172.30.102.1', port: HOST_PORT, why: 'denied: the host' },
    { flow: 'internet -> published :8080', from: netnsSource(world.netns, 'world'), to: world.hostIpv4, port: PUBLISHED, why: 'allowed: published port' },
    { flow: 'internet -> app direct', from: netnsSource(world.netns, 'world'), to: app.ipv4('shop-back'), port: 80, why: 'denied: unpublished, routed access' },
    { flow: 'host -> db (health check)', from: netnsSource(host, 'host'), to: db.ipv4('shop-back'), port: 80, why: 'allowed: host -> containers' },
  ];
  const table = async (title: string, withWhy: boolean) => {
    const results = await Promise.all(rows.map((r) => probe(r.from, r.to, r.port, { timeoutS: 1 })));
    const width = Math.max(...rows.map((r) => r.flow.length));
    console.log(`\n${title}`);
    rows.forEach((r, i) => console.log(`  ${r.flow.padEnd(width)}  ${results[i]!.state === 'open' ? 'OPEN  ' : 'closed'}${withWhy ? `  ${r.why}` : ''}`));
  };

  await table('BEFORE moat (Docker with "iptables": false writes no rules):', false);
  const config = await bed.writeFile('config.yaml', '# defaults\n');
  const moatd = bed.startMoatd({ configPath: config });
  const first = await moatd.waitForEvent('reconcile', { timeoutMs: 20_000 });
  console.log(`\nmoatd committed its ruleset in ${String(first.durationMs)} ms: ${JSON.stringify(first.rules)}`);
  await table('AFTER moat:', true);
  console.log('\nTearing everything down (engine, namespaces, files)…');
}

await main();
