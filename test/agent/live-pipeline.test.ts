import { describe, expect, it } from 'vitest';
import { Analyzer } from '../../agent/offline/analyzer.js';
import type { MelBatch, TaggerWindowScores } from '../../agent/detect/types.js';
import { silentLogger } from '../../agent/log.js';
import { LivePipeline, type ActivityGate, type LiveChange } from '../../agent/pipeline/live-pipeline.js';
import { MN04_FRONTEND } from '../../dsp/frontend-params.js';
import { createMelFrontend } from '../../dsp/melspec.js';
import { compileClassMap, defaultClassMapPath, readClassMap } from '../../models/classmap.js';
import { audiosetLabels } from '../helpers/model-labels.js';
import { burstRecording } from '../helpers/bursts.js';

const labels = audiosetLabels();
const classMap = compileClassMap(readClassMap(defaultClassMapPath(), labels), labels);
const frontend = createMelFrontend(MN04_FRONTEND);
const GUN = labels.indexOf('Gunshot, gunfire');
const RATE = MN04_FRONTEND.sampleRate;

/** Scores from the window's content: "gunshot" in proportion to its loudest frame, so both paths must see the same windows. */
class ContentTagger {
  windows = 0;
  gate?: Promise<void>;
  async score(b: MelBatch): Promise<TaggerWindowScores[]> {
    this.windows += b.batch;
    if (this.gate) await this.gate;
    const per = b.data.length / b.batch;
    return Array.from({ length: b.batch }, (_, i) => {
      const w = b.data.subarray(i * per, (i + 1) * per);
      let max = -Infinity;
      for (let f = 0; f < b.frames; f++) {
        let s = 0;
        for (let m = 0; m < per / b.frames; m++) s += w[m * b.frames + f]!;
        max = Math.max(max, s / (per / b.frames));
      }
      const probabilities = new Float32Array(labels.length);
      probabilities[GUN] = 1 / (1 + Math.exp(-(10 * max - 2))); // quiet frames ≈ -1, bursts ≈ +1.3
      return { logits: probabilities, probabilities, embedding: new Float32Array(0) };
    });
  }
}

const recording = (seconds = 30) => burstRecording(RATE, seconds);
const closedEvents = (changes: LiveChange[]) =>
  changes.filter((c) => c.kind === 'closed').map(({ event: e }) => ({ label: e.label, startSample: e.startSample, endSample: e.endSample, confidence: e.confidence }));

function pipeline(tagger: ContentTagger, changes: LiveChange[], extra: Partial<ConstructorParameters<typeof LivePipeline>[0]> = {}) {
  const now = 1_700_000_000_000;
  return new LivePipeline({ inputRate: RATE, frontend, tagger, classMap, windowSec: 2, hopSec: 1, onChange: (c) => changes.push(c), clock: () => now, logger: silentLogger(), ...extra });
}

describe('LivePipeline', () => {
  it('finds the events the offline Analyzer finds in the same audio, fed in odd-sized chunks', async () => {
    const pcm = recording();
    const offline = await new Analyzer({ frontend, tagger: new ContentTagger(), classMap, windowSec: 2, hopSec: 1, batchSize: 3 }).analyze(Float32Array.from(pcm, (x) => x / 32768));
    expect(offline.events.map((e) => e.label)).toEqual(['gunshot', 'gunshot']);

    const changes: LiveChange[] = [];
    const p = pipeline(new ContentTagger(), changes, { queueMax: 64 });
    for (let i = 0; i < pcm.length; i += 3331) p.push(pcm.slice(i, i + 3331));
    p.endSegment();
    await p.drain();
    expect(closedEvents(changes)).toEqual(offline.events.map((e) => ({ label: e.label, startSample: e.startSample, endSample: e.endSample, confidence: e.confidence })));
    expect(p.stats.windowsDropped).toBe(0);
    expect(p.stats.levelDbfs).toBeLessThan(-40);
  });

  it('never waits for inference: a stuck tagger makes it drop the oldest windows and count them', async () => {
    const tagger = new ContentTagger();
    let release!: () => void;
    tagger.gate = new Promise<void>((r) => (release = r));
    const p = pipeline(tagger, [], { queueMax: 3 });
    const pcm = recording(12);
    for (let i = 0; i < pcm.length; i += RATE / 10) p.push(pcm.slice(i, i + RATE / 10));
    await new Promise((r) => setTimeout(r, 20));
    expect(p.stats.windowsQueued).toBeGreaterThanOrEqual(10); // (12 s - 2 s) / 1 s + 1, less the frames still in the STFT
    expect(p.stats.windowsDropped).toBeGreaterThan(0);
    release();
    await p.drain();
    expect(p.stats.windowsScored + p.stats.windowsDropped).toBe(p.stats.windowsQueued);
  });

  it('a capture gap closes open events and anchors the next segment to the clock', async () => {
    let now = 1_700_000_000_000;
    const changes: LiveChange[] = [];
    const p = pipeline(new ContentTagger(), changes, { clock: () => now });
    const pcm = recording(8);
    p.push(pcm.slice(0, Math.round(6.6 * RATE)));
    p.endSegment();
    await p.drain();
    const first = changes.filter((c) => c.kind === 'closed');
    expect(first.length).toBe(1);
    now += 60_000;
    p.push(pcm.slice(0, Math.round(0.1 * RATE)));
    const t = p.timeOf(p.ring.end);
    expect(t).toBeCloseTo(now, -1);
  });

  it('the activity gate skips inference on quiet windows; the loud ones are scored and still make the event', async () => {
    const pcm = recording(20); // one burst, at 6–7 s
    async function listen(gate?: ActivityGate) {
      const tagger = new ContentTagger();
      const changes: LiveChange[] = [];
      const p = pipeline(tagger, changes, { queueMax: 64, ...(gate ? { gate } : {}) });
      p.push(pcm);
      p.endSegment();
      await p.drain();
      return { tagger, changes, stats: p.stats };
    }
    const ungated = await listen();
    const gated = await listen({ active: (w) => w.some((x) => Math.abs(x) > 0.1) });
    expect(gated.stats.windowsScored).toBe(gated.stats.windowsQueued);
    expect(gated.stats.windowsSkipped).toBeGreaterThan(gated.stats.windowsScored / 2);
    expect(gated.tagger.windows).toBeGreaterThan(0);
    expect(gated.tagger.windows).toBe(gated.stats.windowsScored - gated.stats.windowsSkipped);
    // The same event, ending earlier: the window after the burst, which the tagger still hears in it, was skipped.
    const [event] = closedEvents(gated.changes);
    const [whole] = closedEvents(ungated.changes);
    expect(closedEvents(gated.changes)).toHaveLength(1);
    expect(event).toMatchObject({ label: 'gunshot', startSample: whole!.startSample, confidence: whole!.confidence });
    expect(event!.endSample).toBeLessThan(whole!.endSample);
  });
});
