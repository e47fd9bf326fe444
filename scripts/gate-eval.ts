/**
 * What the activity gate costs and saves, on a labelled corpus (default ../shared/data/dev):
 *   node build/scripts/gate-eval.js [folder] [--per-class N]
 * Recall: each positive file (folder named after an alert label, or speech/engine) runs through
 * the live pipeline with and without the gate; a file counts as found when an event of its
 * label comes out. Savings: the share of windows the gate skips on background_* folders.
 */
import fs from 'node:fs';
import path from 'node:path';
import { loadConfig } from '../config/load.js';
import { loadModelRateAudio } from '../agent/audio/load-model-rate.js';
import { findAudioFiles } from '../agent/offline/find-audio.js';
import { openDetection } from '../agent/detect/open-detection.js';
import { planWindows } from '../agent/detect/windows.js';
import { silentLogger } from '../agent/log.js';
import { FeatureActivityGate } from '../agent/pipeline/activity-gate.js';
import { LivePipeline, type ActivityGate } from '../agent/pipeline/live-pipeline.js';
import { float32ToInt16 } from '../dsp/pcm.js';
import { packageRoot } from '../agent/version.js';

const ALIASES: Record<string, string> = { speech: 'human_voice', engine: 'vehicle' };
const args = process.argv.slice(2);
const perClassAt = args.indexOf('--per-class');
const perClass = perClassAt >= 0 ? Number(args[perClassAt + 1]) : Infinity;
const root = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--per-class') ?? path.resolve(packageRoot(), '..', 'shared', 'data', 'dev');
const { config } = loadConfig({ env: process.env });
const stack = await openDetection(config, { mirror: process.env.EARSHOT_MODEL_MIRROR });
const rate = stack.frontend.params.sampleRate;
const labelNames = new Set(stack.classMap.labels.filter((l) => l.enabled).map((l) => l.name));

async function labelsFound(samples: Float32Array, gate?: ActivityGate): Promise<{ labels: Set<string>; scored: number; skipped: number }> {
  const labels = new Set<string>();
  const p = new LivePipeline({
    inputRate: rate,
    frontend: stack.frontend,
    tagger: stack.tagger,
    ...(stack.voice ? { voice: stack.voice } : {}),
    classMap: stack.classMap,
    windowSec: config.detection.windowSec,
    hopSec: config.detection.hopSec,
    queueMax: 1 << 20,
    ...(gate ? { gate } : {}),
    onChange: (c) => void (c.kind === 'opened' && labels.add(c.event.label)),
    logger: silentLogger(),
  });
  p.push(float32ToInt16(samples));
  p.endSegment();
  await p.drain();
  return { labels, scored: p.stats.windowsScored, skipped: p.stats.windowsSkipped };
}

const gate = new FeatureActivityGate(config.detection.activityGate);
const rows: string[] = [];
let lost = 0;
for (const cls of fs.readdirSync(root).sort()) {
  const dir = path.join(root, cls);
  if (!fs.statSync(dir).isDirectory()) continue;
  const label = ALIASES[cls] ?? cls;
  const files = findAudioFiles([dir]).files.slice(0, perClass);
  if (cls.startsWith('background')) {
    let windows = 0;
    let skipped = 0;
    const reasons: Record<string, number> = {};
    for (const f of files) {
      const x = await loadModelRateAudio(f, rate);
      const frames = stack.frontend.frameCount(x.length);
      const hopFrames = Math.round((config.detection.hopSec * rate) / stack.frontend.params.hop);
      const plan = planWindows(frames, Math.round((config.detection.windowSec * rate) / stack.frontend.params.hop), hopFrames);
      for (const s of plan.starts) {
        windows++;
        const from = s * stack.frontend.params.hop;
        const d = gate.decide(x.subarray(from, from + plan.frames * stack.frontend.params.hop), rate);
        reasons[d.reason] = (reasons[d.reason] ?? 0) + 1;
        if (process.env.GATE_DEBUG) console.error(cls, d);
        if (!d.active) skipped++;
      }
    }
    rows.push(`${cls.padEnd(18)} background  files ${String(files.length).padStart(4)}  windows ${String(windows).padStart(5)}  skipped ${((100 * skipped) / Math.max(1, windows)).toFixed(1)} %  (${Object.entries(reasons).map(([k, v]) => `${k} ${v}`).join(', ')})`);
    continue;
  }
  if (!labelNames.has(label)) continue;
  let found = 0;
  let foundGated = 0;
  for (const f of files) {
    const x = await loadModelRateAudio(f, rate);
    const a = await labelsFound(x);
    const b = await labelsFound(x, gate);
    if (a.labels.has(label)) found++;
    if (a.labels.has(label) && b.labels.has(label)) foundGated++;
    else if (a.labels.has(label)) {
      lost++;
      console.error(`  lost with the gate: ${path.relative(root, f)}`);
    }
  }
  rows.push(`${cls.padEnd(18)} ${label.padEnd(11)} files ${String(files.length).padStart(4)}  found ${String(found).padStart(4)}  found with gate ${String(foundGated).padStart(4)}  recall kept ${found ? ((100 * foundGated) / found).toFixed(1) : '-'} %`);
}
console.log(rows.join('\n'));
console.log(`files whose detection the gate lost: ${lost}`);
await stack.close();
