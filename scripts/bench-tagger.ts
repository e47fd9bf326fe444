/**
 * Milliseconds per tagger call for 1 s, 2 s and 10 s windows, batch 1 and 16, on N threads
 * (default 1, as on a Pi). Installs the model into a temp folder from EARSHOT_MODEL_MIRROR
 * (default ../shared/models beside the checkout). Not a test: prints a table.
 *
 *   npm run build && node build/scripts/bench-tagger.js [--threads 1] [--runs 20]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { OnnxTagger } from '../agent/detect/onnx-tagger.js';
import { openInstalledModel } from '../models/installed.js';
import { ModelInstaller, parseMirrorList } from '../models/installer.js';
import { getManifest, packageRoot } from '../models/registry.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'efficientat-mn04' },
    threads: { type: 'string', default: '1' },
    runs: { type: 'string', default: '20' },
  },
});
const threads = Number(values.threads);
const runs = Number(values.runs);

const mirrors = parseMirrorList(process.env.EARSHOT_MODEL_MIRROR || path.join(packageRoot(), '..', 'shared', 'models'), process.cwd());
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-bench-'));
try {
  const { manifest } = getManifest(values.model);
  await new ModelInstaller().install(manifest, { dataDir, mirrors });
  const model = openInstalledModel(manifest.name, dataDir);
  const tagger = new OnnxTagger({ modelPath: model.modelPath, manifest, threads });
  await tagger.open();
  const { sampleRate, hop, nMels } = manifest.frontend;

  console.log(`${manifest.name} ${manifest.version}, ${threads} thread(s), ${runs} runs after 3 warm-up, ${os.cpus()[0]?.model ?? 'cpu'}`);
  console.log('window  batch  ms/call (median)  ms/window  x real time');
  for (const seconds of [1, 2, 10]) {
    const frames = 1 + Math.floor((seconds * sampleRate - 1) / hop);
    for (const batch of [1, 16]) {
      // Values in the range of real log-mels ((log(1e-5)+4.5)/5 ≈ -1.4 up to about +1).
      const data = new Float32Array(batch * nMels * frames);
      for (let i = 0; i < data.length; i++) data[i] = Math.random() * 2 - 1.4;
      const times: number[] = [];
      for (let r = 0; r < runs + 3; r++) {
        const t0 = performance.now();
        await tagger.score({ data, batch, frames });
        if (r >= 3) times.push(performance.now() - t0);
      }
      times.sort((a, b) => a - b);
      const median = times[Math.floor(times.length / 2)];
      const perWindow = median / batch;
      console.log(
        `${`${seconds} s`.padEnd(6)}  ${String(batch).padStart(5)}  ${median.toFixed(1).padStart(16)}  ${perWindow.toFixed(2).padStart(9)}  ${((seconds * 1000) / perWindow).toFixed(0).padStart(11)}`,
      );
    }
  }
  await tagger.close();
} finally {
  fs.rmSync(dataDir, { recursive: true, force: true });
}
