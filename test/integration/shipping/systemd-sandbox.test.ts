// The shipped units under a REAL systemd (252, Debian bookworm): this
// machine has no systemd as PID 1, so systemd runs as PID 1 of a container
// on a private Docker engine in a network namespace of its own. moat is
// installed in it with `moat install`, and moatd.service runs with its full
// sandbox against that engine (socket mounted in). Everything moatd changes
// is in the container's own network namespace.
//
// (procps for `kill`, which ExecReload= uses, as docker.service's does.)
//
// Proves: Type=notify readiness through systemd-notify + NotifyAccess=all;
// iptables-nft, iptables-legacy (the /run/xtables.lock exception) and
// ip6tables work under ProtectSystem=strict, the capability bounding set,
// RestrictAddressFamilies and SystemCallFilter; the disable_ipv6 write
// moatd's IPv6 fail-closed path needs; conntrack; the DNS forwarder's needs
// (ipset, binding port 53, the state directory); reload, restart-on-crash.
//
// Container flags: --privileged is impossible here (this machine's bounding
// set lacks CAP_SYS_RESOURCE), so: all other capabilities, seccomp/apparmor
// unconfined, systempaths=unconfined (Docker otherwise mounts /proc/sys
// read-only itself, which would hide what the unit does), and the host's
// cgroup file system (v1 here) so systemd can run services; runc removes
// the nested cgroups systemd creates when the container is removed.
import { execa } from 'execa';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownPackageRoot } from '../../../src/adapters/install-package.js';
import { startEngine, type Engine } from '../testbed/engine.js';
import { createNetns, type Netns } from '../testbed/netns.js';

const repo = ownPackageRoot();
const have = async (cmd: string, args = ['--version']) => (await execa(cmd, args, { reject: false })).exitCode === 0;
const ready = process.getuid?.() === 0 && (await have('dockerd')) && (await have('debootstrap', ['--help']));

/** Runs in a oneshot unit carrying moatd.service's sandbox: each line ok/FAIL. */
const PROBE = `#!/bin/sh
step() { if "$@" >/dev/null 2>&1; then echo "ok $*"; else echo "FAIL $*"; fi; }
chain() { tool=$1 name=$2; shift 2; printf '*filter\\n:%s - [0:0]\\nCOMMIT\\n' "$name" | "$tool" --noflush "$@" && "\${tool%-restore}" -w 5 -X "$name"; }
step chain iptables-legacy-restore PROBE-L --wait 5
step chain ip6tables-legacy-restore PROBE-L6 --wait 5
step chain iptables-nft-restore PROBE-N
step chain ip6tables-nft-restore PROBE-N6
step sh -c 'v=$(cat /proc/sys/net/ipv6/conf/lo/disable_ipv6) && echo "$v" > /proc/sys/net/ipv6/conf/lo/disable_ipv6'
step conntrack -L
step sh -c 'ipset create moat-dns4-0000000000000000 hash:ip family inet timeout 0 && ipset add moat-dns4-0000000000000000 192.0.2.1 timeout 5 && ipset destroy moat-dns4-0000000000000000'
step node -e 'require("dgram").createSocket("udp4").on("error", () => process.exit(1)).bind(53, "127.0.0.1", () => process.exit(0))'
step node -e 'require("net").createServer().on("error", () => process.exit(1)).listen(53, "127.0.0.1", () => process.exit(0))'
step sh -c 'touch /var/lib/moat/written-by-sandbox && rm /var/lib/moat/written-by-sandbox'
step node -e 'require("net").connect("/run/docker.sock").on("connect", () => process.exit(0)).on("error", () => process.exit(1))'
step sh -c '! touch /etc/moat/written-by-sandbox'
step sh -c '! echo 1 > /proc/sys/net/ipv4/ip_forward'
`;

