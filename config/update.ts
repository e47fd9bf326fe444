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
import { defaultClassMapPath } from '../models/classmap.js';
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

/**
 * How a rewritten configuration file keeps its access: a new file is 0600 (it may hold a
 * password); an existing one keeps its mode without any bit for others, and, when root rewrites
 * it, its owner and group. So after `service install` made it `root:earshot 0640`, a later
 * `sudo earshot config set` leaves it readable by the service (it used to make it root-only 0600,
 * and the service restart-looped on "permission denied").
 */
export function keptAccess(existing: Pick<fs.Stats, 'mode' | 'uid' | 'gid'> | undefined, asRoot: boolean): { mode: number; owner?: { uid: number; gid: number } } {
  if (!existing) return { mode: 0o600 };
  return { mode: existing.mode & 0o770, ...(asRoot ? { owner: { uid: existing.uid, gid: existing.gid } } : {}) };
}

/** Writes the configuration file atomically (mode and owner: keptAccess). */
export function writeConfigFile(file: string, text: string): void {
  try {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    const existing = fs.statSync(file, { throwIfNoEntry: false });
    writeFileAtomic(file, text, keptAccess(existing, process.getuid?.() === 0));
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
  checkLabelNames(config, opts.file);
  const changed = after !== before;
  if (changed) writeConfigFile(opts.file, after);
  const update: ConfigUpdate = { file: opts.file, keyPath: opts.keyPath, value: opts.value, changed, config, secret: key?.meta.secret === true };
  const shadow = opts.env ? readEnvOverrides(opts.env).overrides.find((o) => o.path === opts.keyPath) : undefined;
  if (shadow) update.shadowedBy = shadow;
  return update;
}

/** The alert labels of the shipped class map (names only: no model needed), or undefined when it cannot be read. */
export function classMapLabels(file = defaultClassMapPath()): string[] | undefined {
  try {
    const labels = (YAML.parse(fs.readFileSync(file, 'utf8')) as { labels?: Record<string, unknown> } | null)?.labels;
    return labels && typeof labels === 'object' ? Object.keys(labels) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * `detection.labels` names alert labels; one the class map does not have (`gunshott`) would make
 * `run` refuse the configuration (78) while `config set` accepted it. Checked at write time, with
 * the closest label as a hint.
 */
export function checkLabelNames(config: Pick<Config, 'detection'>, sourceName: string, known = classMapLabels()): void {
  if (!known) return;
  const issues = Object.keys(config.detection.labels)
    .filter((name) => !known.includes(name))
    .map((name) => {
      const hint = closest(name, known);
      return `detection.labels.${name}: not an alert label${hint ? ` (did you mean "${hint}"?)` : ''}; accepted: ${known.join(', ')}`;
    });
  if (issues.length) {
    throw new ConfigError(`${sourceName}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the configuration\n${issues.map((i) => `  ${i}`).join('\n')}`, {
      component: COMPONENT,
      code: 'config.unknown-label',
      issues,
    });
  }
}

function lineStart(text: string, offset: number): number {
  return text.lastIndexOf('\n', offset - 1) + 1;
}

/** Offset just after the end of the line holding `offset` (its newline included). */
function afterLine(text: string, offset: number): number {
  const eol = text.indexOf('\n', offset);
  return eol < 0 ? text.length : eol + 1;
}

/**
 * Removes one key from YAML text; undefined when the file does not set it. Only the key's own
 * lines go (a block value's lines with it); comments and every other line stay byte-identical.
 * A mapping left empty goes too (`audio:` with nothing under it would be null, not a section).
 * Flow mappings (`audio: {device: x}`) are rewritten by the YAML library instead.
 */
export function unsetInText(text: string, segments: readonly string[]): string | undefined {
  const doc = YAML.parseDocument(text);
  if (!doc.hasIn(segments)) return undefined;
  // The outermost enclosing mapping that would be left empty is what goes.
  let cut = segments.length;
  while (cut > 1) {
    const parent = doc.getIn(segments.slice(0, cut - 1), true);
    if (!YAML.isMap(parent) || parent.items.length !== 1) break;
    cut--;
  }
  const target = segments.slice(0, cut);
  const parent = target.length === 1 ? doc.contents : doc.getIn(target.slice(0, -1), true);
  if (!YAML.isMap(parent) || parent.flow) {
    doc.deleteIn(target);
    return doc.toString();
  }
  const pair = parent.items.find((p) => YAML.isScalar(p.key) && String(p.key.value) === target[target.length - 1]);
  const key = pair?.key as YAML.Node | undefined;
  if (!pair || !key?.range) {
    doc.deleteIn(target);
    return doc.toString();
  }
  const value = pair.value as YAML.Node | null;
  // Where the value's text ends (a block value ends with its last line; trailing blank lines are not its own).
  const end = value?.range ? text.slice(0, value.range[1]).trimEnd().length : key.range[1];
  return text.slice(0, lineStart(text, key.range[0])) + text.slice(afterLine(text, end));
}

export interface ConfigUnset {
  file: string;
  keyPath: string;
  /** False when the file did not set the key (nothing was written). */
  changed: boolean;
  /** The file's configuration after the change, validated. */
  config: Config;
  /** An EARSHOT_* variable that still sets this key at run time, if set. */
  shadowedBy?: EnvOverride;
}

/** Removes `keyPath` from `file` (it takes its default again): validated, then written atomically like updateConfigFile. */
export function unsetConfigKey(opts: { file: string; keyPath: string; env?: NodeJS.ProcessEnv }): ConfigUnset {
  checkConfigPath(opts.keyPath);
  const before = readConfigText(opts.file);
  const after = unsetInText(before, opts.keyPath.split('.'));
  const text = after ?? before;
  const config = validateConfig(parseConfigText(text, opts.file), opts.file);
  if (after !== undefined) writeConfigFile(opts.file, after);
  const result: ConfigUnset = { file: opts.file, keyPath: opts.keyPath, changed: after !== undefined, config };
  const shadow = opts.env ? readEnvOverrides(opts.env).overrides.find((o) => o.path === opts.keyPath) : undefined;
  if (shadow) result.shadowedBy = shadow;
  return result;
}
