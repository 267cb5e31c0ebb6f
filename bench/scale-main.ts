// Entry of the scale worker: started by main.ts under
// `nsenter --net=/run/netns/<bench netns>`, so every iptables call below
// lands in the bench's own namespace. Writes its results as JSON to --out.
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { runScaleSize, type SizeResult } from './scale.js';
import { runFootprint, type FootprintResult } from './synthetic-footprint.js';
import type { SyntheticSpec } from './synthetic.js';

const { values } = parseArgs({
  options: {
    out: { type: 'string' },
    dir: { type: 'string' },
    bin: { type: 'string' },
    reps: { type: 'string', default: '8' },
    sizes: { type: 'string', default: '100/10,1000/100,5000/500' },
    footprint: { type: 'string', default: '100/10,1000/100,5000/500' },
    'idle-s': { type: 'string', default: '8' },
    'churn-s': { type: 'string', default: '8' },
    lone: { type: 'string', default: '5' },
    /** Sizes run once more with a bounded V8 heap (NODE_OPTIONS below): what it saves in RSS, and what it costs. */
    'heap-variant': { type: 'string', default: '' },
  },
});
if (!values.out || !values.dir || !values.bin) throw new Error('usage: scale-main --out FILE --dir DIR --bin MOATD');
const parseSizes = (s: string): SyntheticSpec[] =>
  s
    .split(',')
    .filter(Boolean)
    .map((x) => {
      const [containers, networks] = x.split('/').map(Number);
      return { containers: containers!, networks: networks! };
    });
const log = (line: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${line}\n`);

const scale: SizeResult[] = [];
for (const spec of parseSizes(values.sizes)) {
  scale.push(await runScaleSize(spec, { socketPath: `${values.dir}/scale.sock`, reps: Number(values.reps), log }));
}
const footprint: FootprintResult[] = [];
for (const spec of parseSizes(values.footprint)) {
  footprint.push(
    await runFootprint(spec, {
      bin: values.bin,
      dir: values.dir,
      idleS: Number(values['idle-s']),
      churnS: Number(values['churn-s']),
      loneEvents: Number(values.lone),
      log,
    }),
  );
}
for (const spec of parseSizes(values['heap-variant'])) {
  footprint.push(
    await runFootprint(spec, {
      bin: values.bin,
      dir: values.dir,
      idleS: Number(values['idle-s']),
      churnS: Number(values['churn-s']),
      loneEvents: Number(values.lone),
      log,
      nodeOptions: '--max-semi-space-size=1 --max-old-space-size=96',
    }),
  );
}
await writeFile(values.out, JSON.stringify({ scale, footprint }, null, 1));
log('scale worker done');
