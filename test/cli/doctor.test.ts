/**
 * `earshot doctor` against real Mosquitto brokers (plain, TLS with client certificates, and one
 * with passwords): it checks what `run` needs with a real MQTT CONNECT, creates nothing, never
 * hangs, and its exit code says whether `run` would start. Also `config validate` for the files
 * `run` rejects.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runEarshot, type CliResult } from '../helpers/cli.js';
import { freePort, startMosquitto, type Mosquitto } from '../helpers/mosquitto.js';
import { sharedModelsDir } from '../helpers/paths.js';

interface JsonReport {
  checks: { name: string; ok: boolean; level: string; detail: string; ms: number }[];
  ok: boolean;
  exitCode: number;
}

let root: string;
/** A data folder with the model installed: what a ready device has. */
let dataDir: string;
let tlsBroker: Mosquitto;
let pwBroker: Mosquitto;

beforeAll(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-doctor-'));
  dataDir = path.join(root, 'data');
  fs.mkdirSync(dataDir);
  const cfg = writeConfig('install', { mqtt: { enabled: false } });
  const install = runEarshot(['-c', cfg, 'models', 'install'], { env: { EARSHOT_MODEL_MIRROR: sharedModelsDir } });
  expect(install.code, install.stderr).toBe(0);
  [tlsBroker, pwBroker] = await Promise.all([startMosquitto({ tls: true }), startMosquitto({ users: { ranger: 'right-password' } })]);
}, 60_000);

afterAll(async () => {
  await Promise.all([tlsBroker?.dispose(), pwBroker?.dispose()]);
  fs.rmSync(root, { recursive: true, force: true });
});

/** A configuration file: stdin audio (nothing to plug in), the prepared data folder, and `extra`. */
function writeConfig(name: string, extra: { mqtt?: Record<string, unknown>; storage?: Record<string, unknown> }): string {
  const config = {
    device: { id: 'doc-1' },
    audio: { source: 'stdin' },
    storage: { dataDir, ...extra.storage },
    mqtt: { connectTimeoutSec: 3, ...extra.mqtt },
  };
  const file = path.join(root, `${name}.yaml`);
  fs.writeFileSync(file, JSON.stringify(config));
  return file;
}

function doctor(cfg: string): CliResult & { report: JsonReport } {
  const r = runEarshot(['-c', cfg, 'doctor', '--json']);
  return { ...r, report: JSON.parse(r.stdout) as JsonReport };
}

const check = (report: JsonReport, name: string) => {
  const c = report.checks.find((x) => x.name === name);
  if (!c) throw new Error(`no ${name} check in ${JSON.stringify(report)}`);
  return c;
};

