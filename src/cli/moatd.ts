// moatd: the daemon, in the foreground. Exits 2 on a bad config before it
// touches anything; on SIGTERM/SIGINT it exits 0 and leaves the rules.
import { performance } from 'node:perf_hooks';
import { Command } from 'commander';
import { ConfigFileError, DEFAULT_CONFIG_PATH, loadConfig } from '../adapters/config-file.js';
import { dockerSource } from '../adapters/docker.js';
import { execaRunner } from '../adapters/exec.js';
import { drainGateTimeouts, gateSpoolPath } from '../adapters/gate-spool.js';
import { nftMonitor } from '../adapters/nft-monitor.js';
import { disableIpv6, readSysctl } from '../adapters/sysctl.js';
import { systemdReadiness } from '../adapters/systemd-notify.js';
import { startControlServer, type ControlServer } from '../runtime/control-server.js';
import { deprecations } from '../core/config.js';
import { Daemon } from '../runtime/daemon.js';
import { StartupError } from '../runtime/families.js';
import { createLogger } from '../runtime/logger.js';
import { Metrics } from '../runtime/metrics.js';
import { DaemonStatus } from '../runtime/status.js';

const program = new Command('moatd')
  .description("Keeps this Docker host firewalled: follows Docker events and commits moat's iptables chains.")
  .option('-c, --config <file>', `config file (YAML; default ${DEFAULT_CONFIG_PATH}, optional)`)
  .option('--control-socket <path>', 'control socket path (overrides control.socket; e.g. for a second instance)')
  .addHelpText(
    'after',
    `
Example:
  moatd --config /etc/moat/config.yaml

Logs are JSON lines on stdout (pipe through pino-pretty to read them).
DOCKER_HOST is honoured. Needs root (CAP_NET_ADMIN) and the Docker socket.`,
  )
  .action(async (opts: { config?: string; controlSocket?: string }) => {
    const path = opts.config ?? DEFAULT_CONFIG_PATH;
    let config;
    try {
      config = await loadConfig(path, opts.config !== undefined);
    } catch (err) {
      process.stderr.write(`moatd: ${err instanceof ConfigFileError ? err.message : String(err)}\nmoatd: nothing was changed.\n`);
      process.exit(2);
    }
    if (opts.controlSocket) config = { ...config, control: { socket: opts.controlSocket } };
    const log = createLogger(config.log.level);
    for (const warning of deprecations(config)) log.warn({ event: 'config_deprecated', path, warning }, warning);
    const metrics: Metrics = new Metrics({ dockerConnected: (): boolean => status.isConnected() });
    const status: DaemonStatus = new DaemonStatus({ now: () => performance.now(), wallClock: () => Date.now(), pid: process.pid, metrics });
    const daemon = new Daemon({
      config,
      docker: dockerSource(),
      run: execaRunner(),
      monitor: nftMonitor(),
      log,
      now: () => performance.now(),
      onReady: systemdReadiness(process.env, execaRunner(), log),
      disableIpv6,
      readSysctl,
      observer: status,
      drainGateTimeouts: () => drainGateTimeouts(gateSpoolPath(config.control.socket)),
      onGateAnswer: (a) => metrics.gated(a.verdict, a.waitedMs),
    });
    // Status first: it answers (Docker disconnected, no reconcile yet) while moatd waits for Docker.
    // Enforcement matters more than the socket, so a socket that cannot open is logged, not fatal.
    let control: ControlServer | null = null;
    try {
      control = await startControlServer({
        socketPath: config.control.socket,
        metricsListen: config.metrics.listen,
        status: () => status.document(),
        metrics: () => metrics.text(),
        metricsContentType: metrics.contentType,
        log,
        gate: (id, waitMs) => daemon.admit(id, waitMs),
      });
    } catch (err) {
      log.error(
        { event: 'control_failed', socket: config.control.socket, err: err instanceof Error ? err.message : String(err) },
        'control socket not available; moatd enforces without it',
      );
    }
    let stopping = false;
    const stop = async (signal: string) => {
      if (stopping) return;
      stopping = true;
      log.info({ event: 'stopping', signal }, 'stopping; rules stay in place');
      await daemon.stop();
      await control?.close();
      log.flush();
      process.exit(0);
    };
    process.on('SIGTERM', () => void stop('SIGTERM'));
    process.on('SIGINT', () => void stop('SIGINT'));
    process.on('SIGHUP', () => {
      loadConfig(path, opts.config !== undefined).then(
        (next) => {
          log.info({ event: 'config_reloaded', path }, 'config reloaded');
          for (const warning of deprecations(next)) log.warn({ event: 'config_deprecated', path, warning }, warning);
          void daemon.reload(next);
        },
        (err: unknown) =>
          log.error({ event: 'config_rejected', path, err: err instanceof Error ? err.message : String(err) }, 'new config rejected; the running config stays'),
      );
    });
    try {
      await daemon.start();
    } catch (err) {
      if (err instanceof StartupError) {
        log.fatal({ event: 'startup_failed', err: err.message }, err.message);
        await control?.close();
        process.exit(2);
      }
      throw err;
    }
  });

await program.parseAsync();
