import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runEarshot } from '../helpers/cli.js';

let dir: string;
let file: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-cli-'));
  file = path.join(dir, 'config.yaml');
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const init = () => expect(runEarshot(['--config', file, 'config', 'init']).code).toBe(0);

describe('earshot --help / --version', () => {
  it('prints help listing the commands, exit 0', () => {
    const r = runEarshot(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Usage: earshot/);
    expect(r.stdout).toMatch(/config/);
  });
  it('prints the package version', () => {
    const pkg = JSON.parse(fs.readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = runEarshot(['--version']);
    expect(r.code).toBe(0);
    expect(r.stdout.trim()).toBe(pkg.version);
  });
  it('an unknown command or option is a usage error (2)', () => {
    expect(runEarshot(['frobnicate']).code).toBe(2);
    const r = runEarshot(['config', 'show', '--nope']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/unknown option '--nope'/);
  });
});

describe('config init', () => {
  it('writes a commented file, mode 0600, that validates', () => {
    const r = runEarshot(['--config', file, 'config', 'init']);
    expect(r.code).toBe(0);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    const text = fs.readFileSync(file, 'utf8');
    expect(text).toMatch(/^# Earshot configuration/);
    expect(text).toMatch(/# Broker URL\. Env: EARSHOT_MQTT_URL\.\n {2}url: mqtt:\/\/localhost:1883/);
    expect(runEarshot(['config', 'validate', file]).code).toBe(0);
  });
  it('refuses to overwrite without --force and leaves the file as it was', () => {
    fs.writeFileSync(file, 'device:\n  id: keep-me\n');
    const r = runEarshot(['--config', file, 'config', 'init']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}: already exists; add --force to overwrite it`);
    expect(fs.readFileSync(file, 'utf8')).toBe('device:\n  id: keep-me\n');
    expect(runEarshot(['--config', file, 'config', 'init', '--force']).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).not.toContain('keep-me');
  });
  it('honours EARSHOT_CONFIG and creates missing folders', () => {
    const nested = path.join(dir, 'etc', 'earshot', 'config.yaml');
    expect(runEarshot(['config', 'init'], { env: { EARSHOT_CONFIG: nested } }).code).toBe(0);
    expect(fs.existsSync(nested)).toBe(true);
  });
});

describe('config validate', () => {
  it('prints all three mistakes (wrong type, unknown key, out of range) with their paths, exit 78', () => {
    fs.writeFileSync(file, 'audio:\n  sampleRate: fast\n  chanels: 2\nmqtt:\n  keepalive: -5\n');
    const r = runEarshot(['config', 'validate', file]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${file}: 3 problems in the configuration`);
    expect(r.stderr).toContain('audio.sampleRate: expected a number, got "fast"');
    expect(r.stderr).toMatch(/audio\.chanels: unknown key \(did you mean "channels"\?\)/);
    expect(r.stderr).toContain('mqtt.keepalive: expected a number >= 0, got -5');
  });
  it('a missing file exits 66 and says how to create one', () => {
    const r = runEarshot(['config', 'validate', path.join(dir, 'none.yaml')]);
    expect(r.code).toBe(66);
    expect(r.stderr).toMatch(/none\.yaml: configuration file not found \(create one with `earshot config init/);
  });
  it('a YAML syntax error exits 78 with line and column', () => {
    fs.writeFileSync(file, 'mqtt:\n  url: "unterminated\n');
    const r = runEarshot(['config', 'validate', file]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/config\.yaml:\d+:\d+:/);
  });
  it('checks EARSHOT_* variables too', () => {
    init();
    const r = runEarshot(['config', 'validate', file], { env: { EARSHOT_AUDIO_CHANNELS: '12' } });
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('audio.channels: expected a number <= 8, got 12 (from EARSHOT_AUDIO_CHANNELS)');
  });
  it('a valid file exits 0', () => {
    init();
    const r = runEarshot(['config', 'validate', file]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('is valid');
  });
  it('rejects, as run does (78, same message), a file run reads at start that is missing', () => {
    const secret = path.join(dir, 'no-secret');
    fs.writeFileSync(file, `mqtt:\n  requestSecretFile: ${secret}\n`);
    const r = runEarshot(['config', 'validate', file]);
    expect(r.code).toBe(78);
    expect(r.stderr).toBe(`earshot: mqtt.requestSecretFile: ${secret}: cannot read the request secret: not found\n`);
    // With the broker off, run reads none of them.
    fs.writeFileSync(file, `mqtt:\n  enabled: false\n  requestSecretFile: ${secret}\n  tls:\n    ca: ${secret}\n`);
    expect(runEarshot(['config', 'validate', file]).code).toBe(0);
  });
});

describe('config set', () => {
  it('an invalid value exits 78 and leaves the file byte-identical', () => {
    init();
    const before = fs.readFileSync(file);
    const r = runEarshot(['--config', file, 'config', 'set', 'mqtt.keepalive', '-5']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('mqtt.keepalive: expected a number >= 0, got -5');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
  it('changes only that value and keeps mode 0600', () => {
    init();
    fs.chmodSync(file, 0o600);
    const before = fs.readFileSync(file, 'utf8').split('\n');
    const r = runEarshot(['--config', file, 'config', 'set', 'device.id', 'guardian-07']);
    expect(r.code).toBe(0);
    const after = fs.readFileSync(file, 'utf8').split('\n');
    expect(after).toHaveLength(before.length);
    const changed = after.filter((line, i) => line !== before[i]);
    expect(changed).toEqual(['  id: guardian-07']);
    expect(fs.statSync(file).mode & 0o777).toBe(0o600);
    expect(runEarshot(['--config', file, 'config', 'get', 'device.id']).stdout).toBe('guardian-07\n');
  });
  it('an unknown key is a usage error with a suggestion, file untouched', () => {
    init();
    const before = fs.readFileSync(file);
    const r = runEarshot(['--config', file, 'config', 'set', 'mqtt.keepalvie', '30']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('mqtt.keepalvie: no such configuration key (did you mean mqtt.keepalive?)');
    expect(fs.readFileSync(file).equals(before)).toBe(true);
  });
  it('a missing file exits 66 and names it', () => {
    const r = runEarshot(['--config', file, 'config', 'set', 'device.id', 'x']);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(file);
  });
  it('sets structured values and per-label settings', () => {
    init();
    expect(runEarshot(['--config', file, 'config', 'set', 'detection.labels', '{gunshot: {threshold: 0.25}}']).code).toBe(0);
    expect(runEarshot(['--config', file, 'config', 'set', 'device.location', '{lat: 17.25, lon: -88.77}']).code).toBe(0);
    const parsed = YAML.parse(fs.readFileSync(file, 'utf8')) as { detection: { labels: unknown }; device: { location: unknown } };
    expect(parsed.detection.labels).toEqual({ gunshot: { threshold: 0.25 } });
    expect(parsed.device.location).toEqual({ lat: 17.25, lon: -88.77 });
    expect(runEarshot(['config', 'validate', file]).code).toBe(0);
  });
  it('never echoes a secret', () => {
    init();
    const r = runEarshot(['--config', file, 'config', 'set', 'mqtt.password', 's3cret-pw']);
    expect(r.code).toBe(0);
    expect(r.stdout + r.stderr).not.toContain('s3cret-pw');
  });
});

describe('config show / get', () => {
  it('shows the effective configuration with secrets redacted and env overrides applied', () => {
    init();
    const r = runEarshot(['--config', file, 'config', 'show', '--json'], { env: { EARSHOT_MQTT_PASSWORD: 'hunter2', EARSHOT_MQTT_URL: 'mqtts://b.example:8883' } });
    expect(r.code).toBe(0);
    expect(r.stdout).not.toContain('hunter2');
    const shown = JSON.parse(r.stdout) as { mqtt: { password: string; url: string } };
    expect(shown.mqtt.password).toBe('[redacted]');
    expect(shown.mqtt.url).toBe('mqtts://b.example:8883');
  });
  it('YAML output says where values came from', () => {
    init();
    const r = runEarshot(['--config', file, 'config', 'show'], { env: { EARSHOT_MQTT_URL: 'mqtt://x:1' } });
    expect(r.stdout).toContain(`# source: ${file}`);
    expect(r.stdout).toContain('# mqtt.url from EARSHOT_MQTT_URL');
  });
  it('get prints a scalar plainly and a section as YAML; unknown keys exit 2', () => {
    init();
    expect(runEarshot(['--config', file, 'config', 'get', 'audio.sampleRate']).stdout).toBe('32000\n');
    expect(YAML.parse(runEarshot(['--config', file, 'config', 'get', 'mqtt.tls']).stdout)).toEqual({ rejectUnauthorized: true });
    expect(runEarshot(['--config', file, 'config', 'get', 'mqtt.nope']).code).toBe(2);
  });
  it('an invalid file makes show exit 78', () => {
    fs.writeFileSync(file, 'mqtt:\n  keepalive: -1\n');
    expect(runEarshot(['--config', file, 'config', 'show']).code).toBe(78);
  });
});