describe.skipIf(!ready)('units under a real systemd', { timeout: 300_000 }, () => {
  const id = randomBytes(3).toString('hex');
  const ctr = `moat-systemd-${id}`;
  let netns: Netns;
  let engine: Engine;
  const docker = (args: string[], opts: { reject?: boolean; input?: string } = {}) =>
    execa('docker', args, { env: { DOCKER_HOST: engine.dockerHost }, reject: opts.reject ?? true, input: opts.input ?? '' });
  const sh = async (script: string) => (await docker(['exec', '-i', ctr, 'sh', '-s'], { input: script, reject: false })).stdout.trim();

  beforeAll(async () => {
    netns = await createNetns(`moat-sd-${id}`);
    engine = await startEngine({ netns, dir: `/tmp/msd-${id}`, name: `moatsd${id}` });
    await execa(join(repo, 'scripts/make-base-image.sh'), ['moat-systemd:test'], {
      env: { DOCKER_HOST: engine.dockerHost, MOAT_BASE_INCLUDE: 'systemd,systemd-sysv,dbus,procps,ipset' },
    });
    await docker([
      // Machines of this kind lack CAP_SYS_RESOURCE in their bounding set. Docker 20.10 grants
      // every known capability for ALL (runc then fails) unless it is dropped; 26.1+ take ALL as
      // what the environment has, and refuse to drop one it lacks.
      'run',
      '-d',
      '--name',
      ctr,
      '--cap-add',
      'ALL',
      ...(engine.choice.version === '20.10' ? ['--cap-drop', 'SYS_RESOURCE'] : []),
      '--security-opt',
      'seccomp=unconfined',
      '--security-opt',
      'apparmor=unconfined',
      '--security-opt',
      'systempaths=unconfined',
      '--tmpfs',
      '/run',
      '--tmpfs',
      '/run/lock',
      '-v',
      '/sys/fs/cgroup:/sys/fs/cgroup:rw',
      '-v',
      `${repo}:/src:ro`,
      '-v',
      `${engine.socketPath}:/run/docker.sock`,
      'moat-systemd:test',
      '/lib/systemd/systemd',
    ]);
    for (let i = 0; i < 100 && !/^(running|degraded)$/.test(await sh('systemctl is-system-running')); i++) await sleep(100);
    const installed = await docker(['exec', ctr, '/src/bin/moat', 'install']);
    expect(installed.stdout).toContain('moat is installed.');
  }, 900_000);

  afterAll(async () => {
    const report = await engine?.stop();
    await netns?.delete();
    if (report && report.forced.length + report.cgroupsLeft.length > 0) console.warn('engine teardown was not clean', report);
  }, 120_000);

  it('systemctl start moatd returns once the first ruleset is committed (Type=notify)', async () => {
    expect(await sh('systemctl daemon-reload && systemctl start moatd.service && systemctl is-active moatd.service')).toBe('active');
    expect(await sh('systemctl show -P StatusText moatd.service')).toBe('enforcing: first ruleset committed');
    const journal = await sh('journalctl -u moatd.service -o cat --no-pager');
    expect(journal).toMatch(/"event":"reconcile".*"committed":true.*"ok":true/);
    expect(journal).toContain('"event":"systemd_notified"');
    expect(await sh('iptables-save -t filter')).toMatch(/^:MOAT-FORWARD /m);
    // The control socket in RuntimeDirectory= answers (when `moat status` is built).
    if (/^\s+status\b/m.test(await sh('/usr/local/bin/moat --help'))) {
      expect(await sh('/usr/local/bin/moat status --json >/dev/null; echo $?')).toBe('0');
    }
  });

  it('the sandbox lets iptables (both backends), the IPv6 sysctl, conntrack, ipset, port 53, the state directory and Docker through, and nothing else', async () => {
    await docker(['exec', '-i', ctr, 'sh', '-c', 'cat > /usr/local/bin/moat-probe && chmod 755 /usr/local/bin/moat-probe'], { input: PROBE });
    // moatd.service's own sandbox, as a oneshot running the probe; start without the lock file.
    const out = await sh(`rm -f /run/xtables.lock
sed -e 's|^Type=notify|Type=oneshot|; s|^ExecStart=.*|ExecStart=/usr/local/bin/moat-probe|; /^Restart/d; /^ExecReload/d; /^KillMode/d' /etc/systemd/system/moatd.service > /etc/systemd/system/moat-probe.service
systemctl daemon-reload && systemctl start moat-probe.service
journalctl -u moat-probe.service -o cat --no-pager | grep -E '^(ok|FAIL) '`);
    const lines = out.split('\n');
    expect(lines.filter((l) => l.startsWith('FAIL'))).toEqual([]);
    expect(lines).toHaveLength(13);
  });

  it('reload sends SIGHUP; a crash is restarted; stop leaves the rules in place', async () => {
    expect(await sh('systemctl reload moatd.service && sleep 0.5 && journalctl -u moatd.service -o cat --no-pager | grep -c config_reloaded')).toBe('1');
    const pid = await sh('systemctl show -P MainPID moatd.service');
    await sh(`kill -9 ${pid}`);
    let restarts = '0';
    for (let i = 0; i < 100 && restarts === '0'; i++) {
      await sleep(100);
      restarts = await sh('systemctl show -P NRestarts moatd.service');
    }
    expect(restarts).toBe('1');
    for (let i = 0; i < 100 && (await sh('systemctl is-active moatd.service')) !== 'active'; i++) await sleep(100);
    expect(await sh('systemctl stop moatd.service; systemctl is-active moatd.service')).toBe('inactive');
    expect(await sh('iptables-save -t filter')).toMatch(/^:MOAT-FORWARD /m);
  });

  it('moat-lockdown.service runs `moat lockdown` as a oneshot (when the command exists)', async () => {
    const help = await sh('/usr/local/bin/moat --help');
    if (!/^\s+lockdown\b/m.test(help)) return; // `moat lockdown` is not built yet
    expect(await sh('systemctl start moat-lockdown.service; systemctl is-active moat-lockdown.service')).toBe('active');
  });
});
