import pino, { type Logger } from 'pino';

export interface Captured {
  readonly log: Logger;
  readonly lines: Record<string, unknown>[];
  events(name: string): Record<string, unknown>[];
}

/** A real pino logger writing parsed JSON lines into memory. */
export function captureLogger(): Captured {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'debug' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { log, lines, events: (name) => lines.filter((l) => l.event === name) };
}
