import { describe, expect, it } from 'vitest';
import { FakeDocker } from '../../test/fakes/fake-docker.js';
import { hostMixed } from '../../test/fakes/reconciler-on-fakes.js';
import { DEAD_MS, HostCache, MAX_PATCHED } from './host-cache.js';

type Raw = { Id: string; Names: string[] };
const ids = (l: { containers: readonly unknown[] }) => (l.containers as Raw[]).map((c) => c.Id).sort();

function setup() {
  const docker = new FakeDocker();
  docker.lists_ = structuredClone(hostMixed);
  const clock = { t: 0 };
  const cache = new HostCache(docker, () => clock.t);
  return { docker, cache, clock, all: () => docker.lists_.containers as Raw[] };
}

describe('HostCache', () => {
  it('reads only the container an event names, and keeps every other entry as it was', async () => {
    const { docker, cache, all } = setup();
    const first = await cache.lists(false);
    expect(docker.listCalls).toBe(1);
    const renamed = { ...all()[0]!, Names: ['/renamed'] };
    docker.lists_ = { ...docker.lists_, containers: [renamed, ...all().slice(1)] };
    cache.note({ type: 'container', action: 'rename', id: renamed.Id });
    const next = await cache.lists(false);
    expect([docker.listCalls, docker.runningCalls, docker.networkCalls]).toEqual([1, 1, 0]);
    expect(ids(next)).toEqual(ids(docker.lists_));
    expect((next.containers as Raw[]).find((c) => c.Id === renamed.Id)?.Names).toEqual(['/renamed']);
    // Unchanged entries are the very same objects: the core may reuse what it computed from them.
    const before = new Map((first.containers as Raw[]).map((c) => [c.Id, c]));
    for (const c of next.containers as Raw[]) if (c.Id !== renamed.Id) expect(c).toBe(before.get(c.Id));
    expect(next.networks).toBe(first.networks);
  });

  it('drops a container at die without a read, adds one at start, and follows network connect by the container it names', async () => {
    const { docker, cache, all } = setup();
    await cache.lists(false);
    const [gone, ...rest] = all();
    docker.lists_ = { ...docker.lists_, containers: rest };
    cache.note({ type: 'container', action: 'die', id: gone!.Id });
    expect(ids(await cache.lists(false))).toEqual(ids(docker.lists_));
    expect(docker.runningCalls).toBe(0);
    docker.lists_ = { ...docker.lists_, containers: [gone!, ...rest] };
    cache.note({ type: 'container', action: 'start', id: gone!.Id });
    expect(ids(await cache.lists(false))).toEqual(ids(docker.lists_));
    expect(docker.runningCalls).toBe(1);
    const moved = { ...rest[0]!, Names: ['/moved'] };
    docker.lists_ = { ...docker.lists_, containers: [gone!, moved, ...rest.slice(1)] };
    cache.note({ type: 'network', action: 'connect', id: 'n', container: moved.Id });
    expect((await cache.lists(false)).containers).toContainEqual(moved);
    expect(docker.runningCalls).toBe(2);
  });

  it('lists in full when asked, on events that name nothing, past MAX_PATCHED containers, and after a failed read', async () => {
    const { docker, cache, all } = setup();
    await cache.lists(false);
    await cache.lists(true);
    expect(docker.listCalls).toBe(2);
    cache.note({ type: 'unknown', action: 'unparsable', id: '' });
    await cache.lists(false);
    expect(docker.listCalls).toBe(3);
    for (let i = 0; i <= MAX_PATCHED; i++) cache.note({ type: 'container', action: 'start', id: `${i}`.padStart(64, '0') });
    await cache.lists(false);
    expect([docker.listCalls, docker.runningCalls]).toEqual([4, 0]);
    cache.note({ type: 'network', action: 'create', id: 'n' });
    await cache.lists(false);
    expect(docker.networkCalls).toBe(1);
    docker.down = true;
    cache.note({ type: 'container', action: 'start', id: all()[0]!.Id });
    await expect(cache.lists(false)).rejects.toThrow();
    docker.down = false;
    await cache.lists(false);
    expect(docker.listCalls).toBe(5);
  });

  it('keeps a container that died dead to reads of it alone (the list lags behind its die) until it starts again or DEAD_MS pass', async () => {
    const { cache, clock, all } = setup();
    await cache.lists(false);
    const dying = all()[0]!;
    cache.note({ type: 'container', action: 'die', id: dying.Id });
    // Its network is released while the list still says it runs, with its old address.
    cache.note({ type: 'network', action: 'disconnect', id: 'n', container: dying.Id });
    expect(ids(await cache.lists(false))).not.toContain(dying.Id);
    cache.note({ type: 'container', action: 'rename', id: dying.Id });
    expect(ids(await cache.lists(false))).not.toContain(dying.Id);
    cache.note({ type: 'container', action: 'start', id: dying.Id });
    expect(ids(await cache.lists(false))).toContain(dying.Id);
    cache.note({ type: 'container', action: 'die', id: dying.Id });
    await cache.lists(false);
    clock.t += DEAD_MS;
    cache.note({ type: 'container', action: 'update', id: dying.Id });
    expect(ids(await cache.lists(false))).toContain(dying.Id);
    // Even a full listing a moment after its die does not bring it back; after a reconnect (a start may have been missed) it does.
    cache.note({ type: 'container', action: 'die', id: dying.Id });
    expect(ids(await cache.lists(true))).not.toContain(dying.Id);
    cache.forgetDeaths();
    expect(ids(await cache.lists(false))).toContain(dying.Id);
  });

  it('leaves out the endpoint of a network the container was just disconnected from, though a read still lists it', async () => {
    const { docker, cache, clock } = setup();
    await cache.lists(false);
    const app = (docker.lists_.containers as { Id: string; Names: string[]; NetworkSettings: { Networks: Record<string, { NetworkID: string }> } }[]).find(
      (c) => c.Names[0] === '/app',
    )!;
    const [name, ep] = Object.entries(app.NetworkSettings.Networks)[0]!;
    cache.note({ type: 'network', action: 'disconnect', id: ep.NetworkID, container: app.Id });
    const endpoints = async (full: boolean) =>
      Object.keys(((await cache.lists(full)).containers as (typeof app)[]).find((c) => c.Id === app.Id)!.NetworkSettings.Networks);
    expect(await endpoints(false)).not.toContain(name);
    expect(await endpoints(true)).not.toContain(name);
    cache.note({ type: 'network', action: 'connect', id: ep.NetworkID, container: app.Id });
    expect(await endpoints(false)).toContain(name);
    cache.note({ type: 'network', action: 'disconnect', id: ep.NetworkID, container: app.Id });
    await cache.lists(false);
    clock.t += DEAD_MS;
    expect(await endpoints(true)).toContain(name);
  });
});
