import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configIssuesOf } from '../helpers/errors.js';
import { type ConfigError, ExitCode, InputMissingError } from '../../agent/errors.js';
import { configKeys, envNameFor } from '../../config/keys.js';
import { loadConfig, locateConfig, parseConfigText, readEnvOverrides, validateConfig } from '../../config/load.js';
import { configSchema, defaultDeviceId } from '../../config/schema.js';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-cfg-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const write = (name: string, text: string) => {
  const file = path.join(dir, name);
  fs.writeFileSync(file, text);
  return file;
};
const noSystem = () => path.join(dir, 'no-such-system.yaml');


describe('defaults', () => {
  it('an empty configuration validates and fills every section', () => {
    const cfg = validateConfig({}, 'test');
    expect(cfg.device.id).toBe(defaultDeviceId());
    expect(cfg.audio).toMatchObject({ source: 'alsa', sampleRate: 32000, channels: 1 });
    expect(cfg.mqtt).toMatchObject({ url: 'mqtt://localhost:1883', topicPrefix: 'earshot', keepalive: 60, protocolVersion: 5 });
    expect(cfg.mqtt.tls.rejectUnauthorized).toBe(true);
    expect(cfg.storage.dataDir).toBe('/var/lib/earshot');
    expect(cfg.schedule.lowBattery.pauseInferenceBelowPercent).toBe(20);
    expect(cfg.detection.labels).toEqual({});
  });

  it('a partial section keeps the defaults of the keys it leaves out', () => {
    const cfg = validateConfig({ mqtt: { url: 'mqtts://broker.example:8883' } }, 'test');
    expect(cfg.mqtt.url).toBe('mqtts://broker.example:8883');
    expect(cfg.mqtt.keepalive).toBe(60);
  });

  it('the hostname-derived device id is a valid topic level', () => {
    expect(defaultDeviceId()).toMatch(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/);
  });

  it('every key has a description and an environment name', () => {
    for (const key of configKeys()) {
      expect(key.meta.description, key.path).not.toBe('');
      expect(key.envName).toBe(envNameFor(key.segments));
    }
    expect(configKeys().map((k) => k.envName)).toContain('EARSHOT_AUDIO_SAMPLE_RATE');
    expect(configKeys().map((k) => k.envName)).toContain('EARSHOT_MQTT_TLS_REJECT_UNAUTHORIZED');
  });
});

