import { describe, expect, it } from 'vitest';
import { Analyzer } from '../../agent/offline/analyzer.js';
import type { MelBatch, TaggerWindowScores } from '../../agent/detect/types.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { compileClassMap, defaultClassMapPath, readClassMap } from '../../models/classmap.js';
import { audiosetLabels } from '../helpers/model-labels.js';
import { SpeechEverywhere } from '../detect/speech-everywhere.js';

const labels = audiosetLabels();
const classMap = compileClassMap(readClassMap(defaultClassMapPath(), labels), labels);
const frontend = createMelFrontend(MN04_FRONTEND);
const GUN = labels.indexOf('Gunshot, gunfire');
const SPEECH = labels.indexOf('Speech');

/** A tagger that says "gunshot" for windows starting inside [from, to) seconds and records its calls. */
class ScriptedTagger {
  calls: { batch: number; frames: number }[] = [];
  private window = 0;
  constructor(
    private readonly hopSec: number,
    private readonly from: number,
    private readonly to: number,
  ) {}
  async score(b: MelBatch): Promise<TaggerWindowScores[]> {
    this.calls.push({ batch: b.batch, frames: b.frames });
    return Array.from({ length: b.batch }, () => {
      const t = this.window++ * this.hopSec;
      const probabilities = new Float32Array(labels.length);
      if (t >= this.from && t < this.to) probabilities[GUN] = 0.9;
      probabilities[SPEECH] = 0.06; // above the voice gate: the voice detector is consulted
      return { logits: probabilities, probabilities, embedding: new Float32Array(384) };
    });
  }
}

describe('Analyzer (scripted tagger)', () => {
  const samples = new Float32Array(32000 * 20); // 20 s of silence; the tagger decides

  it('windows the recording, batches inference and turns window scores into one event with sample times', async () => {
    const tagger = new ScriptedTagger(1, 5, 8);
    const analyzer = new Analyzer({ frontend, tagger, classMap, windowSec: 2, hopSec: 1, batchSize: 4, labels: ['gunshot'] });
    const result = await analyzer.analyze(samples);
    expect(result.windows).toBe(19); // starts 0..18 s
    expect(tagger.calls.map((c) => c.batch)).toEqual([4, 4, 4, 4, 3]);
    expect(tagger.calls.every((c) => c.frames === 200)).toBe(true);
    expect(result.events).toHaveLength(1);
    const ev = result.events[0]!;
    expect(ev.label).toBe('gunshot');
    expect(ev.startSample).toBe(5 * 32000);
    expect(ev.endSample).toBe((7 + 2) * 32000);
    expect(ev.confidence).toBeGreaterThan(0.99);
    expect(ev.modelLabels[0]!.label).toBe('Gunshot, gunfire');
    expect(result.durationSec).toBe(20);
  });

  it('minConfidence 0 reports a peak for every label', async () => {
    const analyzer = new Analyzer({ frontend, tagger: new ScriptedTagger(1, 100, 100), classMap, windowSec: 2, hopSec: 1, batchSize: 8, minConfidence: 0 });
    const result = await analyzer.analyze(samples);
    expect(result.peaks.map((p) => p.label).sort()).toEqual(classMap.labels.map((l) => l.name).sort());
    expect(result.peaks.find((p) => p.label === 'gunshot')!.score).toBeLessThan(0.5);
  });

  it('consults the voice detector only where the tagger hints at speech, and uses its speech share', async () => {
    const voice = new SpeechEverywhere();
    const analyzer = new Analyzer({ frontend, tagger: new ScriptedTagger(1, 100, 100), voice, classMap, windowSec: 2, hopSec: 1, batchSize: 8, labels: ['human_voice'] });
    const result = await analyzer.analyze(samples);
    // Every window was gated in (speech 0.06 ≥ 0.05); the windows overlap by half, yet each
    // 16 kHz voice frame of the 20 s was computed once, as one stream from a single cold start.
    expect(result.windows).toBe(19);
    expect(voice.processed).toBe(20 * 16000);
    expect(voice.resets).toBe(1);
    const [ev] = result.events;
    expect(ev?.label).toBe('human_voice');
    expect(ev!.confidence).toBeGreaterThan(0.9);

    const quiet = new SpeechEverywhere();
    const tagger = { score: async (b: MelBatch) => Array.from({ length: b.batch }, () => ({ logits: new Float32Array(527), probabilities: new Float32Array(527), embedding: new Float32Array(384) })) };
    const r2 = await new Analyzer({ frontend, tagger, voice: quiet, classMap, windowSec: 2, hopSec: 1, batchSize: 8, labels: ['human_voice'] }).analyze(samples);
    expect(quiet.processed).toBe(0);
    expect(r2.events).toEqual([]);
  });

  it('each recording is a stream of its own: analysing it again gives the same result from a cold voice detector', async () => {
    const voice = new SpeechEverywhere();
    const analyzer = new Analyzer({ frontend, tagger: new ScriptedTagger(1, 100, 100), voice, classMap, windowSec: 2, hopSec: 1, batchSize: 8, labels: ['human_voice'] });
    const first = await analyzer.analyze(samples);
    const second = await analyzer.analyze(samples);
    expect(first.events).toHaveLength(1);
    expect(second.events).toEqual(first.events);
    expect(voice.resets).toBe(2);
  });
});
