/**
 * A logger that drops everything: the default of every component when none is injected, and for
 * tests. Built on pino directly rather than agent/log.ts, whose redaction list loads the whole
 * configuration schema — too slow to pay in every short-lived process that only opens the store
 * (CLI reads, test children).
 */
import pino from 'pino';
import type { Logger } from './log.js';

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
