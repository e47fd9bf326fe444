import { expect } from 'vitest';
import { ConfigError } from '../../agent/errors.js';

/** The issue lines of the ConfigError that `fn` throws (fails the test when it throws none). */
export function configIssuesOf(fn: () => unknown): readonly string[] {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(ConfigError);
    return (err as ConfigError).issues;
  }
  throw new Error('expected a ConfigError');
}