describe('doctor: the broker, with a real MQTT CONNECT', () => {
  it('passes (exit 0) against the right plain, TLS and password configurations', () => {
    const c = tlsBroker.certs!;
    const cases = {
      plain: { url: tlsBroker.url },
      tls: { url: tlsBroker.tlsUrl, tls: { ca: c.ca, cert: c.clientCert, key: c.clientKey } },
      password: { url: pwBroker.url, username: 'ranger', passwordFile: path.join(root, 'pw') },
    };
    fs.writeFileSync(path.join(root, 'pw'), 'right-password\n', { mode: 0o600 });
    for (const [name, mqtt] of Object.entries(cases)) {
      const r = doctor(writeConfig(`ok-${name}`, { mqtt }));
      expect(r.code, `${name}: ${r.stdout}`).toBe(0);
      expect(r.report.ok).toBe(true);
      expect(check(r.report, 'broker')).toMatchObject({ ok: true, level: 'pass' });
      expect(check(r.report, 'broker').detail).toMatch(/accepted CONNECT/);
      // Nothing failed; only the clock may warn on a test machine.
      expect(r.report.checks.filter((x) => x.level !== 'pass').map((x) => x.name)).toEqual(r.report.checks.some((x) => x.name === 'clock' && x.level === 'warn') ? ['clock'] : []);
    }
  });

  it('mqtts:// against the plain listener fails the broker check (exit 69)', () => {
    const plainPort = new URL(tlsBroker.url).port;
    const r = doctor(writeConfig('tls-to-plain', { mqtt: { url: `mqtts://localhost:${plainPort}`, tls: { ca: tlsBroker.certs!.ca } } }));
    expect(r.code).toBe(69);
    expect(r.report).toMatchObject({ ok: false, exitCode: 69 });
    const b = check(r.report, 'broker');
    expect(b).toMatchObject({ ok: false, level: 'fail' });
    expect(b.detail).toContain(`mqtts://localhost:${plainPort}`);
    expect(b.detail).toMatch(/TLS|wrong port or protocol/);
  });

  it('a broker that is not running fails as refused (exit 69)', async () => {
    const port = await freePort();
    const r = doctor(writeConfig('refused', { mqtt: { url: `mqtt://127.0.0.1:${port}` } }));
    expect(r.code).toBe(69);
    expect(check(r.report, 'broker').detail).toMatch(new RegExp(`^mqtt://127\\.0\\.0\\.1:${port}: connection refused`));
  });

  it('a wrong password fails with the broker refusing it (exit 69)', () => {
    const r = doctor(writeConfig('bad-password', { mqtt: { url: pwBroker.url, username: 'ranger', password: 'wrong' } }));
    expect(r.code).toBe(69);
    expect(check(r.report, 'broker').detail).toMatch(/the broker refused the connection: .*not authori[sz]ed.*check mqtt.username and mqtt.password/i);
  });

  it('a missing mqtt.tls.ca fails as run does (78), and config validate rejects it with run\'s message', () => {
    const missing = path.join(root, 'no-such-ca.pem');
    const cfg = writeConfig('missing-ca', { mqtt: { url: tlsBroker.tlsUrl, tls: { ca: missing } } });
    const runMessage = `mqtt.tls.ca: ${missing}: cannot read the CA certificate: not found`;
    const r = doctor(cfg);
    expect(r.code).toBe(78);
    expect(check(r.report, 'broker files')).toMatchObject({ ok: false, detail: runMessage });
    expect(check(r.report, 'broker')).toMatchObject({ ok: false, detail: `not tried: ${runMessage}` });
    const v = runEarshot(['config', 'validate', cfg]);
    expect(v.code).toBe(78);
    expect(v.stderr).toBe(`earshot: ${runMessage}\n`);
  });

  it('a missing mqtt.passwordFile: doctor and config validate exit 78 naming the key', () => {
    const cfg = writeConfig('missing-pw', { mqtt: { url: pwBroker.url, username: 'ranger', passwordFile: path.join(root, 'nope') } });
    expect(doctor(cfg).code).toBe(78);
    const v = runEarshot(['config', 'validate', cfg]);
    expect(v.code).toBe(78);
    expect(v.stderr).toMatch(/mqtt\.passwordFile: .*nope: cannot read the broker password: not found/);
  });

  it('mqtt.enabled false: says so and skips (a warning, exit 0)', () => {
    const r = doctor(writeConfig('disabled', { mqtt: { enabled: false, tls: { ca: path.join(root, 'unused.pem') } } }));
    expect(r.code).toBe(0);
    expect(check(r.report, 'broker')).toMatchObject({ ok: true, level: 'warn' });
    expect(check(r.report, 'broker').detail).toMatch(/mqtt\.enabled is false/);
  });
});