describe('validation messages', () => {
  it('reports every mistake at once, each with its dotted path, what was found and what is accepted', () => {
    const issues = configIssuesOf(() =>
      validateConfig({ audio: { sampleRate: 'fast', chanels: 2 }, mqtt: { keepalive: -5, url: 'htp://x' } }, 'f.yaml'),
    );
    expect(issues).toHaveLength(4);
    expect(issues).toContain('audio.sampleRate: expected a number, got "fast"');
    expect(issues.find((i) => i.startsWith('audio.chanels:'))).toMatch(/unknown key \(did you mean "channels"\?\); accepted here: .*channels/);
    expect(issues).toContain('mqtt.keepalive: expected a number >= 0, got -5');
    expect(issues).toContain('mqtt.url: expected an mqtt://, mqtts://, ws:// or wss:// URL, got "htp://x"');
  });

  it.each([
    [{ detection: { threads: 2.5 } }, 'detection.threads: expected a whole number, got 2.5'],
    [{ detection: { threads: 99 } }, 'detection.threads: expected a number <= 8, got 99'],
    [{ audio: { source: 'mic' } }, 'audio.source: expected one of "alsa", "file", "stdin", got "mic"'],
    [{ mqtt: { protocolVersion: 3 } }, 'mqtt.protocolVersion: expected 5 or 4, got 3'],
    [{ mqtt: { tls: { rejectUnauthorized: 'no' } } }, 'mqtt.tls.rejectUnauthorized: expected true or false, got "no"'],
    [{ device: { location: { lat: 95, lon: 0 } } }, 'device.location.lat: expected a number <= 90, got 95'],
    [{ device: { location: { lat: 5 } } }, 'device.location.lon: expected a number, but it is missing'],
    [{ device: { timezone: 'Mars/Olympus' } }, 'device.timezone: expected an IANA time zone such as "UTC" or "America/Belize", got "Mars/Olympus"'],
    [{ detection: { labels: { gunshot: { threshold: 1.5 } } } }, 'detection.labels.gunshot.threshold: expected a number <= 1, got 1.5'],
    [{ storage: 'big' }, 'storage: expected a mapping of keys, got "big"'],
  ])('%j → %s', (raw, message) => {
    expect(configIssuesOf(() => validateConfig(raw, 't'))).toContain(message);
  });

  it('rejects a device id that would break MQTT topics', () => {
    const [issue] = configIssuesOf(() => validateConfig({ device: { id: 'a/b' } }, 't'));
    expect(issue).toMatch(/^device\.id: expected 1–64 letters.*got "a\/b"$/);
  });

  it('unknown keys in a per-label mapping list the accepted keys', () => {
    const [issue] = configIssuesOf(() => validateConfig({ detection: { labels: { dog: { enabeld: false } } } }, 't'));
    expect(issue).toBe('detection.labels.dog.enabeld: unknown key (did you mean "enabled"?); accepted here: enabled, threshold, keepClips');
  });

  it('unknown top-level sections are errors', () => {
    const [issue] = configIssuesOf(() => validateConfig({ mqqt: {} }, 't'));
    expect(issue).toMatch(/^mqqt: unknown key \(did you mean "mqtt"\?\)/);
  });

  it('cross-field rules: hop longer than window, file source without a file', () => {
    const issues = configIssuesOf(() => validateConfig({ detection: { windowSec: 1, hopSec: 2 }, audio: { source: 'file' } }, 't'));
    expect(issues).toContain('detection.hopSec: expected at most detection.windowSec (1), got 2');
    expect(issues).toContain('audio.file: expected a file path when audio.source is "file", got nothing');
  });

  it('never shows a secret value in a message', () => {
    const issues = configIssuesOf(() => validateConfig({ mqtt: { password: 12345 } }, 't'));
    expect(issues.join('\n')).not.toContain('12345');
    expect(issues[0]).toBe('mqtt.password: expected text, got [redacted]');
  });

  it('the error message starts with the source and counts the problems', () => {
    try {
      validateConfig({ mqtt: { keepalive: -1 }, audio: { channels: 0 } }, '/etc/earshot/config.yaml');
      expect.unreachable();
    } catch (err) {
      expect((err as ConfigError).message.split('\n')[0]).toBe('/etc/earshot/config.yaml: 2 problems in the configuration');
      expect((err as ConfigError).exitCode).toBe(ExitCode.config);
    }
  });
});

describe('YAML parsing', () => {
  it('a syntax error names the file, line and column', () => {
    const issues = configIssuesOf(() => parseConfigText('mqtt:\n  url: [unclosed\n', 'c.yaml'));
    expect(issues[0]).toMatch(/^c\.yaml:\d+:\d+: /);
  });
  it('duplicate keys are errors (the second would silently win)', () => {
    expect(configIssuesOf(() => parseConfigText('mqtt:\n  url: mqtt://a\n  url: mqtt://b\n', 'c.yaml'))[0]).toMatch(/^c\.yaml:3:\d+: .*[Uu]nique|c\.yaml:3/);
  });
  it('a top level that is not a mapping is refused', () => {
    expect(configIssuesOf(() => parseConfigText('- a\n- b\n', 'c.yaml'))[0]).toMatch(/expected a mapping of sections/);
  });
  it('an empty file is the defaults', () => {
    expect(parseConfigText('# only comments\n', 'c.yaml')).toEqual({});
  });
});

