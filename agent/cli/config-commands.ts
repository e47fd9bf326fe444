/** `earshot config init|show|get|set|validate`. */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import YAML from 'yaml';
import { setInText, defaultConfigText } from '../../config/document.js';
import { configKeys, findKey, keysUnder, closest, parseValueText } from '../../config/keys.js';
import { configTarget, getPath, loadConfig, locateConfig, parseConfigText, readConfigText, readEnvOverrides, validateConfig } from '../../config/load.js';
import { REDACTED, redactConfig } from '../../config/redact.js';
import { UsageError, ConfigError, errnoCode } from '../errors.js';
import { writeFileAtomic } from '../fs/atomic-write.js';
import { globalOptions, type CliContext, type RegisterCommand } from './context.js';

const COMPONENT = 'cli.config';

function printValue(ctx: CliContext, value: unknown, json: boolean): void {
  if (json) ctx.stdout(`${JSON.stringify(value, null, 2)}\n`);
  else if (value !== null && typeof value === 'object') ctx.stdout(YAML.stringify(value));
  else ctx.stdout(`${value === undefined ? '' : String(value)}\n`);
}

/** A dotted path that is a key or a group of keys; otherwise a usage error with a hint. */
function checkPath(p: string): { isLeaf: boolean } {
  if (findKey(p)) return { isLeaf: true };
  if (keysUnder(p)) return { isLeaf: false };
  // A key inside a free-form mapping (detection.labels.gunshot.threshold) is fine for `get`.
  const parent = configKeys().find((k) => p.startsWith(`${k.path}.`) && k.kind === 'structured');
  if (parent) return { isLeaf: false };
  const hint = closest(p, configKeys().map((k) => k.path));
  throw new UsageError(`${p}: no such configuration key${hint ? ` (did you mean ${hint}?)` : ''}; \`earshot config show\` lists them all`, {
    component: COMPONENT,
    code: 'config.unknown-key',
  });
}

function writeConfigFile(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, text, { mode: 0o600 });
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied (run with sudo, or name another file with --config)' : String((err as Error).message);
    throw new ConfigError(`${file}: cannot write the configuration: ${why}`, { component: COMPONENT, code: 'config.write' , cause: err });
  }
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
      checkPath(key);
      const loaded = loadConfig({ flag: globalOptions(cmd).config, env: ctx.env });
      printValue(ctx, getPath(redactConfig(loaded.config), key.split('.')), Boolean(opts.json));
    });

  config
    .command('set')
    .description('change one value in the configuration file; the whole result is validated before it is written')
    .argument('<key>', 'dotted key, e.g. device.id')
    .argument('<value>', 'new value (YAML/JSON for lists and mappings)')
    .action((keyPath: string, valueText: string, _opts: unknown, cmd: Command) => {
      const { isLeaf } = checkPath(keyPath);
      const key = findKey(keyPath);
      const value = isLeaf && key ? parseValueText(key, valueText) : (YAML.parse(valueText) as unknown);
      const location = locateConfig(globalOptions(cmd).config, ctx.env);
      const file = configTarget(location);
      const before = readConfigText(file);
      const after = setInText(before, keyPath.split('.'), value);
      // Validate the file as it would be (without env overrides: they are not written).
      validateConfig(parseConfigText(after, file), file);
      if (after === before) {
        ctx.stdout(`${keyPath} already ${key?.meta.secret ? REDACTED : valueText} in ${file}\n`);
        return;
      }
      writeConfigFile(file, after);
      ctx.stdout(`set ${keyPath} = ${key?.meta.secret ? REDACTED : JSON.stringify(value)} in ${file}\n`);
      const shadow = readEnvOverrides(ctx.env).overrides.find((o) => o.path === keyPath);
      if (shadow) ctx.stderr(`warning: ${shadow.envName} is set and overrides this value at run time\n`);
    });

  config
    .command('validate')
    .description('check a configuration file (default: the one in use) and the EARSHOT_* variables')
    .argument('[file]', 'file to check')
    .action((file: string | undefined, _opts: unknown, cmd: Command) => {
      const loaded = loadConfig({ flag: file ?? globalOptions(cmd).config, env: ctx.env });
      const name = loaded.location.path ?? 'built-in defaults (no configuration file found)';
      const extra = loaded.overrides.length ? ` with ${loaded.overrides.map((o) => o.envName).join(', ')}` : '';
      ctx.stdout(`ok: ${name}${extra} is valid\n`);
    });
};
