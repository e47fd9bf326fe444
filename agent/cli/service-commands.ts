/** `earshot service install|uninstall`: the systemd unit and the user it runs as (agent/service/systemd.ts). */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { loadConfig, SYSTEM_CONFIG_PATH } from '../../config/load.js';
import { installService, uninstallService } from '../service/systemd.js';
import { packageRoot } from '../version.js';
import { globalOptions, type RegisterCommand } from './context.js';

/** Runs a system tool when installing into the real root; reports what it could not do. */
function sys(ctx: { stderr: (t: string) => void }, root: string, cmd: string[]): void {
  if (root !== '/') return;
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: 'utf8' });
  if (r.status !== 0) ctx.stderr(`earshot: \`${cmd.join(' ')}\` failed: ${r.error?.message ?? r.stderr.trim()}; run it yourself\n`);
}

export const registerServiceCommands: RegisterCommand = (program, ctx) => {
  const service = program.command('service').description('install or remove the systemd service');
  service
    .command('install')
    .description('write /etc/systemd/system/earshot.service (Restart=always, watchdog, dedicated user, hardening) and the sysusers.d entry for the earshot user')
    .option('--root <dir>', 'install under this folder instead of / (image builds, tests)', '/')
    .option('--user <name>', 'user the agent runs as', 'earshot')
    .option('--watchdog-sec <n>', 'systemd WatchdogSec', '60')
    .action((opts: { root: string; user: string; watchdogSec: string }, cmd) => {
      const flag = globalOptions(cmd).config;
      const { config, location } = loadConfig({ flag, env: ctx.env });
      const configFile = path.resolve(location.path ?? SYSTEM_CONFIG_PATH);
      const r = installService({
        root: opts.root,
        node: process.execPath,
        cli: path.join(packageRoot(), 'build', 'agent', 'cli.js'),
        configFile,
        dataDir: path.resolve(config.storage.dataDir),
        user: opts.user,
        watchdogSec: Number(opts.watchdogSec),
      });
      for (const f of r.written) ctx.stdout(`wrote ${f}\n`);
      sys(ctx, opts.root, ['systemd-sysusers']);
      sys(ctx, opts.root, ['systemctl', 'daemon-reload']);
      ctx.stdout(`next: sudo mkdir -p ${config.storage.dataDir} && sudo chown ${opts.user}: ${config.storage.dataDir} && sudo systemctl enable --now earshot\n`);
    });
  service
    .command('uninstall')
    .description('stop and remove the systemd service (the data dir and the user are kept)')
    .option('--root <dir>', 'remove from under this folder instead of /', '/')
    .action((opts: { root: string }) => {
      sys(ctx, opts.root, ['systemctl', 'disable', '--now', 'earshot']);
      const removed = uninstallService(opts.root);
      for (const f of removed) ctx.stdout(`removed ${f}\n`);
      if (!removed.length) ctx.stdout('nothing to remove: the service is not installed\n');
      sys(ctx, opts.root, ['systemctl', 'daemon-reload']);
    });
};
