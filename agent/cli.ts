#!/usr/bin/env node
/** Entry point of the `earshot` binary. */
import { runCli } from './cli/program.js';
import { processContext } from './cli/context.js';

// `earshot analyze ... | head`: a reader that goes away is not an error worth a stack trace.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});

const code = await runCli(process.argv.slice(2), processContext());
process.exitCode = code;
