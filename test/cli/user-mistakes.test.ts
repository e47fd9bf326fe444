/**
 * Issue 13 item 8: a user's mistake is one line naming the path and the fix, with its sysexits
 * code, never a stack trace and exit 1.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { makeFolder } from '../../agent/store/sqlite-open.js';
import { ravenTableNames } from '../../agent/offline/report.js';
import { runEarshot } from '../helpers/cli.js';
import { devCorpusDir, repoRoot, sharedModelsDir } from '../helpers/paths.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-mistakes-'));
const cfg = path.join(dir, 'c.yaml');
const env = { EARSHOT_MODEL_MIRROR: sharedModelsDir };
const shot = path.join(devCorpusDir, 'gunshot', 'belize_gunshot_0.wav');
const shot2 = path.join(devCorpusDir, 'gunshot', 'belize_gunshot_104.wav');

function oneLine(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr).not.toContain('unexpected error');
}

beforeAll(() => {
  fs.writeFileSync(cfg, `storage:\n  dataDir: ${path.join(dir, 'data')}\n`);
  const r = runEarshot(['-c', cfg, 'models', 'install'], { env });
  expect(r.code, r.stderr).toBe(0);
});

describe('outputs that cannot be written: exit 73, one line', () => {
  it('analyze --format raven --out <an existing file>', () => {
    const file = path.join(dir, 'existing');
    fs.writeFileSync(file, 'x');
    const r = runEarshot(['-c', cfg, 'analyze', '--format', 'raven', '--out', file, shot]);
    expect(r.code).toBe(73);
    expect(r.stderr).toContain(`--out ${file}: cannot write: a file of that name exists where a folder is needed`);
    oneLine(r.stderr);
  });
  it('analyze --format raven --out /sys/kernel', () => {
    const r = runEarshot(['-c', cfg, 'analyze', '--format', 'raven', '--out', '/sys/kernel', shot]);
    expect(r.code).toBe(73);
    expect(r.stderr).toMatch(/\/sys\/kernel.*: cannot write: permission denied/);
    oneLine(r.stderr);
  });
  it('features --out /nonexistent/dir/x', () => {
    const r = runEarshot(['features', shot, '--out', '/nonexistent/dir/x']);
    expect(r.code).toBe(73);
    expect(r.stderr.trim()).toBe('earshot: --out /nonexistent/dir/x: cannot write: its folder /nonexistent/dir does not exist (create it, or name another path)');
  });
});

describe('analyze', () => {
  it('Raven tables of two inputs with the same base name are both kept', () => {
    const a = path.join(dir, 'a');
    const b = path.join(dir, 'b');
    const out = path.join(dir, 'raven');
    for (const [d, f] of [[a, shot], [b, shot2]] as const) {
      fs.mkdirSync(d, { recursive: true });
      fs.copyFileSync(f, path.join(d, 'x.wav'));
    }
    const r = runEarshot(['-c', cfg, 'analyze', '--format', 'raven', '--out', out, a, b]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.readdirSync(out).sort()).toEqual(['x-2.earshot.selection.table.txt', 'x.earshot.selection.table.txt']);
    expect(fs.readFileSync(path.join(out, 'x.earshot.selection.table.txt'), 'utf8')).toContain(path.join(a, 'x.wav'));
    expect(fs.readFileSync(path.join(out, 'x-2.earshot.selection.table.txt'), 'utf8')).toMatch(/^Selection\t/);
    expect(r.stderr).toContain(`${path.join(b, 'x.wav')}: Raven table x-2.earshot.selection.table.txt`);
    expect(ravenTableNames(['p/s.wav', 'q/s.flac', 'r/s-2.wav']).get('r/s-2.wav')).toBe('s-2-2.earshot.selection.table.txt');
  });
  it('a truncated WAV is analysed up to where it stops, with a warning', () => {
    const cut = path.join(dir, 'cut.wav');
    fs.writeFileSync(cut, fs.readFileSync(shot).subarray(0, 30_000));
    const r = runEarshot(['-c', cfg, 'analyze', cut]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain(`earshot: ${cut}: warning: data chunk claims 64000 bytes but only 29956 are present`);
  });
});

describe('npm run eval <missing folder>', () => {
  it('is exit 66 naming the folder', () => {
    const r = spawnSync(process.execPath, [path.join(repoRoot, 'build', 'scripts', 'eval.js'), '/nonexistent', '-c', cfg], { encoding: 'utf8', env: { ...process.env, ...env } });
    expect(r.status).toBe(66);
    expect(r.stderr.trim()).toMatch(/^eval: \/nonexistent: no such folder/);
    oneLine(r.stderr);
  });
});

describe('the store folder', () => {
  it('storage.dataDir under /proc is an error naming it, not a hang (a recursive mkdir spins there)', () => {
    expect(() => makeFolder('/proc/nope/deeper')).toThrow(/storage.dataDir \/proc\/nope\/deeper: cannot be created/);
    const made = path.join(dir, 'x', 'y', 'z');
    makeFolder(made);
    expect(fs.statSync(made).isDirectory()).toBe(true);
    fs.writeFileSync(path.join(dir, 'file'), '');
    expect(() => makeFolder(path.join(dir, 'file', 'sub'))).toThrow(/storage.dataDir .*file\/sub: cannot be created \(a parent is missing or not a folder/);
  });
});

describe('config set/unset', () => {
  it('an unknown label in detection.labels is refused with "did you mean", and the file is unchanged', () => {
    const file = path.join(dir, 'labels.yaml');
    fs.writeFileSync(file, 'device:\n  id: x\n');
    const r = runEarshot(['-c', file, 'config', 'set', 'detection.labels', '{gunshott: {threshold: 0.3}}']);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain('detection.labels.gunshott: not an alert label (did you mean "gunshot"?)');
    expect(fs.readFileSync(file, 'utf8')).toBe('device:\n  id: x\n');
    expect(runEarshot(['-c', file, 'config', 'set', 'detection.labels.gunshot', '{threshold: 0.3}']).code).toBe(0);
  });
  it('config unset removes the key and only its lines; a section left empty goes too', () => {
    const file = path.join(dir, 'unset.yaml');
    const text = '# site config\naudio:\n  # the USB mic\n  device: plughw:1,0  # card 1\n  gainDb: 6\nmqtt:\n  url: mqtt://b:1883\n';
    fs.writeFileSync(file, text);
    const r = runEarshot(['-c', file, 'config', 'unset', 'audio.device']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`removed audio.device from ${file}\n`);
    expect(fs.readFileSync(file, 'utf8')).toBe('# site config\naudio:\n  # the USB mic\n  gainDb: 6\nmqtt:\n  url: mqtt://b:1883\n');
    expect(runEarshot(['-c', file, 'config', 'unset', 'mqtt.url']).code).toBe(0);
    expect(fs.readFileSync(file, 'utf8')).toBe('# site config\naudio:\n  # the USB mic\n  gainDb: 6\n');
    const again = runEarshot(['-c', file, 'config', 'unset', 'mqtt.url']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain('mqtt.url is not set in');
    const typo = runEarshot(['-c', file, 'config', 'unset', 'audio.gaindb']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('did you mean audio.gainDb?');
  });
});
