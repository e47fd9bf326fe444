import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Tensor } from 'onnxruntime-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireInstalledModel } from '../../agent/cli/models-commands.js';
import { OnnxTagger, type SessionLike } from '../../agent/detect/onnx-tagger.js';
import type { InstalledModel } from '../../models/installed.js';
import { ModelInstaller, parseMirrorList } from '../../models/installer.js';
import { getManifest } from '../../models/registry.js';
import { frontendFixturesDir, repoRoot, sharedModelsDir } from '../helpers/paths.js';

interface Fixture {
  name: string;
  shape: [number, number];
  mel: Float32Array;
  logits: Float32Array;
  top5: { index: number; label: string; probability: number }[];
}

function f32(file: string): Float32Array {
  const b = fs.readFileSync(file);
  // Copy into an aligned buffer: Buffer pools may start at an odd offset.
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

// Read at collection (it.each needs the list); without the shared folder the list is empty and the
// fixture-count test below says so, while the model-free tests still run.
const fixtures: Fixture[] = (fs.existsSync(frontendFixturesDir) ? fs.readdirSync(frontendFixturesDir) : [])
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => {
    const j = JSON.parse(fs.readFileSync(path.join(frontendFixturesDir, f), 'utf8')) as Omit<Fixture, 'name' | 'mel' | 'logits'> & { mel: string; logits: string };
    return { name: f.replace(/\.json$/, ''), shape: j.shape, top5: j.top5, mel: f32(path.join(frontendFixturesDir, j.mel)), logits: f32(path.join(frontendFixturesDir, j.logits)) };
  });

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

describe('OnnxTagger on efficientat-mn04 (golden logits from <shared>/fixtures/frontend)', () => {
  let dataDir: string;
  let model: InstalledModel;
  let tagger: OnnxTagger;
  let maxDiffSeen = 0;

  beforeAll(async () => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-tagger-'));
    // As a technician would: EARSHOT_MODEL_MIRROR=<shared>/models (EARSHOT_SHARED, or ../shared beside the checkout).
    const mirrors = parseMirrorList(sharedModelsDir, repoRoot);
    await new ModelInstaller().install(getManifest('efficientat-mn04').manifest, { dataDir, mirrors });
    model = requireInstalledModel('efficientat-mn04', dataDir);
    tagger = new OnnxTagger({ modelPath: model.modelPath, manifest: model.manifest, threads: 1 });
    await tagger.open();
  });

  afterAll(async () => {
    await tagger?.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
    console.log(`onnx-tagger golden: max |logit - reference| = ${maxDiffSeen.toExponential(2)}`);
  });

  it('has six fixtures to check', () => expect(fixtures.length).toBeGreaterThanOrEqual(6));

  it.each(fixtures.map((f) => [f.name, f] as const))('%s: logits within 1e-3, same top-5 labels', async (_name, fx) => {
    const [nMels, frames] = fx.shape;
    expect(nMels).toBe(128);
    const [s] = await tagger.score({ data: fx.mel, batch: 1, frames });
    expect(s.logits).toHaveLength(527);
    expect(s.embedding).toHaveLength(384);
    const diff = maxAbsDiff(s.logits, fx.logits);
    maxDiffSeen = Math.max(maxDiffSeen, diff);
    expect(diff).toBeLessThan(1e-3);
    const top5 = [...s.probabilities.keys()].sort((a, b) => s.probabilities[b] - s.probabilities[a]).slice(0, 5);
    expect(top5.map((i) => model.labels[i].name)).toEqual(fx.top5.map((t) => t.label));
    for (let k = 0; k < 5; k++) expect(s.probabilities[top5[k]]).toBeCloseTo(fx.top5[k].probability, 3);
  });

  it('a batch of two windows gives each window its own scores', async () => {
    const [a, b] = fixtures.filter((f) => f.shape[1] === 800);
    const data = new Float32Array(a.mel.length * 2);
    data.set(a.mel, 0);
    data.set(b.mel, a.mel.length);
    const [sa, sb] = await tagger.score({ data, batch: 2, frames: 800 });
    expect(maxAbsDiff(sa.logits, a.logits)).toBeLessThan(1e-3);
    expect(maxAbsDiff(sb.logits, b.logits)).toBeLessThan(1e-3);
  });

  it('refuses input whose length does not match batch × 128 × frames', async () => {
    await expect(tagger.score({ data: new Float32Array(128 * 99), batch: 1, frames: 100 })).rejects.toThrow(/expected 1 × 128 × 100 = 12800 values, got 12672/);
  });
});

describe('OnnxTagger with a fake session', () => {
  it('keeps exactly one inference in flight and survives a failed call', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    let calls = 0;
    const session: SessionLike = {
      async run(feeds) {
        calls++;
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        await new Promise((r) => setTimeout(r, 5));
        inFlight--;
        if (calls === 2) throw new Error('boom');
        const batch = (feeds.spec.dims[0] as number) ?? 1;
        return { logits: new Tensor('float32', new Float32Array(batch * 527), [batch, 527]), features: new Tensor('float32', new Float32Array(batch * 384), [batch, 384]) };
      },
      release: async () => undefined,
    };
    const opts = { createSession: async () => session };
    const t = new OnnxTagger({ modelPath: 'unused.onnx', manifest: getManifest('efficientat-mn04').manifest, ...opts });
    await expect(t.score({ data: new Float32Array(128), batch: 1, frames: 1 })).rejects.toThrow(/before open/);
    await t.open();
    const batch = { data: new Float32Array(128 * 10), batch: 1, frames: 10 };
    const results = await Promise.allSettled([t.score(batch), t.score(batch), t.score(batch), t.score(batch)]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled', 'fulfilled']);
    expect(maxInFlight).toBe(1);
    const [s] = (results[0] as PromiseFulfilledResult<Awaited<ReturnType<OnnxTagger['score']>>>).value;
    expect(s.probabilities[0]).toBeCloseTo(0.5, 6); // sigmoid(0)
    await t.close();
    await expect(t.score(batch)).rejects.toThrow(/after close/);
  });
});
