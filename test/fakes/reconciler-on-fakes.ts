// A Reconciler wired to a fake kernel, a fake Docker answering with the
// host-mixed golden snapshot, and a capturing logger: the unit tests' setup.
import { Iptables } from '../../src/adapters/iptables.js';
import { DEFAULT_CONFIG } from '../../src/core/config.js';
import { Reconciler } from '../../src/runtime/reconciler.js';
import { captureLogger } from './capture-logger.js';
import { hostMixed } from './host-mixed.js';
import { FakeDocker } from './fake-docker.js';
import { FakeXtables } from './fake-xtables.js';

export { hostMixed };

export function reconcilerOnFakes() {
  const kernel = new FakeXtables();
  const docker = new FakeDocker();
  docker.lists_ = hostMixed;
  const cap = captureLogger();
  let t = 0;
  const run = kernel.runner();
  const rec = new Reconciler({
    docker,
    iptables: [new Iptables(run, 4), new Iptables(run, 6)],
    config: () => DEFAULT_CONFIG,
    log: cap.log,
    now: () => (t += 1),
  });
  return { kernel, docker, cap, rec };
}
