// TCP prober, run inside a peer container's network namespace
// (`nsenter --net=/proc/PID/ns/net node prober.js`). Reads "ADDRESS PORT"
// lines on stdin; probes each target every 10 ms until a connection is
// established, then prints {"target","at","attempts"} (at = wall ms). Ends
// when stdin closes and every target is done, or after --deadline-ms.
import { connect } from 'node:net';
import { createInterface } from 'node:readline';
import { performance } from 'node:perf_hooks';

const wall = () => performance.timeOrigin + performance.now();
const deadlineMs = Number(process.argv[2] ?? 30_000);
const started = wall();
let open = 0;
let inputDone = false;

const finish = () => {
  if (inputDone && open === 0) process.exit(0);
};

function probe(host: string, port: number, attempts = 1): void {
  if (wall() - started > deadlineMs) {
    process.stdout.write(`${JSON.stringify({ target: `${host}:${port}`, at: null, attempts })}\n`);
    open--;
    return finish();
  }
  const socket = connect({ host, port });
  let settled = false;
  const retry = () => {
    if (settled) return;
    settled = true;
    socket.destroy();
    setTimeout(() => probe(host, port, attempts + 1), 10);
  };
  socket.setTimeout(250, retry);
  socket.once('error', retry);
  socket.once('connect', () => {
    if (settled) return;
    settled = true;
    const at = wall();
    socket.destroy();
    process.stdout.write(`${JSON.stringify({ target: `${host}:${port}`, at, attempts })}\n`);
    open--;
    finish();
  });
}

createInterface({ input: process.stdin })
  .on('line', (line) => {
    const [host, port] = line.trim().split(/\s+/);
    if (!host || !port) return;
    open++;
    probe(host, Number(port));
  })
  .on('close', () => {
    inputDone = true;
    finish();
  });
setTimeout(() => process.exit(2), deadlineMs + 5_000).unref();
