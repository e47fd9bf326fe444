/**
 * Turns schema issues into lines a technician can act on:
 * `<dotted path>: expected <what is accepted>, got <what was found>`.
 */
import type * as z from 'zod';
import { closest, findKey, isSecretPath, keysUnder } from './keys.js';

type Issue = z.core.$ZodIssue & { input?: unknown };

/** How a found value is shown: JSON for scalars, a type name for big things. */
export function describeFound(value: unknown): string {
  if (value === undefined) return 'nothing';
  if (value === null) return 'null';
  if (Array.isArray(value)) return `a list (${JSON.stringify(value).slice(0, 60)})`;
  if (typeof value === 'object') return 'a mapping';
  if (typeof value === 'number' && !Number.isFinite(value)) return String(value);
  return JSON.stringify(value);
}

const TYPE_WORDS: Record<string, string> = {
  string: 'text',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  object: 'a mapping of keys',
  array: 'a list',
  record: 'a mapping of keys',
};

function dotted(path: readonly PropertyKey[]): string {
  return path.map((p) => String(p)).join('.');
}

function bound(issue: { minimum?: unknown; maximum?: unknown; inclusive?: boolean; origin?: string }, small: boolean): string {
  const limit = small ? issue.minimum : issue.maximum;
  const op = small ? (issue.inclusive ? '>=' : '>') : issue.inclusive ? '<=' : '<';
  switch (issue.origin) {
    case 'string':
      return `text of ${small ? 'at least' : 'at most'} ${String(limit)} characters`;
    case 'array':
      return `a list of ${small ? 'at least' : 'at most'} ${String(limit)} items`;
    default:
      return `a number ${op} ${String(limit)}`;
  }
}

function foundFor(path: string, input: unknown): string {
  return isSecretPath(path) ? '[redacted]' : describeFound(input);
}

/** One or more lines for one issue (an unknown-keys issue yields a line per key). */
export function formatIssue(issue: Issue): string[] {
  const path = dotted(issue.path);
  const at = (p: string) => p || '(top level)';
  switch (issue.code) {
    case 'unrecognized_keys': {
      const accepted = keysUnder(path) ?? [];
      return issue.keys.map((key) => {
        const full = path ? `${path}.${key}` : key;
        const hint = closest(key, accepted);
        return `${full}: unknown key${hint ? ` (did you mean "${hint}"?)` : ''}; accepted here: ${accepted.join(', ')}`;
      });
    }
    case 'invalid_type': {
      if (issue.input === undefined) return [`${at(path)}: expected ${TYPE_WORDS[issue.expected] ?? issue.expected}, but it is missing`];
      const expected = issue.expected === 'number' && typeof issue.input === 'number' ? 'a whole number' : (TYPE_WORDS[issue.expected] ?? issue.expected);
      return [`${at(path)}: expected ${expected}, got ${foundFor(path, issue.input)}`];
    }
    case 'too_small':
      return [`${at(path)}: expected ${bound(issue, true)}, got ${foundFor(path, issue.input)}`];
    case 'too_big':
      return [`${at(path)}: expected ${bound(issue, false)}, got ${foundFor(path, issue.input)}`];
    case 'invalid_value':
      return [`${at(path)}: expected one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}, got ${foundFor(path, issue.input)}`];
    case 'invalid_union': {
      const key = findKey(path);
      const accepted = key?.meta.accepts ?? key?.values?.map((v) => JSON.stringify(v)).join(' or ') ?? 'a different value';
      return [`${at(path)}: expected ${accepted}, got ${foundFor(path, issue.input)}`];
    }
    case 'invalid_format':
    case 'custom':
    default: {
      const message = issue.message.startsWith('expected') ? issue.message : `expected ${issue.message}`;
      return [`${at(path)}: ${message}, got ${foundFor(path, issue.input)}`];
    }
  }
}

export function formatIssues(issues: readonly Issue[]): string[] {
  return issues.flatMap(formatIssue);
}