describe('doctor: the data folder', () => {
  it('a missing storage.dataDir is reported, not created (exit 69)', () => {
    const missing = path.join(root, 'unmounted', 'earshot');
    const r = doctor(writeConfig('missing-data', { mqtt: { enabled: false }, storage: { dataDir: missing } }));
    expect(r.code).toBe(69);
    const d = check(r.report, 'data folder');
    expect(d).toMatchObject({ ok: false, level: 'fail' });
    expect(d.detail).toContain(`${missing} does not exist`);
    expect(d.detail).toMatch(/is its disk mounted/);
    expect(fs.existsSync(path.join(root, 'unmounted'))).toBe(false);
  });

  it('storage.dataDir under /proc returns (it used to spin in a recursive mkdir) and fails the check', () => {
    // runEarshot kills the process after its own timeout; a hang fails this test.
    const r = doctor(writeConfig('proc', { mqtt: { enabled: false }, storage: { dataDir: '/proc/nope' } }));
    expect(r.code).toBe(69);
    expect(check(r.report, 'data folder').detail).toContain('/proc/nope does not exist');
  });

  it('writes nothing into an existing data folder', () => {
    const before = fs.readdirSync(dataDir).sort();
    expect(doctor(writeConfig('untouched', { mqtt: { enabled: false } })).code).toBe(0);
    expect(fs.readdirSync(dataDir).sort()).toEqual(before);
  });
});

describe('doctor: output and exit codes', () => {
  it('--json prints one object: checks [{name, ok, level, detail, ms}], ok, exitCode', () => {
    const r = runEarshot(['-c', writeConfig('json', { mqtt: { enabled: false } }), 'doctor', '--json']);
    expect(r.stdout.trim().split('\n')).toHaveLength(1);
    const report = JSON.parse(r.stdout) as JsonReport;
    expect(Object.keys(report).sort()).toEqual(['checks', 'exitCode', 'ok']);
    expect(report.checks.map((c) => c.name)).toEqual(['config', 'broker files', 'audio', 'data folder', 'model', 'clock', 'broker']);
    for (const c of report.checks) {
      expect(Object.keys(c).sort()).toEqual(['detail', 'level', 'ms', 'name', 'ok']);
      expect(['pass', 'warn', 'fail']).toContain(c.level);
      expect(c.ok).toBe(c.level !== 'fail');
      expect(Number.isInteger(c.ms) && c.ms >= 0).toBe(true);
    }
    expect(report).toMatchObject({ ok: true, exitCode: 0 });
  });

  it('text: one PASS/WARN/FAIL line per check; an invalid configuration is one FAIL line, exit 78', () => {
    const good = runEarshot(['-c', writeConfig('text', { mqtt: { enabled: false } }), 'doctor']);
    expect(good.code).toBe(0);
    expect(good.stdout).toMatch(/^PASS config: .*text\.yaml is valid$/m);
    expect(good.stdout).toMatch(/^PASS model: efficientat-mn04 .* verified/m);
    expect(good.stdout.trim().split('\n').every((l) => /^(PASS|WARN|FAIL) [a-z ]+: /.test(l))).toBe(true);

    const bad = path.join(root, 'bad.yaml');
    fs.writeFileSync(bad, 'audio:\n  sampleRate: 5\n');
    const r = runEarshot(['-c', bad, 'doctor']);
    expect(r.code).toBe(78);
    expect(r.stdout).toMatch(/^FAIL config: .*1 problem/m);
    // Nothing else can be checked without a configuration.
    expect(r.stdout.match(/^(PASS|WARN|FAIL) /gm)).toHaveLength(1);
  });

  it('a missing recorder and model fail with 69; a missing configuration file with 66', () => {
    const empty = path.join(root, 'empty-data');
    fs.mkdirSync(empty, { recursive: true });
    const cfg = path.join(root, 'recorder.yaml');
    fs.writeFileSync(cfg, JSON.stringify({ storage: { dataDir: empty }, audio: { recorderCommand: '/no/such/recorder' }, mqtt: { enabled: false } }));
    const r = runEarshot(['-c', cfg, 'doctor']);
    expect(r.code).toBe(69);
    expect(r.stdout).toMatch(/^FAIL audio: \/no\/such\/recorder not found/m);
    expect(r.stdout).toMatch(/^FAIL model: model efficientat-mn04: not installed/m);
    expect(runEarshot(['-c', path.join(root, 'none.yaml'), 'doctor']).code).toBe(66);
  });
});
