/** The `earshot` command line: builds the commander program and runs it with typed exit codes. */
import { Command, CommanderError } from 'commander';
import { ConfigError, EarshotError, ExitCode, exitCodeOf } from '../errors.js';
import { packageVersion } from '../version.js';
import { registerConfigCommands } from './config-commands.js';
import { registerModelsCommands } from './models-commands.js';
import { registerEventsCommands } from './events-commands.js';
import { registerFeaturesCommand } from './features.js';
import { registerAnalyzeCommand } from './analyze-command.js';
import { registerAlertsCommands, registerSyncCommands } from './sync-commands.js';
import { registerRunCommand } from './run-command.js';
import { registerStatusCommand } from './status-command.js';
import { registerDoctorCommand } from './doctor-command.js';
import { registerServiceCommands } from './service-commands.js';
import { CommandExit, type CliContext, type RegisterCommand } from './context.js';

const COMMANDS: RegisterCommand[] = [registerConfigCommands, registerAnalyzeCommand, registerFeaturesCommand, registerEventsCommands, registerSyncCommands, registerAlertsCommands, registerModelsCommands, registerRunCommand, registerStatusCommand, registerDoctorCommand, registerServiceCommands];

export function createProgram(ctx: CliContext): Command {
  const program = new Command('earshot')
    .description('Earshot: listens in the forest, recognises chainsaws, gunshots, vehicles, voices and wildlife, and alerts rangers over MQTT.')
    .version(packageVersion(), '-V, --version')
    .option('-c, --config <file>', 'configuration file (default: $EARSHOT_CONFIG, else /etc/earshot/config.yaml)')
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr })
    .exitOverride();
  for (const register of COMMANDS) register(program, ctx);
  // Subcommands inherit the output and exit behaviour so their usage errors are ours to map.
  const inherit = (cmd: Command) => {
    for (const sub of cmd.commands) {
      sub.configureOutput({ writeOut: ctx.stdout, writeErr: ctx.stderr }).exitOverride().showHelpAfterError('(run with --help for usage)');
      inherit(sub);
    }
  };
  inherit(program);
  return program;
}

/** Prints an error the way a technician needs it: what is wrong and where, nothing more. */
function report(ctx: CliContext, err: unknown): void {
  if (err instanceof ConfigError || err instanceof EarshotError) {
    ctx.stderr(`earshot: ${err.message}\n`);
  } else if (err instanceof Error) {
    ctx.stderr(`earshot: unexpected error: ${err.stack ?? err.message}\n`);
  } else {
    ctx.stderr(`earshot: unexpected error: ${String(err)}\n`);
  }
}

/** Runs the CLI and returns the exit code (sysexits, see DESIGN.md). */
export async function runCli(argv: readonly string[], ctx: CliContext): Promise<number> {
  const program = createProgram(ctx);
  try {
    await program.parseAsync(argv as string[], { from: 'user' });
    return ExitCode.ok;
  } catch (err) {
    if (err instanceof CommandExit) return err.code;
    if (err instanceof CommanderError) {
      // Help and version are "errors" to commander; usage mistakes were already printed.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version' || err.code === 'commander.help') return ExitCode.ok;
      return ExitCode.usage;
    }
    report(ctx, err);
    return exitCodeOf(err);
  }
}
