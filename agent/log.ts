/**
 * Logging with pino: JSON lines by default (journald keeps them), pretty text on a terminal.
 * Components get child loggers (`logger.child({component: 'sync'})`). Secrets are redacted
 * by key name wherever they appear in a logged object.
 */
import pino, { type Logger } from 'pino';
import { secretPaths } from '../config/redact.js';

export type { Logger } from 'pino';
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  level: LogLevel;
  format: LogFormat;
  /** Whether the destination is a terminal (decides `auto`). */
  isTTY: boolean;
  /** Where JSON lines go (default stderr, so stdout stays for command output). */
  destination?: pino.DestinationStream;
}

/** Key names whose values are never logged, wherever they are nested. */
export function redactPaths(): string[] {
  const names = new Set(['password', 'passphrase', 'secret', 'hmacSecret', 'authorization', 'token']);
  for (const p of secretPaths()) names.add(p.split('.').pop()!);
  const out: string[] = [];
  for (const n of names) out.push(n, `*.${n}`, `*.*.${n}`, `*.*.*.${n}`);
  return out;
}

export function createLogger(opts: LoggerOptions): Logger {
  const pretty = opts.format === 'pretty' || (opts.format === 'auto' && opts.isTTY);
  const base = {
    level: opts.level,
    redact: { paths: redactPaths(), censor: '[redacted]' },
    base: { pid: process.pid },
  };
  if (pretty && !opts.destination) {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { destination: 2, colorize: opts.isTTY, translateTime: 'SYS:standard', ignore: 'pid,hostname' } } });
  }
  return pino(base, opts.destination ?? pino.destination({ fd: 2, sync: true }));
}

export { silentLogger } from './silent-logger.js';
