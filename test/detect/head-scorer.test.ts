/**
 * The site head on one window: the feature layout (embedding, then the logits it names in its
 * order, then the onset features it names), the calibration (raw probability at the head's
 * threshold → 0.5), how its labels take over the class map's, and the Analyzer using its scores.
 */
import { describe, expect, it } from 'vitest';
import { Analyzer } from '../../agent/offline/analyzer.js';
import { HeadScorer } from '../../agent/detect/head-scorer.js';
import { applyHead, windowFramesFor } from '../../agent/detect/open-detection.js';
import type { MelBatch, TaggerWindowScores } from '../../agent/detect/types.js';
import { ConfigError } from '../../agent/errors.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { createOnsetFeatures, ONSET_FEATURES } from '../../dsp/onset.js';
import { rng } from '../../dsp/random.js';
import { compileClassMap, defaultClassMapPath, readClassMap } from '../../models/classmap.js';
import { parseHead, headJson } from '../../models/head.js';
import { testHead } from '../helpers/head.js';
import { audiosetLabels } from '../helpers/model-labels.js';

const labels = audiosetLabels();
const classMap = compileClassMap(readClassMap(defaultClassMapPath(), labels), labels);
const N_MELS = 128;
const FRAMES = 200;
const ref = { name: 'test-head', sha256: 'ab'.repeat(32) };
const logit = (p: number) => Math.log(p / (1 - p));
const sigmoid = (z: number) => 1 / (1 + Math.exp(-z));

function randomWindow(seed: number, frames = FRAMES): Float32Array {
  const r = rng(seed);
  const w = new Float32Array(N_MELS * frames);
  for (let i = 0; i < w.length; i++) w[i] = r() * 2 - 1;
  // A burst at frame 80, so the onset features are not all zero.
  for (let m = 0; m < N_MELS; m++) for (let f = 80; f < 90; f++) w[m * frames + f]! += 3 - (f - 80) * 0.2;
  return w;
}

function tagged(seed: number, embedding = 384): TaggerWindowScores {
  const r = rng(seed);
  const logits = Float32Array.from({ length: labels.length }, () => r() * 10 - 8);
  return { logits, probabilities: logits.map(sigmoid), embedding: Float32Array.from({ length: embedding }, () => r()) };
}

