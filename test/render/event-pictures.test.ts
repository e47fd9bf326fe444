/** analyze --spectrograms naming and windows: unique names across inputs, the clip window clamped to the recording. */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, describe, expect, it } from 'vitest';
import { pictureBaseNames, pictureWindow, writeEventPictures } from '../../agent/render/event-pictures.js';

const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) fs.rmSync(d, { recursive: true, force: true });
});

describe('event pictures', () => {
  it('inputs sharing a base name get -2, -3 in input order', () => {
    const names = pictureBaseNames(['a/shot.wav', 'b/shot.wav', 'c/shot.flac', 'd/other.wav']);
    expect([...names.values()]).toEqual(['shot', 'shot-2', 'shot-3', 'other']);
  });

  it('shows the pre- and post-roll around the event, clamped to the recording, the span relative to the window', () => {
    expect(pictureWindow({ label: 'gunshot', startSec: 5, endSec: 6 }, 20, 2, 3)).toEqual({ fromSec: 3, toSec: 9, span: { startSec: 2, endSec: 3 } });
    expect(pictureWindow({ label: 'gunshot', startSec: 0.5, endSec: 3.5 }, 4, 2, 3)).toEqual({ fromSec: 0, toSec: 4, span: { startSec: 0.5, endSec: 3.5 } });
  });

  it('writes one PNG per event; two events of one label at the same time do not overwrite each other', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-pictures-'));
    dirs.push(dir);
    const rate = 16000;
    const samples = Float32Array.from({ length: rate * 4 }, (_, i) => 0.1 * Math.sin(i / 3));
    const events = [
      { label: 'gunshot', startSec: 1, endSec: 2 },
      { label: 'dog', startSec: 1, endSec: 2 },
      { label: 'gunshot', startSec: 1.01, endSec: 2.5 },
    ];
    const written = writeEventPictures(samples, rate, events, { dir, baseName: 'shot-2', preSec: 2, postSec: 3, cannotWrite: (f, e) => new Error(`${f}: ${String(e)}`) });
    expect(written.map((f) => path.basename(f))).toEqual(['shot-2_gunshot_1.0s.png', 'shot-2_dog_1.0s.png', 'shot-2_gunshot_1.0s-2.png']);
    for (const f of written) expect(PNG.sync.read(fs.readFileSync(f)).width).toBe(800);
    expect(() => writeEventPictures(samples, rate, events, { dir: path.join(dir, 'missing'), baseName: 'x', preSec: 2, postSec: 3, cannotWrite: (f) => new Error(`cannot write ${f}`) })).toThrow(
      `cannot write ${path.join(dir, 'missing', 'x_gunshot_1.0s.png')}`,
    );
  });
});
