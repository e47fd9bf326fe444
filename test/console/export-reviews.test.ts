/**
 * `earshot console export-reviews <folder>` (run as a user would) over a real console store:
 * confirmed clips land in `<label>/<device>/`, false alarms in `background/<device>/`, clips not
 * fetched yet are named as skipped; the corpus reader of `earshot train` reads the result with the
 * device as each file's site; exporting again after a verdict changed moves the clip.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { ClipCache } from '../../agent/console/clip-cache.js';
import { ConsoleStore } from '../../agent/console/console-store.js';
import type { Alert } from '../../agent/console/types.js';
import { scanCorpus } from '../../agent/train/corpus.js';
import { encodeWavInt16Mono } from '../../dsp/wav-encode.js';
import { runEarshot } from '../helpers/cli.js';
import { cliPath } from '../helpers/paths.js';
import { tempDir } from '../sync/helpers.js';

const LABELS = new Set(['gunshot', 'chainsaw', 'dog', 'vehicle', 'human_voice']);

function alert(id: string, label: string, device: string, sha256?: string): Alert {
  return {
    id,
    device,
    label,
    category: label === 'dog' ? 'wildlife' : 'threat',
    confidence: 0.9,
    start: '2026-03-01T12:00:00.000Z',
    end: '2026-03-01T12:00:01.000Z',
    rev: 2,
    state: 'closed',
    modelLabels: [],
    receivedAt: '2026-03-01T12:00:02.000Z',
    ...(sha256 ? { clip: { format: 'wav', durationMs: 1000, sha256 } } : {}),
  };
}

describe('console export-reviews', () => {
  let dir: string;
  let configFile: string;
  let consoleDir: string;
  let out: string;
  const wavs: Buffer[] = [];

  const withStore = <T>(fn: (s: ConsoleStore) => T): T => {
    const s = new ConsoleStore({ file: path.join(consoleDir, 'console.db') });
    s.open();
    try {
      return fn(s);
    } finally {
      s.close();
    }
  };

  beforeAll(() => {
    expect(fs.existsSync(cliPath), `${cliPath} missing: run \`npm run build\` first`).toBe(true);
    dir = tempDir('earshot-console-export-');
    consoleDir = path.join(dir, 'console');
    out = path.join(dir, 'corpus');
    configFile = path.join(dir, 'config.yaml');
    fs.writeFileSync(configFile, `device:\n  id: hq\nstorage:\n  dataDir: ${JSON.stringify(dir)}\n`);
    for (let i = 0; i < 3; i++) wavs.push(Buffer.from(encodeWavInt16Mono(Int16Array.from({ length: 16000 }, (_, k) => ((k * (i + 3)) % 200) - 100), 16000)));
    const sha = (b: Buffer) => crypto.createHash('sha256').update(b).digest('hex');
    withStore((s) => {
      const cache = new ClipCache(path.join(consoleDir, 'clips'), s);
      const a = [alert('e-gun', 'gunshot', 'rio:07', sha(wavs[0]!)), alert('e-dog', 'dog', 'rio:07', sha(wavs[1]!)), alert('e-saw', 'chainsaw', 'delta', sha(wavs[2]!)), alert('e-none', 'gunshot', 'delta'), alert('e-unreviewed', 'vehicle', 'delta', sha(wavs[0]!))];
      for (const x of a) s.putAlert(x);
      cache.put(a[0]!.clip!, wavs[0]!);
      cache.put(a[1]!.clip!, wavs[1]!);
      // e-saw's clip was never fetched.
      s.setReview('e-gun', { verdict: 'confirmed', note: 'two shots' }, Date.parse('2026-03-02T00:00:00Z'));
      s.setReview('e-dog', { verdict: 'false_alarm', note: '' }, Date.parse('2026-03-02T00:01:00Z'));
      s.setReview('e-saw', { verdict: 'confirmed', note: '' }, Date.parse('2026-03-02T00:02:00Z'));
      s.setReview('e-none', { verdict: 'confirmed', note: '' }, Date.parse('2026-03-02T00:03:00Z'));
    });
  });

  it('writes confirmed clips under their label, false alarms under background, the device as the site folder', () => {
    const r = runEarshot(['-c', configFile, 'console', 'export-reviews', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`wrote 2 reviewed clips to ${out} (gunshot 1, background 1); train a site head with \`earshot train ${out} --out head.json\`\n`);
    expect(r.stderr).toContain('skipped e-saw: clip not fetched yet');
    expect(r.stderr).toContain('skipped e-none: no clip was kept for this event');
    expect(fs.readFileSync(path.join(out, 'gunshot', 'rio_07', 'e-gun.wav')).equals(wavs[0]!)).toBe(true);
    expect(fs.readFileSync(path.join(out, 'background', 'rio_07', 'e-dog.wav')).equals(wavs[1]!)).toBe(true);
    const manifest = fs.readFileSync(path.join(out, 'reviews.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(manifest).toEqual([
      { id: 'e-gun', device: 'rio:07', label: 'gunshot', verdict: 'confirmed', note: 'two shots', file: path.join('gunshot', 'rio_07', 'e-gun.wav') },
      { id: 'e-dog', device: 'rio:07', label: 'dog', verdict: 'false_alarm', note: '', file: path.join('background', 'rio_07', 'e-dog.wav') },
    ]);

    const corpus = scanCorpus(out, LABELS);
    expect(corpus.ignored).toEqual([]);
    expect(corpus.files.map((f) => [f.cls, f.site, f.rel])).toEqual([
      ['background', 'rio_07', path.join('background', 'rio_07', 'e-dog.wav')],
      ['gunshot', 'rio_07', path.join('gunshot', 'rio_07', 'e-gun.wav')],
    ]);
  });

  it('exporting again after a verdict changed moves the clip', () => {
    withStore((s) => s.setReview('e-gun', { verdict: 'false_alarm', note: 'a door' }, Date.parse('2026-03-03T00:00:00Z')));
    const r = runEarshot(['-c', configFile, 'console', 'export-reviews', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(path.join(out, 'gunshot', 'rio_07', 'e-gun.wav'))).toBe(false);
    expect(scanCorpus(out, LABELS).files.map((f) => f.rel).sort()).toEqual([path.join('background', 'rio_07', 'e-dog.wav'), path.join('background', 'rio_07', 'e-gun.wav')]);
  });

  it('without console data: exit 66 naming the folder', () => {
    const r = runEarshot(['-c', configFile, 'console', 'export-reviews', out, '--data', path.join(dir, 'nothing')]);
    expect(r.code).toBe(66);
    expect(r.stderr).toContain(`no console data at ${path.join(dir, 'nothing')}`);
  });
});
