import { afterAll, beforeAll, expect, it } from 'vitest';
import { createBed, type Bed } from './testbed/bed.js';
import { containerSource, probe } from './testbed/probe.js';
import { probeOther, startUdpResponder } from './flows-probes.js';
import { execa } from 'execa';

let bed: Bed;
beforeAll(async () => { bed = await createBed({ peerHttpPorts: [80] }); });
afterAll(async () => { console.log(await bed?.dispose()); });

it('scratch', async () => {
  const udp = await startUdpResponder(bed.topology.lan.netns, 5300);
  await bed.createNetwork({ name: 'n1', subnets: ['172.31.9.0/24', 'fd00:9::/64'] });
  await bed.createNetwork({ name: 'v', subnets: ['172.31.8.0/24'], internal: true });
  const a = await bed.startServer({ name: 'a', networks: ['n1'] });
  const v = await bed.startServer({ name: 'v1', networks: ['v'] });
  const src = containerSource(bed.engine.docker, a.id, 'a');
  console.log(await probeOther({ name: 'u', proto: 'udp', from: src, to: '192.168.77.2', port: 5300, state: 'open' }));
  console.log(await probeOther({ name: 'u6', proto: 'udp', from: src, to: 'fd77::2', port: 5300, state: 'open' }));
  console.log(await probeOther({ name: 'u-closed', proto: 'udp', from: src, to: '192.168.77.2', port: 5301, state: 'open' }));
  console.log(await probeOther({ name: 'p', proto: 'icmp', from: src, to: '192.168.77.2', state: 'open' }));
  console.log(await probeOther({ name: 'p6', proto: 'icmp', from: src, to: 'fd77::2', state: 'open' }));
  const vsrc = containerSource(bed.engine.docker, v.id, 'v1');
  console.log(await probe(vsrc, '203.0.113.2', 80, { timeoutS: 1 }));
  console.log((await bed.topology.host.run('ip', ['addr'])).stdout);
  const pid = (await v.refresh()).State.Pid;
  const r = await execa('nsenter', [`--net=/proc/${pid}/ns/net`, 'ip', 'route', 'add', 'default', 'via', '172.31.8.1'], { reject: false });
  console.log(r.exitCode, r.stderr);
  console.log(await probe(vsrc, '203.0.113.2', 80, { timeoutS: 1 }));
  await udp.stop();
  expect(1).toBe(1);
});
