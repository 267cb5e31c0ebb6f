// The document root every probe server (in containers and in namespaces)
// serves: /cgi-bin/ip answers with the client address the server saw, which
// is how tests tell masquerade, DNAT and the userland proxy apart.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

// busybox httpd listens dual-stack and reports IPv4 clients as "[::ffff:a.b.c.d]":
// strip that to the plain address. POSIX sh, so it runs under busybox ash and dash.
const IP_CGI = `#!/bin/sh
a=\${REMOTE_ADDR#\\[}
a=\${a%\\]}
a=\${a#::ffff:}
printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' "$a"
`;

const HOST_CGI = `#!/bin/sh
printf 'Content-Type: text/plain\\r\\n\\r\\n%s\\n' "$(hostname)"
`;

/** Writes DIR/index.html, DIR/cgi-bin/ip and DIR/cgi-bin/host. */
export async function writeWwwRoot(dir: string): Promise<void> {
  await mkdir(join(dir, 'cgi-bin'), { recursive: true });
  await writeFile(join(dir, 'index.html'), 'moat probe\n');
  for (const [name, body] of [
    ['ip', IP_CGI],
    ['host', HOST_CGI],
  ] as const) {
    await writeFile(join(dir, 'cgi-bin', name), body);
    await chmod(join(dir, 'cgi-bin', name), 0o755);
  }
}
