import { expect } from 'vitest';
import { ConfigError } from '../../agent/errors.js';

/** What `fn` throws (fails the test when it throws nothing). */
export function thrownBy(fn: () => unknown): unknown {
  try {
    fn();
  } catch (err) {
    return err;
  }
  throw new Error('expected an error to be thrown');
}

/** The issue lines of the ConfigError that `fn` throws. */
export function configIssuesOf(fn: () => unknown): readonly string[] {
  const err = thrownBy(fn);
  expect(err).toBeInstanceOf(ConfigError);
  return (err as ConfigError).issues;
}
