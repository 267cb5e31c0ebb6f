import { describe, expect, it } from 'vitest';
import { registerStartGate, unregisterStartGate } from './daemon-json-gate.js';

const target = { wrapper: '/usr/local/lib/moat/bin/moat-runc', socket: '/run/moat/moat.sock' };
const json = (r: { ok: boolean; text?: string }) => (r.ok && r.text ? (JSON.parse(r.text) as Record<string, unknown>) : null);

describe('registerStartGate / unregisterStartGate', () => {
  it('registers moat-runc as the default runtime and puts the file back on the way out', () => {
    const text = '{\n  "log-driver": "journald",\n  "iptables": false\n}\n';
    const r = registerStartGate(text, target);
    expect(r).toMatchObject({ ok: true, changed: true, wraps: 'runc', previous: { defaultRuntime: { present: false }, moatRuntime: { present: false } } });
    expect(json(r)).toEqual({ 'log-driver': 'journald', iptables: false, runtimes: { moat: { path: target.wrapper } }, 'default-runtime': 'moat' });
    if (!r.ok) return;
    expect(registerStartGate(r.text, target)).toMatchObject({ ok: true, changed: false });
    const back = unregisterStartGate(r.text, r.previous);
    // runtimes.moat stays, now plain runc: containers created under the gate keep starting.
    expect(json(back)).toEqual({ 'log-driver': 'journald', iptables: false, runtimes: { moat: { path: 'runc' } } });
    expect(back.ok && back.notes.join()).toMatch(/runs runc directly/);
  });

  it("wraps the operator's own default runtime, with its arguments, and gives it back", () => {
    const text = JSON.stringify({ runtimes: { nvidia: { path: 'nvidia-container-runtime', runtimeArgs: ['--debug'] } }, 'default-runtime': 'nvidia' });
    const r = registerStartGate(text, { ...target, socket: '/srv/moat.sock' });
    expect(r).toMatchObject({ ok: true, wraps: 'nvidia-container-runtime --debug' });
    expect(json(r)).toMatchObject({
      'default-runtime': 'moat',
      runtimes: {
        nvidia: { path: 'nvidia-container-runtime' },
        moat: { path: target.wrapper, runtimeArgs: ['--moat-socket', '/srv/moat.sock', '--moat-runtime', 'nvidia-container-runtime', '--debug'] },
      },
    });
    if (!r.ok) return;
    expect(json(unregisterStartGate(r.text, r.previous))).toEqual({
      runtimes: {
        nvidia: { path: 'nvidia-container-runtime', runtimeArgs: ['--debug'] },
        moat: { path: 'nvidia-container-runtime', runtimeArgs: ['--debug'] },
      },
      'default-runtime': 'nvidia',
    });
  });

  it('refuses what it cannot wrap, and leaves a default the operator changed since alone', () => {
    expect(
      registerStartGate(JSON.stringify({ runtimes: { gvisor: { runtimeType: 'io.containerd.runsc.v1' } }, 'default-runtime': 'gvisor' }), target),
    ).toMatchObject({ ok: false, error: expect.stringMatching(/runtimeType/) });
    expect(registerStartGate('{"runtimes": []}', target)).toMatchObject({ ok: false });
    expect(registerStartGate('{', target)).toMatchObject({ ok: false });
    const r = registerStartGate('{}', target);
    if (!r.ok) throw new Error(r.error);
    const edited = r.text.replace('"default-runtime":"moat"', '"default-runtime":"crun"').replace('"default-runtime": "moat"', '"default-runtime": "crun"');
    const back = unregisterStartGate(edited, r.previous);
    expect(json(back)).toMatchObject({ 'default-runtime': 'crun' });
    expect(back.ok && back.notes.join()).toMatch(/left as it is/);
  });
});
