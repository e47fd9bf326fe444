import fs from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { describe, expect, it } from 'vitest';
import { defaultConfigText, setInText } from '../../config/document.js';
import { parseConfigText, readEnvOverrides, validateConfig } from '../../config/load.js';
import { redactConfig } from '../../config/redact.js';
import { configReferenceMarkdown, documentedEnvName, envExceptions } from '../../config/reference.js';
import { configKeys } from '../../config/keys.js';
import { configSchema } from '../../config/schema.js';
import { repoRoot } from '../helpers/paths.js';

describe('the commented default file', () => {
  it('parses to exactly the built-in defaults', () => {
    const parsed = parseConfigText(defaultConfigText({ concrete: true }), 'default');
    expect(validateConfig(parsed, 'default')).toEqual(configSchema.parse({}));
  });

  it('documents every key with its environment variable', () => {
    const text = defaultConfigText();
    for (const env of ['EARSHOT_DEVICE_ID', 'EARSHOT_MQTT_TLS_CA', 'EARSHOT_SCHEDULE_LOW_BATTERY_PAUSE_CAPTURE_BELOW_PERCENT']) {
      expect(text).toContain(`Env: ${env}.`);
    }
  });

  it('config/default.yaml in the repository is current (npm run docs:config regenerates it)', () => {
    expect(fs.readFileSync(path.join(repoRoot, 'config', 'default.yaml'), 'utf8')).toBe(defaultConfigText());
  });

  it('the README configuration reference is current (npm run docs:config regenerates it)', () => {
    expect(fs.readFileSync(path.join(repoRoot, 'README.md'), 'utf8')).toContain(configReferenceMarkdown());
  });
});

describe('the environment rule the reference states', () => {
  it('derives a variable from a path as the README says', () => {
    expect(documentedEnvName('mqtt.tls.rejectUnauthorized')).toBe('EARSHOT_MQTT_TLS_REJECT_UNAUTHORIZED');
    expect(documentedEnvName('storage.maxDatabaseMB')).toBe('EARSHOT_STORAGE_MAX_DATABASE_MB');
    expect(documentedEnvName('schedule.lowBattery.pauseCaptureBelowPercent')).toBe('EARSHOT_SCHEDULE_LOW_BATTERY_PAUSE_CAPTURE_BELOW_PERCENT');
  });

  it('every key has its own variable, and one that breaks the rule is named in the reference', () => {
    expect(new Set(configKeys().map((k) => k.envName)).size).toBe(configKeys().length);
    const reference = configReferenceMarkdown();
    for (const key of envExceptions()) expect(reference).toContain(`Variable: \`${key.envName}\`.`);
  });

  it('the loader reads every key from the variable the rule gives', () => {
    for (const key of configKeys()) {
      const { overrides } = readEnvOverrides({ [documentedEnvName(key.path)]: 'x' });
      expect(overrides.map((o) => o.path)).toEqual([key.path]);
    }
  });
});

describe('setInText changes only the value', () => {
  const base = defaultConfigText({ concrete: true });

  function changedLines(a: string, b: string): string[] {
    const la = a.split('\n');
    const lb = b.split('\n');
    return lb.filter((line, i) => la[i] !== line);
  }

  it('replaces an existing scalar in place, byte-identical elsewhere', () => {
    const after = setInText(base, ['mqtt', 'keepalive'], 30);
    expect(after.split('\n')).toHaveLength(base.split('\n').length);
    expect(changedLines(base, after)).toEqual(['  keepalive: 30']);
  });

  it('adds a key the file lacks at the end of its section, keeping every existing line', () => {
    const after = setInText(base, ['mqtt', 'username'], 'ranger');
    const parsed = YAML.parse(after) as { mqtt: { username: string } };
    expect(parsed.mqtt.username).toBe('ranger');
    const kept = after.split('\n');
    for (const line of base.split('\n')) expect(kept).toContain(line);
    expect(kept.length).toBe(base.split('\n').length + 1);
  });

  it('creates nested mappings and whole sections', () => {
    const a = setInText(base, ['device', 'location', 'lat'], 5.5);
    expect((YAML.parse(a) as { device: { location: unknown } }).device.location).toEqual({ lat: 5.5 });
    const b = setInText('device:\n  id: x\n', ['mqtt', 'tls', 'ca'], '/etc/ca.pem');
    expect(YAML.parse(b)).toEqual({ device: { id: 'x' }, mqtt: { tls: { ca: '/etc/ca.pem' } } });
    expect(b.startsWith('device:\n  id: x\n')).toBe(true);
  });

  it('works on an empty or comment-only file', () => {
    expect(YAML.parse(setInText('', ['device', 'id'], 'g7'))).toEqual({ device: { id: 'g7' } });
    const c = setInText('# hello\n', ['device', 'id'], 'g7');
    expect(c.startsWith('# hello\n')).toBe(true);
    expect(YAML.parse(c)).toEqual({ device: { id: 'g7' } });
  });

  it('quotes text that YAML would read as another type', () => {
    const after = setInText(base, ['device', 'id'], '007');
    expect((YAML.parse(after) as { device: { id: unknown } }).device.id).toBe('007');
  });

  it('replaces a flow mapping value', () => {
    const after = setInText('detection:\n  labels: {}\n', ['detection', 'labels'], { dog: { enabled: false } });
    expect(YAML.parse(after)).toEqual({ detection: { labels: { dog: { enabled: false } } } });
  });
});

describe('redaction', () => {
  it('replaces secrets that are set and leaves the original untouched', () => {
    const cfg = validateConfig({ mqtt: { password: 'hunter2' } }, 't');
    const red = redactConfig(cfg);
    expect(red.mqtt.password).toBe('[redacted]');
    expect(cfg.mqtt.password).toBe('hunter2');
    expect(JSON.stringify(red)).not.toContain('hunter2');
    expect(redactConfig(validateConfig({}, 't')).mqtt.password).toBeUndefined();
  });
});
