/**
 * A site head scores the same whether a recording is analysed (`earshot analyze --head`, the
 * Analyzer) or heard (`earshot run`, the LivePipeline): with a content-driven fake tagger the
 * events are identical; with the real model, on real recordings, they match too.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Analyzer } from '../../agent/offline/analyzer.js';
import { HeadScorer } from '../../agent/detect/head-scorer.js';
import { applyHead, openDetection, windowFramesFor, type DetectionStack } from '../../agent/detect/open-detection.js';
import type { TrackedEvent } from '../../agent/detect/tracker.js';
import type { MelBatch, TaggerWindowScores } from '../../agent/detect/types.js';
import { loadModelRateAudio } from '../../agent/audio/load-model-rate.js';
import { silentLogger } from '../../agent/log.js';
import { LivePipeline, type LiveChange } from '../../agent/pipeline/live-pipeline.js';
import { validateConfig } from '../../config/load.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { float32ToInt16 } from '../../dsp/pcm.js';
import { compileClassMap, defaultClassMapPath, readClassMap } from '../../models/classmap.js';
import { headJson, parseHead } from '../../models/head.js';
import { ModelInstaller, parseMirrorList } from '../../models/installer.js';
import { getManifest } from '../../models/registry.js';
import { testHead, writeTestHead } from '../helpers/head.js';
import { audiosetLabels } from '../helpers/model-labels.js';
import { devCorpusDir, sharedModelsDir } from '../helpers/paths.js';
import { burstRecording } from '../helpers/bursts.js';

const labels = audiosetLabels();
const GUN = labels.indexOf('Gunshot, gunfire');
const RATE = MN04_FRONTEND.sampleRate;
const NOW = 1_700_000_000_000;

type Strip = Pick<TrackedEvent, 'label' | 'startSample' | 'endSample' | 'confidence'>;
const strip = (e: TrackedEvent): Strip => ({ label: e.label, startSample: e.startSample, endSample: e.endSample, confidence: e.confidence });

/** Feeds int16 PCM to a LivePipeline in odd-sized chunks; the closed events. */
async function live(pcm: Int16Array, opts: Omit<ConstructorParameters<typeof LivePipeline>[0], 'inputRate' | 'onChange' | 'logger' | 'clock'>): Promise<TrackedEvent[]> {
  const changes: LiveChange[] = [];
  const p = new LivePipeline({ inputRate: RATE, onChange: (c) => changes.push(c), clock: () => NOW, logger: silentLogger(), queueMax: 256, ...opts });
  for (let i = 0; i < pcm.length; i += 3331) p.push(pcm.slice(i, i + 3331));
  p.endSegment();
  await p.drain();
  expect(p.stats.windowsDropped).toBe(0);
  return changes.filter((c) => c.kind === 'closed').map((c) => c.event);
}

