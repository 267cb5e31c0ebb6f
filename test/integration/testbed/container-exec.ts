// `docker exec` through dockerode, bounded in time, with the exit code.
import type Docker from 'dockerode';
import { PassThrough } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import type { RunResult } from './run.js';

export async function execInContainer(docker: Docker, container: string, argv: readonly string[], timeoutMs = 15_000): Promise<RunResult> {
  const exec = await docker.getContainer(container).exec({ Cmd: [...argv], AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough().on('data', (b: Buffer) => out.push(b));
  const stderr = new PassThrough().on('data', (b: Buffer) => err.push(b));
  docker.modem.demuxStream(stream, stdout, stderr);
  let timer: NodeJS.Timeout | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      stream.once('end', resolve).once('close', resolve).once('error', reject);
      timer = setTimeout(() => {
        stream.destroy();
        reject(new Error(`exec ${argv.join(' ')} in ${container} took over ${timeoutMs} ms`));
      }, timeoutMs);
    });
  } finally {
    clearTimeout(timer);
  }
  // The stream can end a moment before the engine records the exit code.
  let info = await exec.inspect();
  for (let i = 0; info.Running && i < 200; i++) {
    await sleep(10);
    info = await exec.inspect();
  }
  return { exitCode: info.ExitCode ?? -1, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8') };
}
