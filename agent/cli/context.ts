import type { Command } from 'commander';

/**
 * What a CLI command may touch of the outside world. Injected so tests can run the CLI
 * in-process with captured output and a fake environment.
 */
export interface CliContext {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Whether stderr is a terminal (progress bars, pretty logs). */
  isTTY: boolean;
}

export function processContext(): CliContext {
  return {
    stdout: (t) => process.stdout.write(t),
    stderr: (t) => process.stderr.write(t),
    env: process.env,
    cwd: process.cwd(),
    isTTY: Boolean(process.stderr.isTTY),
  };
}

/** The global options every command sees (`earshot --config F <command>`). */
export interface GlobalOptions {
  config?: string;
  logLevel?: string;
}

export function globalOptions(cmd: Command): GlobalOptions {
  return cmd.optsWithGlobals() as GlobalOptions;
}

/** A command module adds its commands to the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;

/**
 * Thrown by a command that has already reported what went wrong (e.g. some inputs failed
 * while the others were processed): the CLI exits with `code` and prints nothing more.
 */
export class CommandExit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}
