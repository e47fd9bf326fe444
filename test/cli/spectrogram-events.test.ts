/**
 * `earshot events spectrogram <id> --out FILE`, run as a user would (build first), on a data folder
 * made by the real parts: a dev gunshot recording at the model rate written as a FLAC clip by the
 * agent's ClipWriter, attached to an event in the real SQLite store.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PNG } from 'pngjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeAudioFile } from '../../agent/audio/decode-file.js';
import { renderSpectrogramImage } from '../../agent/render/spectrogram-png.js';
import { ClipWriter } from '../../agent/store/clip-writer.js';
import { SqliteStore } from '../../agent/store/sqlite-store.js';
import { DETECTION_RESAMPLING, resample } from '../../dsp/resample.js';
import { runEarshotAsync } from '../helpers/cli.js';
import { cliPath, devCorpusDir } from '../helpers/paths.js';
import { T0, makeEvent } from '../store/helpers.js';

const RATE = 32000;

describe('earshot events spectrogram', () => {
  let dir: string;
  let config: string;
  let out: string;
  let withClip: { id: string; seq: number };
  let withoutClip: string;
  /** The clip's samples as the CLI will decode them (16-bit PCM in a FLAC, lossless). */
  let clipSamples: Float32Array;

  beforeAll(async () => {
    expect(fs.existsSync(cliPath), `${cliPath} missing: run \`npm run build\` first`).toBe(true);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-spectrogram-'));
    const dataDir = path.join(dir, 'data');
    config = path.join(dir, 'config.yaml');
    fs.writeFileSync(config, `device:\n  id: guardian-07\nstorage:\n  dataDir: ${JSON.stringify(dataDir)}\n  clipPreSec: 2\n`);
    out = path.join(dir, 'out');
    fs.mkdirSync(out);

    // A 4 s gunshot recording (8 kHz), at the model rate as the device keeps clips.
    const shot = await decodeAudioFile(path.join(devCorpusDir, 'gunshot', 'belize_gunshot_0.wav'));
    const atModelRate = resample(shot.mono, shot.sampleRate, RATE, DETECTION_RESAMPLING);
    const pcm = Int16Array.from(atModelRate, (v) => Math.max(-32768, Math.min(32767, Math.round(v * 32767))));
    clipSamples = Float32Array.from(pcm, (v) => v / 32768);

    const store = new SqliteStore({ file: path.join(dataDir, 'events.db'), reserveBytes: 0 });
    store.open();
    try {
      // The event: 1.5 s from T0; its clip has 2 s of pre-roll.
      const e = store.putEvent(makeEvent({ startMs: T0, label: 'gunshot' }));
      const writer = new ClipWriter({ dir: path.join(dataDir, 'clips'), format: 'flac', keepClip: () => true, clock: () => T0 });
      const clip = await writer.write({ eventId: e.id, label: 'gunshot', samples: pcm, sampleRateHz: RATE });
      expect(clip?.format).toBe('flac');
      store.attachClip(e.id, clip!);
      withClip = { id: e.id, seq: e.seq };
      withoutClip = store.putEvent(makeEvent({ startMs: T0 + 60_000, label: 'dog' })).id;
    } finally {
      store.close();
    }
  });

  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it('writes the PNG of a stored FLAC clip: the requested size, the very pixels of the renderer with the event marked at its pre-roll', async () => {
    const file = path.join(out, 'shot.png');
    const r = await runEarshotAsync(['-c', config, 'events', 'spectrogram', String(withClip.seq), '--out', file, '--width', '640', '--height', '240']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`wrote ${file} (640×240 PNG of 4.0 s, gunshot from 2.0 to 3.5 s)\n`);
    const png = PNG.sync.read(fs.readFileSync(file));
    expect([png.width, png.height]).toEqual([640, 240]);
    const expected = renderSpectrogramImage(clipSamples, RATE, { width: 640, height: 240, span: { startSec: 2, endSec: 3.5 } });
    expect(Buffer.compare(png.data, Buffer.from(expected.image.data))).toBe(0);
  });

  it('replaces an existing --out atomically (no temp file left); the default size is 800 × 300', async () => {
    const file = path.join(out, 'again.png');
    fs.writeFileSync(file, 'an older file');
    const r = await runEarshotAsync(['-c', config, 'events', 'spectrogram', withClip.id, '--out', file]);
    expect(r.code, r.stderr).toBe(0);
    const png = PNG.sync.read(fs.readFileSync(file));
    expect([png.width, png.height]).toEqual([800, 300]);
    expect(fs.readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('an unknown event is 66, an event without a clip 66 saying so, a bad size 2, a missing folder 2; nothing is written', async () => {
    const [unknown, noClip, badSize, noFolder] = await Promise.all([
      runEarshotAsync(['-c', config, 'events', 'spectrogram', '0190aaaa-0000-7000-8000-000000000000', '--out', path.join(out, 'u.png')]),
      runEarshotAsync(['-c', config, 'events', 'spectrogram', withoutClip, '--out', path.join(out, 'n.png')]),
      runEarshotAsync(['-c', config, 'events', 'spectrogram', withClip.id, '--out', path.join(out, 'b.png'), '--width', '12']),
      runEarshotAsync(['-c', config, 'events', 'spectrogram', withClip.id, '--out', path.join(dir, 'nowhere', 'x.png')]),
    ]);
    expect(unknown.code, unknown.stderr).toBe(66);
    expect(unknown.stderr).toContain('0190aaaa-0000-7000-8000-000000000000: no such event');
    expect(noClip.code, noClip.stderr).toBe(66);
    expect(noClip.stderr).toContain(`event ${withoutClip} has no clip kept`);
    expect(badSize.code, badSize.stderr).toBe(2);
    expect(badSize.stderr).toContain('--width: expected a whole number from 160 to 4096, got "12"');
    expect(noFolder.code, noFolder.stderr).toBe(2);
    expect(noFolder.stderr).toContain(`folder ${path.join(dir, 'nowhere')} does not exist`);
    for (const f of ['u.png', 'n.png', 'b.png']) expect(fs.existsSync(path.join(out, f))).toBe(false);
  });
});
