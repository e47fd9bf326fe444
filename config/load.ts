/**
 * Finds, reads, overrides and validates the configuration.
 * Precedence (later wins): built-in defaults < YAML file < EARSHOT_<SECTION>_<KEY> variables.
 * File: `--config PATH`, else `EARSHOT_CONFIG`, else /etc/earshot/config.yaml if it exists,
 * else built-in defaults only.
 */
import fs from 'node:fs';
import YAML from 'yaml';
import { ConfigError, InputMissingError, errnoCode } from '../agent/errors.js';
import { ENV_PREFIX, configKeys, closest, parseValueText } from './keys.js';
import { formatIssues } from './messages.js';
import { configSchema, type Config } from './schema.js';

export const SYSTEM_CONFIG_PATH = '/etc/earshot/config.yaml';
const COMPONENT = 'config';

export type ConfigOrigin = 'flag' | 'env' | 'system' | 'none';

export interface ConfigLocation {
  /** The file to read, if any. */
  path?: string;
  origin: ConfigOrigin;
}

export interface EnvOverride {
  path: string;
  envName: string;
  value: unknown;
}

export interface LoadedConfig {
  config: Config;
  location: ConfigLocation;
  overrides: EnvOverride[];
}

/** Where the configuration file is, by precedence. A named file that is missing is an error later. */
export function locateConfig(flag: string | undefined, env: NodeJS.ProcessEnv, systemPath = SYSTEM_CONFIG_PATH): ConfigLocation {
  if (flag) return { path: flag, origin: 'flag' };
  if (env.EARSHOT_CONFIG) return { path: env.EARSHOT_CONFIG, origin: 'env' };
  if (fs.existsSync(systemPath)) return { path: systemPath, origin: 'system' };
  return { origin: 'none' };
}

/** The file a command that writes the configuration should write (the system path when none is named). */
export function configTarget(location: ConfigLocation, systemPath = SYSTEM_CONFIG_PATH): string {
  return location.path ?? systemPath;
}

export function readConfigText(file: string): string {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    const code = errnoCode(err);
    if (code === 'ENOENT') {
      throw new InputMissingError(`${file}: configuration file not found (create one with \`earshot config init --config ${file}\`)`, { component: COMPONENT, code: 'config.missing', cause: err });
    }
    if (code === 'EISDIR') throw new ConfigError(`${file}: is a folder, expected a YAML file`, { component: COMPONENT, code: 'config.unreadable', cause: err });
    if (code === 'EACCES') throw new ConfigError(`${file}: permission denied (run as the earshot user or root)`, { component: COMPONENT, code: 'config.unreadable', cause: err });
    throw err;
  }
}

/** YAML text → a plain object; syntax errors name the file, line and column. */
export function parseConfigText(text: string, file: string): Record<string, unknown> {
  const doc = YAML.parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const issues = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      return `${file}${pos ? `:${pos.line}:${pos.col}` : ''}: ${e.message.split('\n')[0]}`;
    });
    throw new ConfigError(`${file}: not valid YAML\n${issues.join('\n')}`, { component: COMPONENT, code: 'config.syntax', issues });
  }
  const value: unknown = doc.toJS();
  if (value === null || value === undefined) return {};
  if (typeof value !== 'object' || Array.isArray(value)) {
    const issue = `${file}: expected a mapping of sections (device:, audio:, ...) at the top level, got ${Array.isArray(value) ? 'a list' : JSON.stringify(value)}`;
    throw new ConfigError(issue, { component: COMPONENT, code: 'config.shape' });
  }
  return value as Record<string, unknown>;
}

/**
 * The EARSHOT_<SECTION>_<KEY> variables that are set. A variable that names a section but no
 * key of it is reported, since it is almost certainly a typo. Empty values count as unset.
 */
export function readEnvOverrides(env: NodeJS.ProcessEnv): { overrides: EnvOverride[]; issues: string[] } {
  const keys = configKeys();
  const byEnv = new Map(keys.map((k) => [k.envName, k]));
  const sectionPrefixes = [...new Set(keys.map((k) => `${ENV_PREFIX}${k.segments[0]!.toUpperCase()}_`))];
  const overrides: EnvOverride[] = [];
  const issues: string[] = [];
  for (const [name, text] of Object.entries(env)) {
    if (!name.startsWith(ENV_PREFIX) || text === undefined || text === '') continue;
    const key = byEnv.get(name);
    if (key) {
      overrides.push({ path: key.path, envName: name, value: parseValueText(key, text) });
    } else if (sectionPrefixes.some((p) => name.startsWith(p))) {
      const hint = closest(name, [...byEnv.keys()]);
      issues.push(`${name}: unknown configuration variable${hint ? ` (did you mean ${hint}?)` : ''}`);
    }
  }
  return { overrides, issues };
}

export function setPath(target: Record<string, unknown>, segments: readonly string[], value: unknown): void {
  let node = target;
  for (const seg of segments.slice(0, -1)) {
    const next = node[seg];
    if (typeof next !== 'object' || next === null || Array.isArray(next)) node[seg] = {};
    node = node[seg] as Record<string, unknown>;
  }
  node[segments[segments.length - 1]!] = value;
}

export function getPath(source: unknown, segments: readonly string[]): unknown {
  let node = source;
  for (const seg of segments) {
    if (typeof node !== 'object' || node === null) return undefined;
    node = (node as Record<string, unknown>)[seg];
  }
  return node;
}

/**
 * Validates a raw configuration object and returns the typed, defaulted configuration.
 * Throws one ConfigError listing every problem (`issues`), each naming its dotted path.
 */
export function validateConfig(raw: unknown, sourceName: string, extraIssues: readonly string[] = [], overrides: readonly EnvOverride[] = []): Config {
  const result = configSchema.safeParse(raw, { reportInput: true });
  // Say so when the bad value came from the environment, not the file.
  const origin = (line: string) => {
    const o = overrides.find((x) => line.startsWith(`${x.path}:`));
    return o ? `${line} (from ${o.envName})` : line;
  };
  const issues = [...extraIssues, ...(result.success ? [] : formatIssues(result.error.issues).map(origin))];
  if (issues.length > 0 || !result.success) {
    const head = `${sourceName}: ${issues.length} problem${issues.length === 1 ? '' : 's'} in the configuration`;
    throw new ConfigError(`${head}\n${issues.map((i) => `  ${i}`).join('\n')}`, { component: COMPONENT, code: 'config.invalid', issues });
  }
  return result.data;
}

/** The effective configuration: file (if any) + environment overrides, validated. */
export function loadConfig(opts: { flag?: string; env: NodeJS.ProcessEnv; systemPath?: string }): LoadedConfig {
  const location = locateConfig(opts.flag, opts.env, opts.systemPath);
  const raw = location.path ? parseConfigText(readConfigText(location.path), location.path) : {};
  const { overrides, issues } = readEnvOverrides(opts.env);
  for (const o of overrides) setPath(raw, o.path.split('.'), o.value);
  const sourceName = location.path ?? 'built-in defaults';
  const config = validateConfig(raw, overrides.length > 0 ? `${sourceName} (with EARSHOT_* overrides)` : sourceName, issues, overrides);
  return { config, location, overrides };
}