describe('HeadScorer', () => {
  it('lays features out as the embedding, then the logits by name in the head\'s order, then the chosen onset features', () => {
    // Logits and onset features deliberately not in model / ONSET_FEATURES order.
    const logitNames = ['Speech', 'Gunshot, gunfire', 'Dog'];
    const onsetNames = ['rise30ms', 'fluxMax', 'sustain'] as const;
    const head = parseHead(headJson(testHead({ embedding: 16, logits: logitNames, onset: [...onsetNames] })), 'head.json');
    const scorer = new HeadScorer(head, ref, labels, N_MELS, FRAMES);
    expect(scorer.features.length).toBe(16 + 3 + 3);

    const t = tagged(1);
    const mel = randomWindow(2);
    const x = scorer.features.compute(t, { data: mel, frames: FRAMES }, new Float32Array(scorer.features.length));

    expect(Array.from(x.subarray(0, 16))).toEqual(Array.from(t.embedding.subarray(0, 16)));
    expect(Array.from(x.subarray(16, 19))).toEqual(logitNames.map((n) => t.logits[labels.indexOf(n)]!));
    const all = new Float32Array(ONSET_FEATURES.length);
    createOnsetFeatures({ nMels: N_MELS, maxFrames: FRAMES }).compute(mel, FRAMES, all);
    expect(Array.from(x.subarray(19))).toEqual(onsetNames.map((n) => all[ONSET_FEATURES.indexOf(n)]!));
    expect(x.subarray(19).some((v) => v !== 0)).toBe(true);
  });

  it('refuses a head that reads a logit the model does not have', () => {
    const head = parseHead(headJson(testHead({ logits: ['Gunshot, gunfire', 'Not an AudioSet label'] })), 'head.json');
    expect(() => new HeadScorer(head, ref, labels, N_MELS, FRAMES)).toThrow(/Not an AudioSet label/);
  });

  it('calibrates: a window whose raw probability equals the threshold scores 0.5; others shift in log-odds', () => {
    // One weight on the normalised "Gunshot, gunfire" logit: raw z = w · (logit − mean) / std + bias.
    const threshold = 0.2;
    const head = parseHead(
      headJson(testHead({ embedding: 8, logits: ['Gunshot, gunfire'], onset: [], logitMean: -3, logitStd: 2, labels: { gunshot: { logitWeights: { 'Gunshot, gunfire': 1.5 }, embeddingScale: 0, bias: 0.25, threshold } } })),
      'head.json',
    );
    const scorer = new HeadScorer(head, ref, labels, N_MELS, FRAMES);
    const gun = labels.indexOf('Gunshot, gunfire');
    const at = (rawLogOdds: number) => {
      const t = tagged(3, 8);
      // Solve for the logit that gives this raw log-odds.
      t.logits[gun] = ((rawLogOdds - 0.25) / 1.5) * 2 - 3;
      return scorer.score(t, { data: randomWindow(4), frames: FRAMES }).get('gunshot')!;
    };
    expect(at(logit(threshold))).toBeCloseTo(0.5, 5);
    expect(at(logit(0.6))).toBeCloseTo(sigmoid(logit(0.6) - logit(threshold)), 5);
    expect(at(logit(0.05))).toBeLessThan(0.5);
    expect([...scorer.score(tagged(5, 8), { data: randomWindow(6), frames: FRAMES }).keys()]).toEqual(['gunshot']);
  });

  it('applyTo: head labels alert at 0.5 unless configured, take the head\'s category and no voice evidence; others unchanged', () => {
    const head = parseHead(headJson(testHead({ labels: { gunshot: { category: 'threat' }, human_voice: { category: 'threat' } } })), 'head.json');
    const scorer = new HeadScorer(head, ref, labels, N_MELS, FRAMES);
    const applied = applyHead(classMap, scorer, 'head.json', { labels: { human_voice: { threshold: 0.7 } } });
    const by = (n: string) => applied.labels.find((l) => l.name === n)!;
    const orig = (n: string) => classMap.labels.find((l) => l.name === n)!;
    expect(by('gunshot')).toMatchObject({ threshold: 0.5, category: 'threat', voiceWeight: 0 });
    expect(by('human_voice')).toMatchObject({ threshold: 0.7, category: 'threat', voiceWeight: 0 });
    expect(by('chainsaw')).toBe(orig('chainsaw'));
    expect(classMap.labels.find((l) => l.name === 'human_voice')!.category).toBe('human'); // the class map itself is untouched
  });

  it('a head label the class map does not have: a configuration error naming the label and the file', () => {
    const head = parseHead(headJson(testHead({ labels: { gunshot: {}, elephant: {} } })), 'head.json');
    const scorer = new HeadScorer(head, ref, labels, N_MELS, FRAMES);
    let err: unknown;
    try {
      applyHead(classMap, scorer, '/data/site-head.json', { labels: {} });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).exitCode).toBe(78);
    expect((err as Error).message).toMatch(/\/data\/site-head\.json: the head scores label elephant that the class map does not have/);
  });

  it('windowFramesFor covers the analyzer\'s longest window', () => {
    expect(windowFramesFor(MN04_FRONTEND, 5)).toBe(501);
    expect(windowFramesFor(MN04_FRONTEND, 2)).toBeGreaterThanOrEqual(Math.round((2 * MN04_FRONTEND.sampleRate) / MN04_FRONTEND.hop));
  });
});

describe('Analyzer with a head', () => {
  const frontend = createMelFrontend(MN04_FRONTEND);
  /** Tags nothing: without a head there is no event. */
  const quiet = {
    async score(b: MelBatch): Promise<TaggerWindowScores[]> {
      return Array.from({ length: b.batch }, () => ({ logits: new Float32Array(labels.length).fill(-10), probabilities: new Float32Array(labels.length), embedding: new Float32Array(384) }));
    },
  };

  it('scores the head\'s labels with the head (a constant head: one event over the whole recording at its calibrated score)', async () => {
    const threshold = 0.3;
    const head = parseHead(headJson(testHead({ labels: { gunshot: { embeddingScale: 0, onsetWeight: 0, bias: 1, threshold } } })), 'head.json');
    const scorer = new HeadScorer(head, ref, labels, N_MELS, windowFramesFor(MN04_FRONTEND, 2));
    const map = applyHead(classMap, scorer, 'head.json', { labels: {} });
    const samples = new Float32Array(32000 * 10);
    const without = await new Analyzer({ frontend, tagger: quiet, classMap: map, windowSec: 2, hopSec: 1, batchSize: 4 }).analyze(samples);
    expect(without.events).toEqual([]);
    const seen: number[] = [];
    const withHead = await new Analyzer({ frontend, tagger: quiet, classMap: map, windowSec: 2, hopSec: 1, batchSize: 4, head: scorer, onWindow: (w) => seen.push(w.frames) }).analyze(samples);
    expect(withHead.events.map((e) => e.label)).toEqual(['gunshot']);
    expect(withHead.events[0]!.confidence).toBeCloseTo(sigmoid(1 - logit(threshold)), 5);
    expect(withHead.events[0]!.startSample).toBe(0);
    expect(seen.length).toBe(withHead.windows);
  });
});
