// A TCP server that stamps every connection it accepts (the bench's dns
// section: "when did the connection open"), run in the bed's world namespace
// by `nsenter --net`. Answers one HTTP response (busybox wget succeeds) and
// closes. Prints {"event":"ready"}, then one line per connection:
// {"t": wall-clock ms with fractions, "from": "ADDR", "to": "ADDR"}.
//
//   node stamp-server.js PORT
import { createServer } from 'node:net';

const port = Number(process.argv[2]);
if (!Number.isInteger(port)) throw new Error('usage: stamp-server PORT');
const server = createServer((sock) => {
  const t = performance.timeOrigin + performance.now();
  process.stdout.write(`${JSON.stringify({ t, from: sock.remoteAddress?.replace(/^::ffff:/, ''), to: sock.localAddress?.replace(/^::ffff:/, '') })}\n`);
  sock.on('error', () => undefined);
  sock.end('HTTP/1.0 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\nok\n');
});
server.listen({ port, host: '::' }, () => process.stdout.write(`${JSON.stringify({ event: 'ready' })}\n`));
process.on('SIGTERM', () => process.exit(0));
