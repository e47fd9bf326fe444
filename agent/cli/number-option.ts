import { UsageError } from '../errors.js';

/**
 * A numeric command-line option checked against its range (exit 2 naming the option and what it
 * accepts). Shared by the commands that take numbers.
 */
export function numberOption(command: string, name: string, value: string, min: number, max: number, integer = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max || (integer && !Number.isInteger(n))) {
    throw new UsageError(`--${name}: expected ${integer ? 'a whole number' : 'a number'} from ${min} to ${max}, got "${value}"`, { component: command, code: 'usage.option' });
  }
  return n;
}
