/**
 * `earshot analyze --spectrograms <dir>`: the real model (installed from ../shared/models), a dev
 * gunshot recording given twice under the same base name from two folders, the compiled CLI.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EarshotEvent } from '../../agent/event.js';
import { runEarshot } from '../helpers/cli.js';
import { devCorpusDir, sharedModelsDir } from '../helpers/paths.js';

let dir: string;
let config: string;
const env = { EARSHOT_MODEL_MIRROR: sharedModelsDir };

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-analyze-pictures-'));
  config = path.join(dir, 'config.yaml');
  fs.writeFileSync(config, `device:\n  id: test-rig\nstorage:\n  dataDir: ${path.join(dir, 'data')}\n`);
  const r = runEarshot(['-c', config, 'models', 'install'], { env });
  expect(r.code, r.stderr).toBe(0);
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describe('earshot analyze --spectrograms', () => {
  it('writes one PNG per event, named so that two inputs with the same base name do not collide', () => {
    for (const sub of ['a', 'b']) {
      fs.mkdirSync(path.join(dir, sub));
      fs.copyFileSync(path.join(devCorpusDir, 'gunshot', 'belize_gunshot_552.wav'), path.join(dir, sub, 'shot.wav'));
    }
    const out = path.join(dir, 'pictures', 'new'); // created, levels and all
    const r = runEarshot(['-c', config, 'analyze', '--format', 'json', '--spectrograms', out, path.join(dir, 'a', 'shot.wav'), path.join(dir, 'b', 'shot.wav')], { env });
    expect(r.code, r.stderr).toBe(0);
    const events = r.stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l) as EarshotEvent);
    expect(events.some((e) => e.label === 'gunshot')).toBe(true);
    const prefix = (e: EarshotEvent) => (e.file === path.join(dir, 'a', 'shot.wav') ? 'shot' : 'shot-2');
    const expected = events.map((e) => `${prefix(e)}_${e.label}_${e.startSec!.toFixed(1)}s.png`);
    expect(new Set(expected).size).toBe(events.length);
    expect(fs.readdirSync(out).sort()).toEqual([...expected].sort());
    for (const f of expected) {
      const png = PNG.sync.read(fs.readFileSync(path.join(out, f)));
      expect([png.width, png.height]).toEqual([800, 300]);
    }
  });

  it('a --spectrograms path that is a file is refused before any work (exit 73)', () => {
    const file = path.join(dir, 'a-file');
    fs.writeFileSync(file, 'x');
    const r = runEarshot(['-c', config, 'analyze', '--spectrograms', file, path.join(devCorpusDir, 'gunshot', 'belize_gunshot_552.wav')], { env });
    expect(r.code, r.stderr).toBe(73);
    expect(r.stderr).toContain(`--spectrograms ${file}: cannot write`);
    expect(r.stdout).toBe('');
  });
});
