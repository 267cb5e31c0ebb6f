import pino, { type Logger } from 'pino';

/** JSON lines on stdout; every line carries an `event` field naming what happened. */
export function createLogger(level: string): Logger {
  return pino({ level, base: { pid: process.pid }, timestamp: pino.stdTimeFunctions.isoTime });
}
