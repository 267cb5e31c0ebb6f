// testcontainers-node resolves its Docker client once per process, from
// process.env.DOCKER_HOST, into a module-level singleton that cannot be
// passed in or reset. So a process can drive exactly one private engine
// socket through it (vitest runs each test file in its own worker, so: one
// engine per test file; Engine.restart() keeps the socket, so it is fine).
// This binds it, and fails loudly instead of silently talking to another engine.
import { getContainerRuntimeClient } from 'testcontainers';

export async function bindTestcontainers(dockerHost: string, env: NodeJS.ProcessEnv = process.env): Promise<void> {
  // Only the first call in a process takes effect; later ones are verified below.
  env.DOCKER_HOST = dockerHost;
  // The bed's containers are removed with their engine; Ryuk would need an image pull.
  env.TESTCONTAINERS_RYUK_DISABLED = 'true';
  const bound = `unix://${(await getContainerRuntimeClient()).info.containerRuntime.remoteSocketPath}`;
  if (bound !== dockerHost) {
    throw new Error(
      `testcontainers is bound to ${bound} for this process and cannot switch to ${dockerHost}: ` +
        'run one private engine per test file (or restart() it rather than starting a new one)',
    );
  }
}
