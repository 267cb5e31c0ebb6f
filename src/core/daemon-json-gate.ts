// The start gate's half of daemon.json: registers bin/moat-runc as runtime
// "moat" and makes it the default, wrapping whatever runtime the operator had
// made default; and the way back. Same text-preserving edits as
// daemon-json.ts (the "runtimes" object itself is rewritten as JSON).
import { DEFAULT_CONFIG } from './config.js';
import { checked, type DaemonJsonResult, deleteMember, parseObject, type PreviousValue, setMember } from './daemon-json.js';

export const GATE_RUNTIME = 'moat';
/** moat-runc's --moat-socket default: moatd's own default control socket. */
export const DEFAULT_GATE_SOCKET = DEFAULT_CONFIG.control.socket;
/** Runtime names that mean Docker's own runc: nothing to wrap. */
const RUNC_NAMES = new Set(['runc', 'io.containerd.runc.v2']);

export interface GatePrevious {
  readonly defaultRuntime: PreviousValue;
  readonly moatRuntime: PreviousValue;
}

export interface GateTarget {
  /** Host path of bin/moat-runc. */
  readonly wrapper: string;
  /** moatd's control socket. */
  readonly socket: string;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => v !== null && typeof v === 'object' && !Array.isArray(v);
const previousOf = (o: Obj, key: string): PreviousValue => (Object.hasOwn(o, key) ? { present: true, value: o[key] } : { present: false });

/** The runtime moat-runc must hand over to: null for runc, or an error when it cannot wrap it. */
function wrapped(parsed: Obj): { path: string; args: string[] } | null | string {
  const name = parsed['default-runtime'];
  if (name === undefined || (typeof name === 'string' && RUNC_NAMES.has(name))) return null;
  if (typeof name !== 'string') return '"default-runtime" is not a string';
  const entry = isObj(parsed.runtimes) ? parsed.runtimes[name] : undefined;
  if (!isObj(entry) || typeof entry.path !== 'string' || entry.path === '') {
    return `the default runtime ${JSON.stringify(name)} has no "path" (a containerd shim set with runtimeType is not an OCI runtime command moat-runc can wrap)`;
  }
  const args = Array.isArray(entry.runtimeArgs) ? entry.runtimeArgs.filter((a): a is string => typeof a === 'string') : [];
  return { path: entry.path, args };
}

/** `text` null or blank: no file yet. Already registered: unchanged. */
export function registerStartGate(text: string | null, target: GateTarget): DaemonJsonResult<{ previous: GatePrevious; wraps: string }> {
  const source = text === null || text.trim() === '' ? '{}\n' : text;
  const parsed = parseObject(source);
  if (typeof parsed === 'string') return { ok: false, error: parsed };
  if (parsed.runtimes !== undefined && !isObj(parsed.runtimes)) return { ok: false, error: '"runtimes" is not an object' };
  const runtimes: Obj = isObj(parsed.runtimes) ? parsed.runtimes : {};
  const previous = { defaultRuntime: previousOf(parsed, 'default-runtime'), moatRuntime: previousOf(runtimes, GATE_RUNTIME) };
  const current = runtimes[GATE_RUNTIME];
  if (parsed['default-runtime'] === GATE_RUNTIME && isObj(current) && current.path === target.wrapper) {
    return { ok: true, text: source, changed: source !== text, previous, wraps: wrapsOf(current) };
  }
  if (parsed['default-runtime'] === GATE_RUNTIME)
    return { ok: false, error: `"default-runtime" is already "${GATE_RUNTIME}", but runtimes.${GATE_RUNTIME} is not ${target.wrapper}: fix it by hand first` };
  const inner = wrapped(parsed);
  if (typeof inner === 'string') return { ok: false, error: `${inner}: the start gate is not registered` };
  const runtimeArgs = [
    ...(target.socket !== DEFAULT_GATE_SOCKET ? ['--moat-socket', target.socket] : []),
    ...(inner ? ['--moat-runtime', inner.path, ...inner.args] : []),
  ];
  const entry = { path: target.wrapper, ...(runtimeArgs.length > 0 ? { runtimeArgs } : {}) };
  let out = setMember(source, 'runtimes', JSON.stringify({ ...runtimes, [GATE_RUNTIME]: entry }));
  out = setMember(out, 'default-runtime', JSON.stringify(GATE_RUNTIME));
  const expected = { ...parsed, runtimes: { ...runtimes, [GATE_RUNTIME]: entry }, 'default-runtime': GATE_RUNTIME };
  return checked(out, expected, { previous, wraps: inner ? [inner.path, ...inner.args].join(' ') : 'runc', changed: out !== text });
}

export interface GateArgs {
  readonly socket: string;
  /** The runtime handed over to, and the arguments that go before containerd's. */
  readonly runtime: string;
  readonly runtimeArgs: readonly string[];
  readonly waitMs: number;
}

/** A moat-runc runtimeArgs list read the way bin/moat-runc reads it: leading --moat-* options, then the runtime's own. */
export function gateArgs(entry: unknown): GateArgs {
  const args = isObj(entry) && Array.isArray(entry.runtimeArgs) ? entry.runtimeArgs.map(String) : [];
  const out = { socket: DEFAULT_GATE_SOCKET, runtime: 'runc', waitMs: 2000 };
  let i = 0;
  for (; i < args.length; i++) {
    const m = /^--moat-(socket|runtime|wait-ms)(?:=(.*))?$/.exec(args[i]!);
    if (!m) break;
    const value = m[2] ?? args[++i] ?? '';
    if (m[1] === 'socket') out.socket = value;
    else if (m[1] === 'runtime') out.runtime = value;
    else out.waitMs = /^\d+$/.test(value) ? Number(value) : 2000;
  }
  return { ...out, runtimeArgs: args.slice(i) };
}

/** What a runtimes.moat entry hands over to, from its runtimeArgs. */
export function wrapsOf(entry: unknown): string {
  const g = gateArgs(entry);
  return [g.runtime, ...g.runtimeArgs].join(' ');
}

/**
 * Puts "default-runtime" back. Containers created while the gate was the
 * default name runtime "moat" for good, so runtimes.moat stays, pointing at
 * the runtime the gate wrapped (runc unless another was default), instead of
 * a wrapper that uninstall removes: those containers still start.
 */
export function unregisterStartGate(text: string | null, previous: GatePrevious): DaemonJsonResult<{ notes: readonly string[] }> {
  if (text === null) return { ok: true, text: '', changed: false, notes: ['daemon.json no longer exists: nothing to restore'] };
  const parsed = parseObject(text);
  if (typeof parsed === 'string') return { ok: false, error: parsed };
  const notes: string[] = [];
  const expected: Obj = { ...parsed };
  let out = text;
  if (parsed['default-runtime'] === GATE_RUNTIME) {
    if (previous.defaultRuntime.present) {
      out = setMember(out, 'default-runtime', JSON.stringify(previous.defaultRuntime.value));
      expected['default-runtime'] = previous.defaultRuntime.value;
    } else {
      out = deleteMember(out, 'default-runtime');
      delete expected['default-runtime'];
    }
  } else {
    notes.push(`"default-runtime" is ${JSON.stringify(parsed['default-runtime'] ?? null)} now, not "${GATE_RUNTIME}": left as it is`);
  }
  const runtimes = isObj(parsed.runtimes) ? parsed.runtimes : null;
  const entry = runtimes?.[GATE_RUNTIME];
  if (runtimes && isObj(entry) && typeof entry.path === 'string' && /(^|\/)moat-runc$/.test(entry.path)) {
    const g = gateArgs(entry);
    const plain = { path: g.runtime, ...(g.runtimeArgs.length > 0 ? { runtimeArgs: [...g.runtimeArgs] } : {}) };
    const next = { ...runtimes, [GATE_RUNTIME]: previous.moatRuntime.present ? previous.moatRuntime.value : plain };
    out = setMember(out, 'runtimes', JSON.stringify(next));
    expected.runtimes = next;
    if (!previous.moatRuntime.present)
      notes.push(
        `runtimes.${GATE_RUNTIME} now runs ${plain.path} directly: containers created while the start gate was the default still start; remove the entry once they are recreated`,
      );
  }
  return checked(out, expected, { notes, changed: out !== text });
}
