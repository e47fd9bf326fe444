/**
 * Walks the configuration schema: the list of keys with their docs, the schema at a dotted
 * path, and the conversion of a text value (from the environment or `config set`) into the
 * type that key expects. Everything here is derived from `configSchema`, never listed by hand.
 */
import * as z from 'zod';
import YAML from 'yaml';
import { configSchema, type KeyMeta } from './schema.js';

type AnySchema = z.ZodType;

/** What a leaf key holds, as far as parsing text is concerned. */
export type ValueKind = 'string' | 'number' | 'boolean' | 'enum' | 'structured';

export interface KeyInfo {
  /** Dotted path, e.g. `mqtt.tls.ca`. */
  path: string;
  segments: string[];
  kind: ValueKind;
  meta: KeyMeta;
  optional: boolean;
  /** The default value, when the schema has a static one. */
  defaultValue?: unknown;
  /** Enum members or literal values. */
  values?: readonly (string | number)[];
  /** Environment variable that overrides this key. */
  envName: string;
  schema: AnySchema;
}

function def(schema: AnySchema): { type: string; [k: string]: unknown } {
  return (schema as unknown as { _zod: { def: { type: string } } })._zod.def;
}

function metaOf(schema: AnySchema): KeyMeta | undefined {
  return z.globalRegistry.get(schema) as KeyMeta | undefined;
}

interface Unwrapped {
  base: AnySchema;
  meta?: KeyMeta;
  optional: boolean;
  defaultValue?: unknown;
}

/** Strips optional/default/prefault wrappers, collecting the docs and default found on the way. */
export function unwrap(schema: AnySchema): Unwrapped {
  let s = schema;
  let meta = metaOf(s);
  let optional = false;
  let defaultValue: unknown;
  for (;;) {
    const d = def(s);
    if (d.type === 'optional' || d.type === 'nullable') optional = true;
    else if (d.type === 'default' || d.type === 'prefault') {
      const v = d.defaultValue;
      if (defaultValue === undefined && typeof v !== 'function') defaultValue = v;
    } else if (d.type !== 'readonly') break;
    s = d.innerType as AnySchema;
    meta ??= metaOf(s);
  }
  return { base: s, meta, optional, defaultValue };
}

/** The keys of an object schema, or undefined for anything else. */
export function objectShape(schema: AnySchema): Record<string, AnySchema> | undefined {
  const { base } = unwrap(schema);
  const d = def(base);
  return d.type === 'object' ? (d.shape as Record<string, AnySchema>) : undefined;
}

/** The value schema of a record (detection.labels → the per-label settings). */
function recordValue(schema: AnySchema): AnySchema | undefined {
  const d = def(unwrap(schema).base);
  return d.type === 'record' ? (d.valueType as AnySchema) : undefined;
}

function kindOf(base: AnySchema): { kind: ValueKind; values?: readonly (string | number)[] } {
  const d = def(base);
  switch (d.type) {
    case 'string':
      return { kind: 'string' };
    case 'number':
      return { kind: 'number' };
    case 'boolean':
      return { kind: 'boolean' };
    case 'enum':
      return { kind: 'enum', values: Object.values(d.entries as Record<string, string>) };
    case 'union': {
      const options = d.options as AnySchema[];
      const literals = options.flatMap((o) => (def(o).type === 'literal' ? (def(o).values as (string | number)[]) : []));
      if (literals.length === options.length) {
        return { kind: literals.every((v) => typeof v === 'number') ? 'number' : 'enum', values: literals };
      }
      return { kind: 'structured' };
    }
    default:
      return { kind: 'structured' };
  }
}

/** `tls.rejectUnauthorized` → `TLS_REJECT_UNAUTHORIZED`. */
function envSegment(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

export const ENV_PREFIX = 'EARSHOT_';

export function envNameFor(segments: readonly string[]): string {
  return ENV_PREFIX + segments.map(envSegment).join('_');
}

function collect(schema: AnySchema, prefix: string[], out: KeyInfo[]): void {
  const shape = objectShape(schema);
  if (shape === undefined) return;
  for (const [key, child] of Object.entries(shape)) {
    const segments = [...prefix, key];
    if (objectShape(child) !== undefined) {
      collect(child, segments, out);
      continue;
    }
    const u = unwrap(child);
    out.push({
      path: segments.join('.'),
      segments,
      ...kindOf(u.base),
      meta: u.meta ?? { description: '' },
      optional: u.optional,
      defaultValue: u.defaultValue,
      envName: envNameFor(segments),
      schema: child,
    });
  }
}

let cachedKeys: KeyInfo[] | undefined;

/** Every leaf key of the configuration, in schema order. */
export function configKeys(): readonly KeyInfo[] {
  if (cachedKeys === undefined) {
    cachedKeys = [];
    collect(configSchema, [], cachedKeys);
  }
  return cachedKeys;
}

/** The sections and nested objects (`mqtt`, `mqtt.tls`, ...) with their descriptions. */
export function configGroups(): { path: string; description: string }[] {
  const out: { path: string; description: string }[] = [];
  const walk = (schema: AnySchema, prefix: string[]) => {
    const shape = objectShape(schema);
    if (!shape) return;
    for (const [key, child] of Object.entries(shape)) {
      if (objectShape(child) === undefined) continue;
      const segments = [...prefix, key];
      out.push({ path: segments.join('.'), description: unwrap(child).meta?.description ?? '' });
      walk(child, segments);
    }
  };
  walk(configSchema, []);
  return out;
}

export function findKey(path: string): KeyInfo | undefined {
  return configKeys().find((k) => k.path === path);
}

/** Keys accepted directly under an object path ('' for the top level). */
export function keysUnder(path: string): string[] | undefined {
  let schema: AnySchema = configSchema;
  for (const seg of path === '' ? [] : path.split('.')) {
    const child = objectShape(schema)?.[seg] ?? recordValue(schema);
    if (!child) return undefined;
    schema = child;
  }
  const shape = objectShape(schema);
  return shape ? Object.keys(shape) : undefined;
}

export function isSecretPath(path: string): boolean {
  return findKey(path)?.meta.secret === true;
}

/**
 * Text from the environment or the command line → the value the key expects. Values that do
 * not convert are passed through as text so the schema reports them with the key's path.
 */
export function parseValueText(key: KeyInfo, text: string): unknown {
  switch (key.kind) {
    case 'string':
    case 'enum':
      return key.values?.every((v) => typeof v === 'number') ? Number(text) : text;
    case 'number': {
      const trimmed = text.trim();
      const n = Number(trimmed);
      return trimmed !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean': {
      const t = text.trim().toLowerCase();
      if (['true', 'yes', 'on', '1'].includes(t)) return true;
      if (['false', 'no', 'off', '0'].includes(t)) return false;
      return text;
    }
    case 'structured':
      try {
        return YAML.parse(text) as unknown;
      } catch {
        return text;
      }
  }
}

/** Levenshtein distance, for "did you mean" hints on misspelt keys. */
function editDistance(a: string, b: string): number {
  const prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

/** The closest candidate to a misspelt name, if it is close enough to be a plausible typo. */
export function closest(name: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = editDistance(name.toLowerCase(), c.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(name.length / 3)) ? best : undefined;
}
