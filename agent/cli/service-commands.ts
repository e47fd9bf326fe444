/** `earshot service install|uninstall`: the systemd unit and the user it runs as (agent/service/). */
import path from 'node:path';
import { loadConfig, SYSTEM_CONFIG_PATH } from '../../config/load.js';
import { errnoCode } from '../errors.js';
import { liveSystem, NoPermissionError, setupService, type ServiceSystem } from '../service/install.js';
import { uninstallService } from '../service/systemd.js';
import { packageRoot } from '../version.js';
import { globalOptions, type CliContext, type RegisterCommand } from './context.js';

/** The system tools and user database; replaced by tests (registerServiceCommandsWith). */
export function registerServiceCommandsWith(system: ServiceSystem): RegisterCommand {
  return (program, ctx) => register(program, ctx, system);
}

export const registerServiceCommands: RegisterCommand = registerServiceCommandsWith(liveSystem);

function register(program: Parameters<RegisterCommand>[0], ctx: CliContext, system: ServiceSystem): void {
  const service = program.command('service').description('install or remove the systemd service');
  service
    .command('install')
    .description(
      'write /etc/systemd/system/earshot.service (Restart=always, watchdog, dedicated user, hardening) and the sysusers.d entry for the earshot user, ' +
        'create the user, and hand the configuration (group-readable, not world-readable) and storage.dataDir (owned by the user, group-readable) to it',
    )
    .option('--root <dir>', 'install under this folder instead of / (image builds, tests): writes the files only', '/')
    .option('--user <name>', 'user the agent runs as', 'earshot')
    .option('--watchdog-sec <n>', 'systemd WatchdogSec', '60')
    .action((opts: { root: string; user: string; watchdogSec: string }, cmd) => {
      const flag = globalOptions(cmd).config;
      const { config, location } = loadConfig({ flag, env: ctx.env });
      const configFile = path.resolve(location.path ?? SYSTEM_CONFIG_PATH);
      const dataDir = path.resolve(config.storage.dataDir);
      const live = path.resolve(opts.root) === '/';
      const r = setupService({
        root: opts.root,
        node: process.execPath,
        cli: path.join(packageRoot(), 'build', 'agent', 'cli.js'),
        configFile,
        dataDir,
        user: opts.user,
        watchdogSec: Number(opts.watchdogSec),
        config,
        live,
        system,
      });
      for (const f of r.written) ctx.stdout(`wrote ${f}\n`);
      for (const c of r.changed) ctx.stdout(`${c}\n`);
      for (const w of r.warnings) ctx.stderr(`warning: ${w}\n`);
      if (live) {
        ctx.stdout(`next: sudo systemctl enable --now earshot; operators read \`earshot status\` without sudo once in the ${opts.user} group (sudo usermod -aG ${opts.user} $USER, then log in again)\n`);
      }
    });
  service
    .command('uninstall')
    .description('stop and remove the systemd service (the data dir and the user are kept)')
    .option('--root <dir>', 'remove from under this folder instead of /', '/')
    .action((opts: { root: string }) => {
      const live = path.resolve(opts.root) === '/';
      const sys = (cmd: string[]) => {
        const failed = live ? system.run(cmd) : undefined;
        if (failed) ctx.stderr(`earshot: \`${cmd.join(' ')}\` failed: ${failed}; run it yourself\n`);
      };
      sys(['systemctl', 'disable', '--now', 'earshot']);
      let removed: string[];
      try {
        removed = uninstallService(opts.root);
      } catch (err) {
        const code = errnoCode(err);
        if (code === 'EACCES' || code === 'EPERM') {
          throw new NoPermissionError(`${path.join(opts.root, 'etc/systemd/system')}: permission denied: removing the service needs root (sudo earshot service uninstall)`, { component: 'service', code: 'service.no-permission', cause: err });
        }
        throw err;
      }
      for (const f of removed) ctx.stdout(`removed ${f}\n`);
      if (!removed.length) ctx.stdout('nothing to remove: the service is not installed\n');
      sys(['systemctl', 'daemon-reload']);
    });
}
