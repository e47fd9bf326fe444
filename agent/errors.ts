/**
 * Earshot's error vocabulary. Every error carries a stable `code`, the `component` that raised
 * it, and a kind that decides what the caller does with it:
 *  - ConfigError: fatal at start (exit 78); at runtime the old configuration is kept.
 *  - TransientError: retry with backoff (broker away, microphone gone, disk busy).
 *  - DataError: skip the item and count it (corrupt WAV, bad request payload).
 *  - InputMissingError / UsageError / UnavailableError: CLI-facing, mapped to sysexits.
 * This module is pure (no I/O) so `dsp/` may use it too.
 */

/** sysexits(3) codes used by the CLI (DESIGN.md). */
export const ExitCode = {
  ok: 0,
  software: 1,
  usage: 2,
  dataErr: 65,
  noInput: 66,
  unavailable: 69,
  /** EX_CANTCREAT: a (user-specified) output file or folder cannot be created. */
  cantCreate: 73,
  tempFail: 75,
  /** EX_NOPERM: not enough permission for the operation (e.g. installing the service without root). */
  noPerm: 77,
  config: 78,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export type ErrorKind = 'config' | 'transient' | 'data' | 'input-missing' | 'usage' | 'unavailable' | 'internal';

export interface EarshotErrorOptions {
  component: string;
  code: string;
  cause?: unknown;
}

export class EarshotError extends Error {
  readonly kind: ErrorKind = 'internal';
  readonly code: string;
  readonly component: string;

  constructor(message: string, opts: EarshotErrorOptions) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.code = opts.code;
    this.component = opts.component;
  }

  get exitCode(): ExitCode {
    return exitCodeForKind(this.kind);
  }
}

/** Invalid configuration. `issues` holds every problem found, one line each. */
export class ConfigError extends EarshotError {
  override readonly kind = 'config' as const;
  readonly issues: readonly string[];
  constructor(message: string, opts: EarshotErrorOptions & { issues?: readonly string[] }) {
    super(message, opts);
    this.issues = opts.issues ?? [message];
  }
}

/** Worth retrying later: the resource may come back. */
export class TransientError extends EarshotError {
  override readonly kind = 'transient' as const;
}

/** One bad item (file, payload, row): skip it, count it, carry on. */
export class DataError extends EarshotError {
  override readonly kind = 'data' as const;
}

export class InputMissingError extends EarshotError {
  override readonly kind = 'input-missing' as const;
}

export class UsageError extends EarshotError {
  override readonly kind = 'usage' as const;
}

export class UnavailableError extends EarshotError {
  override readonly kind = 'unavailable' as const;
}

export function exitCodeForKind(kind: ErrorKind): ExitCode {
  switch (kind) {
    case 'config':
      return ExitCode.config;
    case 'data':
      return ExitCode.dataErr;
    case 'input-missing':
      return ExitCode.noInput;
    case 'usage':
      return ExitCode.usage;
    case 'unavailable':
    case 'transient':
      return ExitCode.unavailable;
    default:
      return ExitCode.software;
  }
}

/** The exit code for anything thrown: typed errors map by kind, the rest is 1. */
export function exitCodeOf(err: unknown): ExitCode {
  return err instanceof EarshotError ? err.exitCode : ExitCode.software;
}

/** Node's errno code of a system error, if any (ENOENT, ENOSPC, ...). */
export function errnoCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string'
    ? err.code
    : undefined;
}
