/**
 * The store's default logger when none is injected: silent. Built on pino directly rather than
 * agent/log.ts, whose redaction list loads the whole configuration schema — too slow to pay in
 * every short-lived process that only opens the store (CLI reads, test children).
 */
import pino from 'pino';
import type { Logger } from '../log.js';

export function quietLogger(): Logger {
  return pino({ level: 'silent' });
}
