import { configKeys } from './keys.js';
import { getPath, setPath } from './load.js';

export const REDACTED = '[redacted]';

/** Dotted paths of every secret key (for log redaction and `config show`). */
export function secretPaths(): string[] {
  return configKeys()
    .filter((k) => k.meta.secret)
    .map((k) => k.path);
}

/** A deep copy of a configuration with every secret that is set replaced by "[redacted]". */
export function redactConfig<T extends object>(config: T): T {
  const copy = structuredClone(config) as Record<string, unknown>;
  for (const p of secretPaths()) {
    const segments = p.split('.');
    if (getPath(copy, segments) !== undefined) setPath(copy, segments, REDACTED);
  }
  return copy as T;
}
