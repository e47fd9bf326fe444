import { describe, expect, it } from 'vitest';
import { SpeechTrack } from '../../agent/detect/speech-track.js';
import { EventTracker } from '../../agent/detect/tracker.js';
import type { MelBatch, TaggerWindowScores } from '../../agent/detect/types.js';
import { WindowScorer, type ScorerWindow, type WindowScorerOptions } from '../../agent/detect/window-scorer.js';
import type { AlertLabel, ClassMap } from '../../models/classmap.js';
import { SpeechEverywhere } from './speech-everywhere.js';

const label = (name: string, index: number, voice: Partial<AlertLabel> = {}): AlertLabel => ({
  name,
  category: 'threat',
  threshold: 0.5,
  closeThreshold: 0.3,
  combine: 'max',
  minWindows: 1,
  keepClips: true,
  enabled: true,
  indices: Int32Array.of(index),
  weights: Float32Array.of(1),
  voiceWeight: 0,
  voiceGate: 0,
  logitShift: 0,
  ...voice,
});
const labels = [label('bang', 0), label('voice', 1, { category: 'human', voiceWeight: 1, voiceGate: 0.2 })];
const classMap: ClassMap = { model: 'test', mergeGapSec: 1, labels, modelLabels: ['Bang', 'Speech'] };

/** Probabilities are the window's log-mel: one band, two frames = [P(Bang), P(Speech)]. */
class EchoTagger {
  calls: number[][] = [];
  async score(b: MelBatch): Promise<TaggerWindowScores[]> {
    this.calls.push(Array.from(b.data));
    return Array.from({ length: b.batch }, (_, i) => {
      const probabilities = b.data.slice(i * 2, i * 2 + 2);
      return { logits: probabilities, probabilities, embedding: new Float32Array(0) };
    });
  }
}

const SPAN = 16000; // one second per window, at the voice detector's rate
const win = (i: number, bang: number, speech = 0): ScorerWindow => ({ startSample: i * SPAN, endSample: (i + 1) * SPAN, frames: 2, mel: Float32Array.of(bang, speech) });

function scorer(extra: Partial<WindowScorerOptions<ScorerWindow>> = {}) {
  const tagger = new EchoTagger();
  const s = new WindowScorer<ScorerWindow>({
    tagger,
    classMap,
    labels,
    tracker: new EventTracker({ labels, closeAfterHops: 1 }),
    audio: (from, to) => new Float32Array(to - from),
    ...extra,
  });
  return { s, tagger };
}

const summary = (scored: Awaited<ReturnType<WindowScorer<ScorerWindow>['score']>>) =>
  scored.map((r) => ({ bang: r.scores.get('bang')!.score, voice: r.scores.get('voice')!.score, changes: r.changes.map((c) => `${c.kind}:${c.event.label}`) }));

describe('WindowScorer', () => {
  it('one tagger call per batch with the windows in order; every label scored; the tracker fed window by window; inference timed', async () => {
    let t = 0;
    const { s, tagger } = scorer({ now: () => (t += 5) });
    const scored = await s.score([win(0, 0.9), win(1, 0.8), win(2, 0.1)]);
    expect(tagger.calls.map((c) => c.map((x) => Math.round(x * 10) / 10))).toEqual([[0.9, 0, 0.8, 0, 0.1, 0]]);
    expect(summary(scored).map((r) => r.changes)).toEqual([['opened:bang'], ['updated:bang'], ['closed:bang']]);
    expect(scored[0]!.scores.get('bang')!.score).toBeCloseTo(0.9, 6);
    expect(scored[0]!.tagged).toBeDefined();
    expect(s.inferenceMs).toBe(5);
  });

  it('a window the gate turns away skips the tagger, scores 0, and still reaches the tracker (it closes the event)', async () => {
    const { s, tagger } = scorer({ active: (w) => w.startSample !== SPAN });
    const scored = await s.score([win(0, 0.9), win(1, 0.9), win(2, 0.9)]);
    expect(tagger.calls).toHaveLength(1);
    expect(tagger.calls[0]!.length).toBe(4); // windows 0 and 2
    expect(scored.map((r) => r.tagged !== undefined)).toEqual([true, false, true]);
    expect(summary(scored)).toEqual([
      { bang: expect.closeTo(0.9, 6), voice: 0, changes: ['opened:bang'] },
      { bang: 0, voice: 0, changes: ['closed:bang'] },
      { bang: expect.closeTo(0.9, 6), voice: 0, changes: ['opened:bang'] },
    ]);
  });

  it('asks the voice detector only where the tagger hints at speech, and its share counts as evidence', async () => {
    const voice = new SpeechEverywhere();
    let t = 0;
    const { s } = scorer({ speech: new SpeechTrack(voice, 16000), now: () => (t += 1) });
    const scored = await s.score([win(0, 0, 0.1), win(1, 0, 0.3)]);
    expect(summary(scored).map((r) => r.voice)).toEqual([expect.closeTo(0.1, 6), 1]);
    expect(voice.processed).toBe(30 * 512); // window 1 only: the 30 voice frames that lie inside [1 s, 2 s)
    expect(s.voiceMs).toBe(1);
  });

  it("a site head's scores replace the class map's for its labels", async () => {
    const { s } = scorer({ head: { score: () => new Map([['bang', 0.77]]) } });
    const [r] = await s.score([win(0, 0.1)]);
    expect(r!.scores.get('bang')!.score).toBe(0.77);
    expect(r!.changes.map((c) => c.kind)).toEqual(['opened']);
  });

  it('a batch that fails leaves the tracker as it was; flush() closes what is open and makes the voice detector start cold', async () => {
    const voice = new SpeechEverywhere();
    const { s } = scorer({ speech: new SpeechTrack(voice, 16000) });
    await s.score([win(0, 0.9, 0.3)]);
    voice.failing = true;
    await expect(s.score([win(1, 0.9, 0.3)])).rejects.toThrow(/voice detector down/);
    const closed = s.flush();
    expect(closed.map((c) => [c.event.label, c.event.windows, c.event.endSample])).toEqual([
      ['bang', 1, SPAN],
      ['voice', 1, SPAN],
    ]);
    voice.failing = false;
    const resets = voice.resets;
    await s.score([win(2, 0, 0.3)]);
    expect(voice.resets).toBe(resets + 1);
  });
});
