/** `earshot run`: the long-running device agent (see agent/agent.ts and agent/lifecycle.ts). */
import { loadConfig } from '../../config/load.js';
import { createLogger } from '../log.js';
import { runAgent } from '../lifecycle.js';
import { CommandExit, globalOptions, type RegisterCommand } from './context.js';

export const registerRunCommand: RegisterCommand = (program, ctx) => {
  program
    .command('run')
    .description('Listen: capture audio (microphone, file replay or stdin), detect, store and send alerts until stopped (SIGTERM/SIGINT; SIGHUP reloads the configuration).')
    .option('--log-level <level>', 'override log.level')
    .action(async (opts: { logLevel?: string }, cmd) => {
      const flag = globalOptions(cmd).config;
      const loaded = loadConfig({ flag, env: ctx.env });
      const config = loaded.config;
      const level = (opts.logLevel ?? config.log.level) as typeof config.log.level;
      const logger = createLogger({ level, format: config.log.format, isTTY: ctx.isTTY });
      const code = await runAgent({
        config,
        configFile: loaded.location.path ?? flag ?? '/etc/earshot/config.yaml',
        env: ctx.env,
        logger,
        reload: () => loadConfig({ flag, env: ctx.env }).config,
      });
      logger.flush?.();
      if (code !== 0) throw new CommandExit(code);
      // Nothing may keep the process alive after an orderly stop (onnxruntime, timers).
      setTimeout(() => process.exit(0), 200).unref();
    });
};
