#!/usr/bin/env node
/** Entry point of the `earshot` binary. */
import { runCli } from './cli/program.js';
import { processContext } from './cli/context.js';

const code = await runCli(process.argv.slice(2), processContext());
process.exitCode = code;
