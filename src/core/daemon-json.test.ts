import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { disableDockerFirewall, restoreDockerFirewall } from './daemon-json.js';

const ABSENT = { present: false } as const;

describe('disableDockerFirewall', () => {
  it('creates the file content when there is none', () => {
    const r = disableDockerFirewall(null);
    expect(r).toMatchObject({ ok: true, changed: true, previous: { iptables: ABSENT, ip6tables: ABSENT } });
    if (r.ok) expect(r.text).toBe('{\n  "iptables": false,\n  "ip6tables": false\n}\n');
  });

  it("appends the keys in the file's own indentation and keeps everything else byte for byte", () => {
    const text =
      '{\n    "log-driver": "journald",\n    "default-address-pools": [ {"base": "10.200.0.0/16", "size": 24} ],\n    "features": { "buildkit": true }\n}\n';
    const r = disableDockerFirewall(text);
    expect(r.ok && r.text).toBe(
      '{\n    "log-driver": "journald",\n    "default-address-pools": [ {"base": "10.200.0.0/16", "size": 24} ],\n    "features": { "buildkit": true },\n    "iptables": false,\n    "ip6tables": false\n}\n',
    );
  });

  it('replaces existing values in place and records them', () => {
    const text = '{"iptables": true, "ipv6": true, "ip6tables": true, "dns": ["10.0.0.2"]}';
    const r = disableDockerFirewall(text);
    expect(r).toMatchObject({ ok: true, changed: true, previous: { iptables: { present: true, value: true }, ip6tables: { present: true, value: true } } });
    expect(r.ok && r.text).toBe('{"iptables": false, "ipv6": true, "ip6tables": false, "dns": ["10.0.0.2"]}');
  });

  it("uses the file's spacing around the colon on a one-line object", () => {
    const r = disableDockerFirewall('{"debug":true}\n');
    expect(r.ok && r.text).toBe('{"debug":true, "iptables":false, "ip6tables":false}\n');
  });

  it('changes nothing when both are already false', () => {
    const text = '{ "iptables": false,\n  "ip6tables": false }';
    expect(disableDockerFirewall(text)).toMatchObject({ ok: true, changed: false, text });
  });

  it('is not fooled by keys and braces inside strings or nested objects', () => {
    const text = '{\n  "labels": ["iptables", "}{"],\n  "x": {"iptables": true, "s": "\\"iptables\\": true"}\n}';
    const r = disableDockerFirewall(text);
    expect(r.ok && JSON.parse(r.text)).toEqual({ labels: ['iptables', '}{'], x: { iptables: true, s: '"iptables": true' }, iptables: false, ip6tables: false });
    expect(r.ok && r.text.startsWith('{\n  "labels": ["iptables", "}{"],\n  "x": {"iptables": true, "s": "\\"iptables\\": true"},\n  "iptables": false')).toBe(
      true,
    );
  });

  it('refuses a file that is not a JSON object, naming the problem', () => {
    expect(disableDockerFirewall('{"iptables": true,}')).toMatchObject({ ok: false, error: expect.stringMatching(/not valid JSON/) });
    expect(disableDockerFirewall('[1]')).toMatchObject({ ok: false, error: expect.stringMatching(/JSON object/) });
  });
});

describe('restoreDockerFirewall', () => {
  it('deletes keys that were absent and restores values that were present', () => {
    const original = '{\n  "iptables": true,\n  "log-level": "warn"\n}\n';
    const r = disableDockerFirewall(original);
    if (!r.ok) throw new Error(r.error);
    const back = restoreDockerFirewall(r.text, r.previous);
    expect(back).toMatchObject({ ok: true, changed: true, notes: [] });
    expect(back.ok && back.text).toBe(original);
  });

  it('restores to {} when the file was created by moat', () => {
    const r = disableDockerFirewall(null);
    if (!r.ok) throw new Error(r.error);
    expect(restoreDockerFirewall(r.text, r.previous)).toMatchObject({ ok: true, text: '{}\n' });
  });

  it('leaves a key alone when the operator changed it since', () => {
    const back = restoreDockerFirewall('{"iptables": true, "ip6tables": false}', { iptables: ABSENT, ip6tables: ABSENT });
    expect(back).toMatchObject({ ok: true, text: '{"iptables": true}', notes: [expect.stringMatching(/"iptables" is true now/)] });
  });

  it('reports a missing file instead of creating one', () => {
    expect(restoreDockerFirewall(null, { iptables: ABSENT, ip6tables: ABSENT })).toMatchObject({ ok: true, changed: false, notes: [expect.any(String)] });
  });

  it('round-trips any object: other keys keep their values and order', () => {
    const key = fc.string({ maxLength: 8 }).filter((k) => !['iptables', 'ip6tables', '__proto__'].includes(k));
    const value = fc.oneof(fc.boolean(), fc.integer(), fc.string({ maxLength: 6 }), fc.constant(null), fc.array(fc.integer(), { maxLength: 3 }));
    fc.assert(
      fc.property(fc.dictionary(key, value, { maxKeys: 6 }), fc.option(value), fc.constantFrom(0, 2, 4), (obj, ipt, indent) => {
        const input = { ...obj, ...(ipt === null ? {} : { iptables: ipt }) };
        const text = `${JSON.stringify(input, null, indent)}\n`;
        const r = disableDockerFirewall(text);
        if (!r.ok) throw new Error(r.error);
        expect(JSON.parse(r.text)).toEqual({ ...input, iptables: false, ip6tables: false });
        const back = restoreDockerFirewall(r.text, r.previous);
        if (!back.ok) throw new Error(back.error);
        expect(JSON.parse(back.text)).toEqual(input);
        expect(Object.keys(JSON.parse(back.text))).toEqual(Object.keys(input));
      }),
    );
  });
});
