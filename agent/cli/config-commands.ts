/** `earshot config init|show|get|set|unset|validate`. */
import fs from 'node:fs';
import type { Command } from 'commander';
import YAML from 'yaml';
import { defaultConfigText } from '../../config/document.js';
import { configTarget, getPath, loadConfig, locateConfig } from '../../config/load.js';
import { REDACTED, redactConfig } from '../../config/redact.js';
import { checkConfigPath, checkLabelNames, unsetConfigKey, updateConfigFile, valueFromText, writeConfigFile } from '../../config/update.js';
import { checkRunFiles } from '../doctor/run-files.js';
import { UsageError } from '../errors.js';
import { globalOptions, type CliContext, type RegisterCommand } from './context.js';

const COMPONENT = 'cli.config';

function printValue(ctx: CliContext, value: unknown, json: boolean): void {
  if (json) ctx.stdout(`${JSON.stringify(value, null, 2)}\n`);
  else if (value !== null && typeof value === 'object') ctx.stdout(YAML.stringify(value));
  else ctx.stdout(`${value === undefined ? '' : String(value)}\n`);
}

export const registerConfigCommands: RegisterCommand = (program, ctx) => {
  const config = program.command('config').description('create, inspect, change and check the configuration file');

  config
    .command('init')
    .description('write a commented configuration file with every default')
    .option('--force', 'overwrite an existing file')
    .action((opts: { force?: boolean }, cmd: Command) => {
      const file = configTarget(locateConfig(globalOptions(cmd).config, ctx.env));
      if (fs.existsSync(file) && !opts.force) {
        throw new UsageError(`${file}: already exists; add --force to overwrite it`, { component: COMPONENT, code: 'config.exists' });
      }
      writeConfigFile(file, defaultConfigText({ concrete: true }));
      ctx.stdout(`wrote ${file}\n`);
    });

  config
    .command('show')
    .description('print the effective configuration (file + environment + defaults), secrets redacted')
    .option('--json', 'print JSON instead of YAML')
    .action((opts: { json?: boolean }, cmd: Command) => {
      const loaded = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
      const source = loaded.location.path ?? 'built-in defaults (no configuration file)';
      if (!opts.json) {
        ctx.stdout(`# source: ${source}\n`);
        for (const o of loaded.overrides) ctx.stdout(`# ${o.path} from ${o.envName}\n`);
      }
      printValue(ctx, redactConfig(loaded.config), Boolean(opts.json));
    });

  config
    .command('get')
    .description('print one value (or a section) of the effective configuration')
    .argument('<key>', 'dotted key, e.g. mqtt.url')
    .option('--json', 'print JSON')
    .action((key: string, opts: { json?: boolean }, cmd: Command) => {
      checkConfigPath(key);
      const loaded = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
      printValue(ctx, getPath(redactConfig(loaded.config), key.split('.')), Boolean(opts.json));
    });

  config
    .command('set')
    .description('change one value in the configuration file; the whole result is validated before it is written')
    .argument('<key>', 'dotted key, e.g. device.id')
    .argument('<value>', 'new value (YAML/JSON for lists and mappings)')
    .action((keyPath: string, valueText: string, _opts: unknown, cmd: Command) => {
      const value = valueFromText(keyPath, valueText);
      const file = configTarget(locateConfig(globalOptions(cmd).config, ctx.env));
      const update = updateConfigFile({ file, keyPath, value, env: ctx.env });
      if (!update.changed) {
        ctx.stdout(`${keyPath} already ${update.secret ? REDACTED : valueText} in ${file}\n`);
        return;
      }
      ctx.stdout(`set ${keyPath} = ${update.secret ? REDACTED : JSON.stringify(value)} in ${file}\n`);
      if (update.shadowedBy) ctx.stderr(`warning: ${update.shadowedBy.envName} is set and overrides this value at run time\n`);
    });

  config
    .command('unset')
    .description('remove one key from the configuration file (it takes its default again); the result is validated before it is written; comments and order are kept')
    .argument('<key>', 'dotted key, e.g. audio.device, or detection.labels.dog')
    .action((keyPath: string, _opts: unknown, cmd: Command) => {
      const file = configTarget(locateConfig(globalOptions(cmd).config, ctx.env));
      const r = unsetConfigKey({ file, keyPath, env: ctx.env });
      ctx.stdout(r.changed ? `removed ${keyPath} from ${file}\n` : `${keyPath} is not set in ${file}\n`);
      if (r.shadowedBy) ctx.stderr(`warning: ${r.shadowedBy.envName} is set and still sets this key at run time\n`);
    });

  config
    .command('validate')
    .description('check a configuration file (default: the one in use), the EARSHOT_* variables and the files run reads (TLS, password, request secret)')
    .argument('[file]', 'file to check')
    .action((file: string | undefined, _opts: unknown, cmd: Command) => {
      const loaded = loadConfig({ flag: file ?? globalOptions(cmd).config, env: ctx.env });
      // What run would refuse at start (exit 78, same message), without starting anything.
      checkRunFiles(loaded.config);
      checkLabelNames(loaded.config, loaded.location.path ?? 'the configuration');
      const name = loaded.location.path ?? 'built-in defaults (no configuration file found)';
      const extra = loaded.overrides.length ? ` with ${loaded.overrides.map((o) => o.envName).join(', ')}` : '';
      ctx.stdout(`ok: ${name}${extra} is valid\n`);
    });
};
