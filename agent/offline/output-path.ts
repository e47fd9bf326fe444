/**
 * Output files and folders named on the command line (`analyze --out`, `features --out`): a path
 * that cannot be written is the user's mistake, not a bug, so it is one line naming the path and
 * what to do, with exit 73 (EX_CANTCREAT) instead of a stack trace and exit 1.
 */
import fs from 'node:fs';
import path from 'node:path';
import { EarshotError, ExitCode, errnoCode } from '../errors.js';

const COMPONENT = 'cli.output';

/** An output the user named cannot be created (exit 73). */
export class CannotCreateError extends EarshotError {
  override readonly kind = 'usage' as const;
  override get exitCode(): ExitCode {
    return ExitCode.cantCreate;
  }
}

/** Why an output path failed, in words, with the fix. */
export function outputProblem(target: string, err: unknown): string {
  switch (errnoCode(err)) {
    case 'ENOENT':
      return `its folder ${path.dirname(target)} does not exist (create it, or name another path)`;
    case 'ENOTDIR':
      return 'a part of the path is a file, not a folder (name another path)';
    case 'EEXIST':
      return 'a file of that name exists where a folder is needed (remove it, or name another folder)';
    case 'EISDIR':
      return 'is a folder (name a file)';
    case 'EACCES':
    case 'EPERM':
      return 'permission denied (name a folder you can write, or run as its owner)';
    case 'EROFS':
      return 'the file system is read-only (name another path)';
    case 'ENOSPC':
      return 'the disk is full (free space, or name another disk)';
    default:
      return (err as Error).message;
  }
}

export function cannotCreate(what: string, target: string, err: unknown): CannotCreateError {
  return new CannotCreateError(`${what} ${target}: cannot write: ${outputProblem(target, err)}`, { component: COMPONENT, code: 'output.cannot-create', cause: err });
}

/**
 * Makes sure `dir` is a folder that can be written, creating missing levels one at a time (a
 * recursive mkdir spins for ever under /proc), before any work is done.
 */
export function ensureOutputFolder(dir: string, what = '--out'): void {
  try {
    makeFolder(dir);
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK);
  } catch (err) {
    if (err instanceof EarshotError) throw err;
    throw cannotCreate(what, dir, err);
  }
}

function makeFolder(dir: string): void {
  const abs = path.resolve(dir);
  let st: fs.Stats | undefined;
  try {
    st = fs.statSync(abs);
  } catch (err) {
    if (errnoCode(err) !== 'ENOENT') throw err;
  }
  if (st) {
    if (!st.isDirectory()) throw Object.assign(new Error(`${abs} is not a folder`), { code: 'EEXIST' });
    return;
  }
  const parent = path.dirname(abs);
  if (parent !== abs) makeFolder(parent);
  fs.mkdirSync(abs);
}
