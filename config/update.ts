/**
 * Changing one configuration value in the file: the shared path of `earshot config set` and the
 * MQTT `config/set` request. The whole file as it would be is validated before anything is
 * written, and it is written atomically (temp file, fsync, rename), so a bad value or a power cut
 * never leaves a broken configuration behind.
 */
import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ConfigError, UsageError, errnoCode } from '../agent/errors.js';
import { writeFileAtomic } from '../agent/fs/atomic-write.js';
import { setInText } from './document.js';
import { closest, configKeys, findKey, keysUnder, parseValueText, type KeyInfo } from './keys.js';
import { parseConfigText, readConfigText, readEnvOverrides, validateConfig, type EnvOverride } from './load.js';
import type { Config } from './schema.js';

const COMPONENT = 'config';

/** A dotted path that is a key or a group of keys; otherwise a usage error (`config.unknown-key`) with a hint. */
export function checkConfigPath(p: string): { isLeaf: boolean; key?: KeyInfo } {
  const key = findKey(p);
  if (key) return { isLeaf: true, key };
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

/** Command-line text → the value a key (or group, as YAML/JSON) expects. */
export function valueFromText(keyPath: string, text: string): unknown {
  const { isLeaf, key } = checkConfigPath(keyPath);
  return isLeaf && key ? parseValueText(key, text) : (YAML.parse(text) as unknown);
}

/** Writes the configuration file atomically, mode 0600 (it may hold a password). */
export function writeConfigFile(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    writeFileAtomic(file, text, { mode: 0o600 });
  } catch (err) {
    const code = errnoCode(err);
    const why = code === 'EACCES' || code === 'EPERM' ? 'permission denied (run with sudo, or name another file with --config)' : String((err as Error).message);
    throw new ConfigError(`${file}: cannot write the configuration: ${why}`, { component: COMPONENT, code: 'config.write', cause: err });
  }
}

export interface ConfigUpdate {
  file: string;
  keyPath: string;
  value: unknown;
  /** False when the file already held this value (nothing was written). */
  changed: boolean;
  /** The file's configuration after the change, validated (without environment overrides). */
  config: Config;
  /** The key is a secret: never echo its value. */
  secret: boolean;
  /** An EARSHOT_* variable that overrides this key at run time, if set. */
  shadowedBy?: EnvOverride;
}

/**
 * Sets `keyPath` to `value` in `file`: validates the result, then writes it atomically. Throws
 * UsageError `config.unknown-key`, ConfigError `config.invalid` (with `issues`), or the read and
 * write errors of the file.
 */
export function updateConfigFile(opts: { file: string; keyPath: string; value: unknown; env?: NodeJS.ProcessEnv }): ConfigUpdate {
  const { key } = checkConfigPath(opts.keyPath);
  const before = readConfigText(opts.file);
  const after = setInText(before, opts.keyPath.split('.'), opts.value);
  // Validate the file as it would be (without env overrides: they are not written).
  const config = validateConfig(parseConfigText(after, opts.file), opts.file);
  const changed = after !== before;
  if (changed) writeConfigFile(opts.file, after);
  const update: ConfigUpdate = { file: opts.file, keyPath: opts.keyPath, value: opts.value, changed, config, secret: key?.meta.secret === true };
  const shadow = opts.env ? readEnvOverrides(opts.env).overrides.find((o) => o.path === opts.keyPath) : undefined;
  if (shadow) update.shadowedBy = shadow;
  return update;
}
