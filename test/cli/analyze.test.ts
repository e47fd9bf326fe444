/**
 * `earshot analyze` end to end: the real model (installed from ../shared/models), real
 * recordings from the development corpus, the compiled CLI.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EarshotEvent } from '../../agent/event.js';
import { runEarshot } from '../helpers/cli.js';
import { parseCsv } from '../helpers/parse-csv.js';
import { devCorpusDir, sharedModelsDir } from '../helpers/paths.js';

let dir: string;
let config: string;
const env = { EARSHOT_MODEL_MIRROR: sharedModelsDir };
const dev = (p: string) => path.join(devCorpusDir, p);

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-analyze-'));
  config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, `device:\n  id: test-rig\nstorage:\n  dataDir: ${path.join(dir, 'data')}\n`);
  const r = runEarshot(['-c', config, 'models', 'install'], { env });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const analyze = (args: string[]) => runEarshot(['-c', config, 'analyze', ...args], { env });
const jsonEvents = (stdout: string) => stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as EarshotEvent);

describe('earshot analyze on real recordings', () => {
  it('a distant forest gunshot yields a gunshot event; speech a human_voice event; quiet forest nothing', () => {
    const r = analyze(['--format', 'json', dev('gunshot/belize_gunshot_552.wav'), dev('speech/librispeech_testother_3331-159605-0000.flac'), dev('background_other/belize_no_gunshot_1626.wav')]);
    expect(r.code, r.stderr).toBe(0);
    const events = jsonEvents(r.stdout);
    const byFile = (f: string) => events.filter((e) => e.file?.endsWith(f)).map((e) => e.label);
    expect(byFile('belize_gunshot_552.wav')).toContain('gunshot');
    expect(byFile('librispeech_testother_3331-159605-0000.flac')).toContain('human_voice');
    expect(byFile('belize_no_gunshot_1626.wav')).toEqual([]);
    const gun = events.find((e) => e.label === 'gunshot')!;
    expect(gun).toMatchObject({ device: 'test-rig', category: 'threat', model: { name: 'efficientat-mn04', version: '1' }, clockSynced: false });
    expect(gun.confidence).toBeGreaterThanOrEqual(0.5);
    expect(gun.endSec!).toBeGreaterThan(gun.startSec!);
    expect(new Date(gun.end).getTime() - new Date(gun.start).getTime()).toBeCloseTo((gun.endSec! - gun.startSec!) * 1000, -1);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    expect(r.stderr).toMatch(/analyzed 3 of 3 file\(s\); .* h of audio .*× real time/);
  });

  it('--min-confidence 0 reports every label once per file with its peak', () => {
    const r = analyze(['--format', 'json', '--min-confidence', '0', dev('background_other/belize_no_gunshot_1626.wav')]);
    expect(r.code).toBe(0);
    const labels = jsonEvents(r.stdout).map((e) => e.label).sort();
    expect(labels).toContain('gunshot');
    expect(new Set(labels).size).toBe(labels.length);
    expect(labels.length).toBeGreaterThanOrEqual(10);
  });

  it('walks folders, filters labels, writes the event CSV (a file name with a comma and quotes round-trips)', () => {
    const sub = path.join(dir, 'walk', 'a');
    fs.mkdirSync(sub, { recursive: true });
    const shot = path.join(sub, 'shot, "near".wav');
    fs.copyFileSync(dev('gunshot/belize_gunshot_365.wav'), shot);
    fs.writeFileSync(path.join(sub, 'notes.txt'), 'not audio');
    const r = analyze(['--format', 'csv', '--labels', 'gunshot', path.join(dir, 'walk')]);
    expect(r.code, r.stderr).toBe(0);
    const { header, rows } = parseCsv(r.stdout);
    // The header of `events export --format csv` too.
    expect(header.join(',')).toBe(
      'id,seq,device,label,category,confidence,start,end,clockSynced,lat,lon,modelName,modelVersion,modelSha256,modelLabels,clipPath,clipFormat,clipDurationMs,clipSha256,file,startSec,endSec,topModelLabel,topModelScore,headName,headSha256',
    );
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) {
      expect(row).toMatchObject({ device: 'test-rig', label: 'gunshot', category: 'threat', clockSynced: 'false', modelName: 'efficientat-mn04', file: shot });
      expect(Number(row.endSec)).toBeGreaterThan(Number(row.startSec));
      expect(row.topModelLabel).toBe((JSON.parse(row.modelLabels!) as { label: string }[])[0]!.label);
    }
  });

  it('writes a Raven selection table per input', () => {
    const out = path.join(dir, 'raven');
    const r = analyze(['--format', 'raven', '--out', out, dev('gunshot/belize_gunshot_0.wav')]);
    expect(r.code, r.stderr).toBe(0);
    const table = fs.readFileSync(path.join(out, 'belize_gunshot_0.earshot.selection.table.txt'), 'utf8').trim().split('\n');
    expect(table[0]!.split('\t').slice(0, 5)).toEqual(['Selection', 'View', 'Channel', 'Begin Time (s)', 'End Time (s)']);
    expect(table.length).toBeGreaterThan(1);
  });

  it('a corrupt file is reported and skipped, the others analysed, exit 65', () => {
    const bad = path.join(dir, 'corrupt.wav');
    fs.writeFileSync(bad, Buffer.concat([Buffer.from('RIFF'), Buffer.alloc(8)]));
    const r = analyze(['--format', 'json', bad, dev('gunshot/belize_gunshot_552.wav')]);
    expect(r.code).toBe(65);
    expect(r.stderr).toContain('corrupt.wav');
    expect(r.stderr).toMatch(/skipped/);
    expect(jsonEvents(r.stdout).some((e) => e.label === 'gunshot')).toBe(true);
  });

  it('usage errors: unknown label (2), bad number (2), nothing found (66)', () => {
    const a = analyze(['--labels', 'gunshoot', dev('gunshot/belize_gunshot_0.wav')]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--labels: unknown label gunshoot; accepted: gunshot, chainsaw/);
    expect(analyze(['--min-confidence', '2', dev('gunshot/belize_gunshot_0.wav')]).code).toBe(2);
    const m = analyze([path.join(dir, 'nothing-here')]);
    expect(m.code).toBe(66);
    expect(m.stderr).toContain('nothing-here: no such file or folder');
  });

  it('a model that is not installed: exit 69 naming the command that installs it', () => {
    const other = path.join(dir, 'empty.yaml');
    fs.writeFileSync(other, `storage:\n  dataDir: ${path.join(dir, 'empty-data')}\n`);
    const r = runEarshot(['-c', other, 'analyze', dev('gunshot/belize_gunshot_0.wav')], { env });
    expect(r.code).toBe(69);
    expect(r.stderr).toMatch(/earshot.* models install efficientat-mn04/);
  });
});