describe('site head: offline and live agree (content-driven fake tagger)', () => {
  const classMap = compileClassMap(readClassMap(defaultClassMapPath(), labels), labels);
  const frontend = createMelFrontend(MN04_FRONTEND);

  /** Logits and embedding from the window's content, so both paths must see the same windows. */
  class ContentTagger {
    async score(b: MelBatch): Promise<TaggerWindowScores[]> {
      const per = b.data.length / b.batch;
      const nMels = per / b.frames;
      return Array.from({ length: b.batch }, (_, i) => {
        const w = b.data.subarray(i * per, (i + 1) * per);
        let max = -Infinity;
        for (let f = 0; f < b.frames; f++) {
          let s = 0;
          for (let m = 0; m < nMels; m++) s += w[m * b.frames + f]!;
          max = Math.max(max, s / nMels);
        }
        const logits = new Float32Array(labels.length).fill(-8);
        logits[GUN] = 10 * max - 2;
        const embedding = new Float32Array(384);
        for (let k = 0; k < 384; k++) {
          const m = k % nMels;
          let s = 0;
          for (let f = 0; f < b.frames; f++) s += w[m * b.frames + f]!;
          embedding[k] = s / b.frames + k / 384;
        }
        return { logits, probabilities: logits.map((z) => 1 / (1 + Math.exp(-z))), embedding };
      });
    }
  }

  const recording = (seconds = 30) => burstRecording(RATE, seconds);

  it('the same events, with the head\'s scores (not the class map\'s), from the Analyzer and the LivePipeline', async () => {
    const head = parseHead(headJson(testHead({ labels: { gunshot: { logitWeights: { 'Gunshot, gunfire': 0.8 }, embeddingScale: 0.05, onsetWeight: 0.05, bias: -0.5, threshold: 0.4 } } })), 'head.json');
    const scorer = new HeadScorer(head, { name: head.name, sha256: 'cd'.repeat(32) }, labels, frontend.nMels, windowFramesFor(frontend.params, 2));
    const map = applyHead(classMap, scorer, 'head.json', { labels: {} });
    const pcm = recording();
    const float = Float32Array.from(pcm, (x) => x / 32768);

    const plain = await new Analyzer({ frontend, tagger: new ContentTagger(), classMap, windowSec: 2, hopSec: 1, batchSize: 3 }).analyze(float);
    const offline = await new Analyzer({ frontend, tagger: new ContentTagger(), classMap: map, head: scorer, windowSec: 2, hopSec: 1, batchSize: 3 }).analyze(float);
    expect(offline.events.map((e) => e.label)).toEqual(['gunshot', 'gunshot']);
    expect(plain.events.map((e) => e.label)).toEqual(['gunshot', 'gunshot']);
    // The head's scores differ from the class map's.
    expect(offline.events.map((e) => e.confidence)).not.toEqual(plain.events.map((e) => e.confidence));

    const heard = await live(pcm, { frontend, tagger: new ContentTagger(), classMap: map, head: scorer, windowSec: 2, hopSec: 1 });
    expect(heard.map(strip)).toEqual(offline.events.map(strip));
    const heardPlain = await live(pcm, { frontend, tagger: new ContentTagger(), classMap, windowSec: 2, hopSec: 1 });
    expect(heardPlain.map(strip)).toEqual(plain.events.map(strip));
  });
});

describe('site head: offline and live agree (the real model, real recordings)', () => {
  let dir: string;
  let stack: DetectionStack;
  let pcm: Int16Array;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-head-live-'));
    await new ModelInstaller().install(getManifest('efficientat-mn04').manifest, { dataDir: dir, mirrors: parseMirrorList(sharedModelsDir, dir) });
    const head = writeTestHead(dir);
    const config = validateConfig({ storage: { dataDir: dir }, detection: { head } }, 'test');
    stack = await openDetection(config);
    // Forest background (4 s clips), a shot at 8 s, background, another shot at 28 s, background: 40 s.
    const bg = (n: number) => `background_other/belize_no_gunshot_${n}.wav`;
    const parts = [bg(0), bg(2), 'gunshot/belize_gunshot_0.wav', bg(5), bg(8), bg(11), bg(13), 'gunshot/belize_gunshot_552.wav', bg(16), bg(19)];
    const audio = await Promise.all(parts.map((p) => loadModelRateAudio(path.join(devCorpusDir, p), RATE)));
    const joined = new Float32Array(audio.reduce((n, a) => n + a.length, 0));
    let at = 0;
    for (const a of audio) {
      joined.set(a, at);
      at += a.length;
    }
    pcm = float32ToInt16(joined);
  }, 60_000);

  afterAll(async () => {
    await stack?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('analyze with the head and the live pipeline with the head find the same events', async () => {
    expect(stack.head?.ref.name).toBe('test-head');
    const offline = await stack.analyzer({ batchSize: 4 }).analyze(Float32Array.from(pcm, (x) => x / 32768), RATE);
    // The first shot (8–12 s) is in a gunshot event; the head scored it.
    const shots = offline.events.filter((e) => e.label === 'gunshot');
    expect(shots.some((e) => e.startSample <= 8 * RATE && e.endSample >= 12 * RATE)).toBe(true);
    const heard = await live(pcm, { frontend: stack.frontend, tagger: stack.tagger, classMap: stack.classMap, head: stack.head!, windowSec: 5, hopSec: 2.5, batchSize: 4 });
    expect(heard.map((e) => [e.label, e.startSample, e.endSample])).toEqual(offline.events.map((e) => [e.label, e.startSample, e.endSample]));
    heard.forEach((e, i) => expect(e.confidence).toBeCloseTo(offline.events[i]!.confidence, 4));
  }, 60_000);
});