describe('where the file comes from', () => {
  it('--config beats EARSHOT_CONFIG beats the system file', () => {
    const sys = write('system.yaml', '');
    expect(locateConfig('a.yaml', { EARSHOT_CONFIG: 'b.yaml' }, sys)).toEqual({ path: 'a.yaml', origin: 'flag' });
    expect(locateConfig(undefined, { EARSHOT_CONFIG: 'b.yaml' }, sys)).toEqual({ path: 'b.yaml', origin: 'env' });
    expect(locateConfig(undefined, {}, sys)).toEqual({ path: sys, origin: 'system' });
    expect(locateConfig(undefined, {}, noSystem())).toEqual({ origin: 'none' });
  });

  it('no file anywhere: built-in defaults', () => {
    const loaded = loadConfig({ env: {}, systemPath: noSystem() });
    expect(loaded.location.origin).toBe('none');
    expect(loaded.config).toEqual(configSchema.parse({}));
  });

  it('a named file that is missing is an input-missing error (66), not silent defaults', () => {
    const missing = path.join(dir, 'nope.yaml');
    expect(() => loadConfig({ flag: missing, env: {} })).toThrow(InputMissingError);
    expect(() => loadConfig({ env: { EARSHOT_CONFIG: missing } })).toThrow(/nope\.yaml: configuration file not found/);
  });
});

describe('environment overrides', () => {
  it('override the file, which overrides the defaults', () => {
    const file = write('c.yaml', 'mqtt:\n  url: mqtt://file:1883\n  keepalive: 30\naudio:\n  channels: 2\n');
    const { config, overrides } = loadConfig({ flag: file, env: { EARSHOT_MQTT_URL: 'mqtt://env:1883', EARSHOT_AUDIO_SAMPLE_RATE: '48000' } });
    expect(config.mqtt.url).toBe('mqtt://env:1883');
    expect(config.mqtt.keepalive).toBe(30);
    expect(config.audio.channels).toBe(2);
    expect(config.audio.sampleRate).toBe(48000);
    expect(overrides.map((o) => o.envName).sort()).toEqual(['EARSHOT_AUDIO_SAMPLE_RATE', 'EARSHOT_MQTT_URL']);
  });

  it('convert text to the key type: booleans, numbers, nested keys, mappings', () => {
    const { config } = loadConfig({
      env: {
        EARSHOT_MQTT_TLS_REJECT_UNAUTHORIZED: 'false',
        EARSHOT_AUDIO_LOOP: 'yes',
        EARSHOT_STORAGE_MAX_DATABASE_MB: '64',
        EARSHOT_DETECTION_LABELS: '{gunshot: {threshold: 0.3}}',
        EARSHOT_DEVICE_ID: '007',
      },
      systemPath: noSystem(),
    });
    expect(config.mqtt.tls.rejectUnauthorized).toBe(false);
    expect(config.audio.loop).toBe(true);
    expect(config.storage.maxDatabaseMB).toBe(64);
    expect(config.detection.labels.gunshot?.threshold).toBe(0.3);
    expect(config.device.id).toBe('007');
  });

  it('a bad value says which variable it came from', () => {
    const issues = configIssuesOf(() => loadConfig({ env: { EARSHOT_MQTT_KEEPALIVE: 'soon' }, systemPath: noSystem() }));
    expect(issues).toEqual(['mqtt.keepalive: expected a number, got "soon" (from EARSHOT_MQTT_KEEPALIVE)']);
  });

  it('a misspelt variable in a known section is an error with a hint; other EARSHOT_ variables are ignored', () => {
    const { issues } = readEnvOverrides({ EARSHOT_MQTT_URLL: 'x', EARSHOT_MODEL_MIRROR: '/m', EARSHOT_CONFIG: '/c' });
    expect(issues).toEqual(['EARSHOT_MQTT_URLL: unknown configuration variable (did you mean EARSHOT_MQTT_URL?)']);
  });

  it('empty variables count as unset', () => {
    expect(readEnvOverrides({ EARSHOT_MQTT_URL: '' }).overrides).toEqual([]);
  });
});
