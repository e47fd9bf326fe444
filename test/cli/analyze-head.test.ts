/**
 * `earshot analyze --head` and `detection.head`, and the head in `earshot models list`: the
 * compiled CLI, the real model (installed from ../shared/models), real recordings, test heads
 * written by test/helpers/head.ts.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EarshotEvent } from '../../agent/event.js';
import { runEarshot } from '../helpers/cli.js';
import { writeTestHead } from '../helpers/head.js';
import { devCorpusDir, sharedModelsDir } from '../helpers/paths.js';

let dir: string;
let config: string;
let head: string;
let headSha: string;
const env = { EARSHOT_MODEL_MIRROR: sharedModelsDir };
const dev = (p: string) => path.join(devCorpusDir, p);
const SHOTS = [dev('gunshot/belize_gunshot_0.wav'), dev('gunshot/belize_gunshot_552.wav')];

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-analyze-head-'));
  config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, `device:\n  id: test-rig\nstorage:\n  dataDir: ${path.join(dir, 'data')}\n`);
  const r = runEarshot(['-c', config, 'models', 'install'], { env });
  expect(r.code, r.stderr).toBe(0);
  head = writeTestHead(dir, { name: 'rig-head' });
  headSha = crypto.createHash('sha256').update(fs.readFileSync(head)).digest('hex');
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const analyze = (args: string[], cfg = config) => runEarshot(['-c', cfg, 'analyze', ...args], { env });
const jsonEvents = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as EarshotEvent);

describe('earshot analyze --head', () => {
  it('events of the head\'s labels carry the head; their scores are the head\'s, not the class map\'s', () => {
    const withHead = analyze(['--format', 'json', '--head', head, ...SHOTS]);
    expect(withHead.code, withHead.stderr).toBe(0);
    const plain = analyze(['--format', 'json', ...SHOTS]);
    expect(plain.code, plain.stderr).toBe(0);
    const h = jsonEvents(withHead.stdout).filter((e) => e.label === 'gunshot');
    const p = jsonEvents(plain.stdout).filter((e) => e.label === 'gunshot');
    expect(h.length).toBe(2);
    expect(p.length).toBe(2);
    for (const e of h) expect(e.head).toEqual({ name: 'rig-head', sha256: headSha });
    for (const e of p) expect(e.head).toBeUndefined();
    expect(h.map((e) => e.confidence)).not.toEqual(p.map((e) => e.confidence));
    expect(withHead.stderr).toMatch(/events: gunshot 2; head rig-head \(gunshot\)/);
  });

  it('with --min-confidence 0 only the head\'s labels carry it; detection.head in the file does the same, --head none overrides it', () => {
    const r = analyze(['--format', 'json', '--min-confidence', '0', '--head', head, SHOTS[0]!]);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonEvents(r.stdout);
    expect(events.length).toBeGreaterThan(5);
    for (const e of events) expect(e.head === undefined).toBe(e.label !== 'gunshot');

    const cfg = path.join(dir, 'with-head.yaml');
    fs.writeFileSync(cfg, `device:\n  id: test-rig\nstorage:\n  dataDir: ${path.join(dir, 'data')}\ndetection:\n  head: ${head}\n`);
    const fromConfig = analyze(['--format', 'json', '--min-confidence', '0', SHOTS[0]!], cfg);
    expect(fromConfig.code, fromConfig.stderr).toBe(0);
    const strip = (e: EarshotEvent) => [e.label, e.confidence, e.startSec, e.endSec, e.head?.name];
    expect(jsonEvents(fromConfig.stdout).map(strip)).toEqual(events.map(strip));
    const none = analyze(['--format', 'json', '--min-confidence', '0', '--head', 'none', SHOTS[0]!], cfg);
    expect(none.code).toBe(0);
    expect(jsonEvents(none.stdout).every((e) => e.head === undefined)).toBe(true);
  });

  it('--window longer than detection.windowSec works with a head (its onset buffers grow)', () => {
    const r = analyze(['--format', 'json', '--window', '10', '--hop', '5', '--min-confidence', '0', '--labels', 'gunshot', '--head', head, dev('background_birds/ibmmax_birds1.wav')]);
    expect(r.code, r.stderr).toBe(0);
    expect(jsonEvents(r.stdout).map((e) => [e.label, e.head?.name])).toEqual([['gunshot', 'rig-head']]);
  });

  it('a head trained on another model: exit 78 naming the file', () => {
    const foreign = writeTestHead(dir, { file: 'foreign.json', baseModel: { name: 'efficientat-mn04', sha256: 'e'.repeat(64) } });
    const r = analyze(['--head', foreign, SHOTS[0]!]);
    expect(r.code).toBe(78);
    expect(r.stderr).toContain(`${foreign}: this head was trained on model efficientat-mn04 (sha256 eeeeeeeeeeee…)`);
    expect(r.stdout).toBe('');
  });

  it('a head for a label the class map lacks: exit 78 naming the label', () => {
    const odd = writeTestHead(dir, { file: 'odd.json', labels: { gunshot: {}, elephant: { category: 'wildlife' } } });
    const r = analyze(['--head', odd, SHOTS[0]!]);
    expect(r.code).toBe(78);
    expect(r.stderr).toMatch(/odd\.json: the head scores label elephant that the class map does not have/);
  });

  it('a truncated or garbage head file: exit 65; a missing one: exit 66', () => {
    const text = fs.readFileSync(head, 'utf8');
    const truncated = path.join(dir, 'truncated.json');
    fs.writeFileSync(truncated, text.slice(0, Math.floor(text.length / 2)));
    const garbage = path.join(dir, 'garbage.json');
    fs.writeFileSync(garbage, crypto.randomBytes(4096));
    const wrongShape = path.join(dir, 'wrong-shape.json');
    const parsed = JSON.parse(text) as { normalization: { mean: number[] } };
    parsed.normalization.mean.pop();
    fs.writeFileSync(wrongShape, JSON.stringify(parsed));
    for (const f of [truncated, garbage, wrongShape]) {
      const r = analyze(['--head', f, SHOTS[0]!]);
      expect(r.code, r.stderr).toBe(65);
      expect(r.stderr).toContain(`${f}: not a usable Earshot head`);
    }
    expect(analyze(['--head', path.join(dir, 'wrong-shape.json'), SHOTS[0]!]).stderr).toMatch(/normalization\.mean: expected 393 values, got 392/);
    const missing = analyze(['--head', path.join(dir, 'no-such-head.json'), SHOTS[0]!]);
    expect(missing.code).toBe(66);
    expect(missing.stderr).toContain('no-such-head.json: head file not found');
  });
});

describe('earshot models list shows the configured head', () => {
  const withHead = (h: string) => {
    const cfg = path.join(dir, `list-${path.basename(h)}.yaml`);
    fs.writeFileSync(cfg, `storage:\n  dataDir: ${path.join(dir, 'data')}\ndetection:\n  head: ${h}\n  labels:\n    gunshot:\n      threshold: 0.6\n`);
    return cfg;
  };

  it('text: name, file, sha256, base model, labels with thresholds and the training report', () => {
    const r = runEarshot(['-c', withHead(head), 'models', 'list'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`head (detection.head = ${head}):`);
    expect(r.stdout).toMatch(/name\s+rig-head/);
    expect(r.stdout).toContain(`file       ${head}`);
    expect(r.stdout).toContain(`sha256     ${headSha.slice(0, 12)}\n`);
    expect(r.stdout).toMatch(/base model efficientat-mn04 \(sha256 [0-9a-f]{12}\)/);
    expect(r.stdout).toMatch(/LABEL\s+CATEGORY\s+HEAD THRESHOLD\s+ALERT AT\s+CLIPS\s+BACKGROUND H\s+RECALL \(CV\)\s+FALSE ALARMS\/H\s+RECALL AT ≤1 FA\/H/);
    expect(r.stdout).toMatch(/gunshot\s+threat\s+0\.300\s+0\.60\s+42\s+3\.50\s+0\.875\s+0\.57\s+0\.900/);
    expect(r.stdout).toContain('  method: test fixture');

    const plain = runEarshot(['-c', config, 'models', 'list'], { env });
    expect(plain.stdout).toContain('head: none');
  });

  it('a report without per-label rows (or with some keys missing) is shown with dashes', () => {
    const sparse = writeTestHead(dir, { file: 'sparse.json', report: { labels: { gunshot: { clips: 7 } }, folds: 5 } });
    const r = runEarshot(['-c', withHead(sparse), 'models', 'list'], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/gunshot\s+threat\s+0\.300\s+0\.60\s+7\s+-\s+-\s+-\s+-/);
    expect(r.stdout).toContain('  folds: 5');
    const bare = writeTestHead(dir, { file: 'bare.json', report: {} });
    expect(runEarshot(['-c', withHead(bare), 'models', 'list'], { env }).code).toBe(0);
  });

  it('--json: a head object on the detection.model row', () => {
    const r = runEarshot(['-c', withHead(head), 'models', 'list', '--json'], { env });
    expect(r.code, r.stderr).toBe(0);
    const rows = JSON.parse(r.stdout) as { name: string; default: boolean; head?: unknown }[];
    const row = rows.find((x) => x.default)!;
    expect(row.head).toMatchObject({
      setting: head,
      name: 'rig-head',
      file: head,
      sha256: headSha,
      baseModel: { name: 'efficientat-mn04' },
      labels: [{ label: 'gunshot', category: 'threat', headThreshold: 0.3, alertThreshold: 0.6, report: { clips: 42, backgroundHours: 3.5, recall: 0.875, falseAlarmsPerHour: 0.57, recallAt1PerHour: 0.9 } }],
      report: { method: 'test fixture' },
    });
    const none = JSON.parse(runEarshot(['-c', config, 'models', 'list', '--json'], { env }).stdout) as { default: boolean; head?: unknown }[];
    expect(none.find((x) => x.default)!.head).toBeNull();
  });

  it('a head that cannot be used: the error is shown and the exit code follows it (78, 65, 66)', () => {
    const foreign = writeTestHead(dir, { file: 'foreign-list.json', baseModel: { name: 'efficientat-mn04', sha256: 'f'.repeat(64) } });
    const damaged = path.join(dir, 'damaged-list.json');
    fs.writeFileSync(damaged, '{"format": "earshot-head", "version": 1');
    const missing = path.join(dir, 'missing-list.json');
    for (const [file, code, message] of [
      [foreign, 78, 'this head was trained on model'],
      [damaged, 65, 'not a usable Earshot head'],
      [missing, 66, 'head file not found'],
    ] as const) {
      const text = runEarshot(['-c', withHead(file), 'models', 'list'], { env });
      expect(text.code).toBe(code);
      expect(text.stdout).toContain('efficientat-mn04'); // the models are still listed
      expect(text.stderr).toContain(`${file}: ${message}`);
      const json = runEarshot(['-c', withHead(file), 'models', 'list', '--json'], { env });
      expect(json.code).toBe(code);
      const row = (JSON.parse(json.stdout) as { default: boolean; head: { error: string; exitCode: number } }[]).find((x) => x.default)!;
      expect(row.head).toMatchObject({ setting: file, exitCode: code });
      expect(row.head.error).toContain(message);
    }
  });
});
