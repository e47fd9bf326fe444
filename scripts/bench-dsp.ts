/**
 * DSP benchmark: × real time (audio seconds per CPU second, one core) of
 *  (a) WAV decoding + resampling 44.1 kHz → 32 kHz, on the real 44.1 kHz recordings of the
 *      development corpus (../shared/data/dev; stereo ones are mixed to mono),
 *  (b) the mn04 log-mel front end (batch, and streamed in 100 ms chunks),
 *  (c) the same log-mel with meyda's `powerSpectrum` per frame and the same mel bank,
 * and the speed ratio (b)/(c). CPU time comes from process.cpuUsage() deltas; every figure is
 * the median of several repetitions after a warm-up (the machine may be shared).
 *
 *   npm run bench:dsp            # table
 *   npm run bench:dsp -- --json  # …and one JSON object on the last line
 *   options: --reps N (default 9; the log-mel runs 3N rounds, meyda every third),
 *            --meyda-seconds S (audio for path c, default 20)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MN04_FRONTEND } from '../dsp/frontend-params.js';
import { meydaLogMel } from '../dsp/meyda-logmel.js';
import { createMelFrontend } from '../dsp/melspec.js';
import { resample } from '../dsp/resample.js';
import { decodeWav } from '../dsp/wav.js';
import { exitOnHelp, numberArg } from './argv.js';

exitOnHelp(`npm run bench:dsp -- [options]: × real time of WAV decode + resample, the log-mel front end and meyda's

  --reps N            repetitions (default 9; the log-mel runs 3N rounds, meyda every third)
  --meyda-seconds S   audio for the meyda path (default 20)
  --json              also print the figures as JSON
`);

const here = path.dirname(fileURLToPath(import.meta.url));
const repoRoot = path.resolve(here, '..', '..'); // build/scripts → repo
const sharedDir = process.env.EARSHOT_SHARED ?? path.resolve(repoRoot, '..', 'shared');
const corpusDir = path.join(sharedDir, 'data', 'dev');

const json = process.argv.includes('--json');
const reps = Math.round(numberArg('reps', 9));
const meydaSeconds = numberArg('meyda-seconds', 20);

/** Real 44.1 kHz WAV files of the corpus (manifest.csv: cls,file,duration_s,sample_rate,...). */
function corpus44k(): string[] {
  const manifest = path.join(corpusDir, 'manifest.csv');
  if (!fs.existsSync(manifest)) throw new Error(`no development corpus at ${corpusDir} (set EARSHOT_SHARED)`);
  return fs
    .readFileSync(manifest, 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.split(','))
    .filter((c) => c[3] === '44100' && c[1]?.endsWith('.wav'))
    .map((c) => path.join(corpusDir, c[1]));
}

function cpuSeconds(fn: () => void): number {
  const t0 = process.cpuUsage();
  fn();
  const d = process.cpuUsage(t0);
  return (d.user + d.system) / 1e6;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

interface Figure {
  median: number;
  min: number;
  max: number;
}

/**
 * × real time of several workloads over `reps` rounds after a warm-up. Each round runs every
 * workload once, interleaved, so a change in the machine's load hits them all alike.
 */
function measureTogether(work: { seconds: number; run: () => void; every?: number }[], rounds = reps): Figure[] {
  for (const w of work) w.run();
  const speeds: number[][] = work.map(() => []);
  for (let r = 0; r < rounds; r++) {
    work.forEach((w, i) => {
      if (r % (w.every ?? 1) === 0) speeds[i].push(w.seconds / Math.max(cpuSeconds(w.run), 1e-9));
    });
  }
  return speeds.map((s) => ({ median: median(s), min: Math.min(...s), max: Math.max(...s) }));
}

const files = corpus44k();
const inputs = files.map((f) => ({ file: path.relative(corpusDir, f), bytes: new Uint8Array(fs.readFileSync(f)) }));
const decoded = inputs.map((i) => decodeWav(i.bytes, { name: i.file }));
const seconds44k = decoded.reduce((s, w) => s + w.frames / w.sampleRate, 0);

// (a) decode + resample, as the model path does it (mono mix-down included).
const at32k = decoded.map((w) => resample(w.mono, w.sampleRate, 32000));
const [decodeResample, decodeOnly] = measureTogether([
  {
    seconds: seconds44k,
    run: () => {
      for (const i of inputs) {
        const w = decodeWav(i.bytes, { name: i.file });
        resample(w.mono, w.sampleRate, 32000);
      }
    },
  },
  {
    seconds: seconds44k,
    run: () => {
      for (const i of inputs) decodeWav(i.bytes, { name: i.file });
    },
  },
]);

// (b) log-mel on the 32 kHz signals, batch and streamed; (c) the meyda path on a slice (it is
// slow: measured every third round).
const seconds32k = at32k.reduce((s, x) => s + x.length / 32000, 0);
const frontend = createMelFrontend(MN04_FRONTEND);
const outs = at32k.map((x) => new Float32Array(128 * frontend.frameCount(x.length)));
const CHUNK = 3200; // 100 ms, a typical capture chunk
const streamSink = (): void => undefined;
const slice = at32k.map((x) => x.subarray(0, Math.ceil(Math.min(x.length, (meydaSeconds / at32k.length) * 32000))));
const secondsMeyda = slice.reduce((s, x) => s + x.length / 32000, 0);
const [logmel, streamed, meyda] = measureTogether(
  [
    { seconds: seconds32k, run: () => at32k.forEach((x, k) => frontend.melspec(x, outs[k])) },
    {
      seconds: seconds32k,
      run: () => {
        for (const x of at32k) {
          const s = frontend.createStream();
          for (let i = 0; i < x.length; i += CHUNK) s.push(x.subarray(i, i + CHUNK), streamSink);
          s.flush(streamSink);
        }
      },
    },
    {
      seconds: secondsMeyda,
      run: () => {
        for (const x of slice) meydaLogMel(x, MN04_FRONTEND);
      },
      every: 3,
    },
  ],
  3 * reps,
);
let agreement = 0;
{
  const a = frontend.melspec(slice[0]);
  const b = meydaLogMel(slice[0], MN04_FRONTEND);
  for (let i = 0; i < a.data.length; i++) agreement = Math.max(agreement, Math.abs(a.data[i] - b.data[i]));
}

const ratio = logmel.median / meyda.median;
const targets = { logmelRealtime: 1000, vsMeyda: 5 };
const fmt = (x: number): string => `${x.toFixed(0).padStart(7)}×`;
const row = (label: string, m: Figure): string =>
  `${label.padEnd(46)}${fmt(m.median)}   (min ${m.min.toFixed(0)}, max ${m.max.toFixed(0)})`;

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
console.log(`Earshot DSP benchmark — ${cpu}, Node ${process.version}; median × real time per CPU second over ${reps} rounds (log-mel: ${3 * reps}), workloads interleaved`);
console.log(`input: ${files.length} real 44.1 kHz recordings from the dev corpus, ${seconds44k.toFixed(1)} s of audio`);
console.log(row('(a) decode WAV + resample 44.1 → 32 kHz', decodeResample));
console.log(row('    decode WAV only', decodeOnly));
console.log(row('(b) log-mel, mn04 front end (batch)', logmel));
console.log(row('    log-mel, streamed in 100 ms chunks', streamed));
console.log(row(`(c) log-mel via meyda powerSpectrum (${secondsMeyda.toFixed(1)} s)`, meyda));
console.log(`${'(b)/(c) speed-up over the meyda path'.padEnd(46)}${ratio.toFixed(1).padStart(7)}×`);
console.log(`max |(b) - (c)| on ${(slice[0].length / 32000).toFixed(1)} s: ${agreement.toExponential(2)}`);
console.log(
  `targets: log-mel ≥ ${targets.logmelRealtime}× real time: ${logmel.median >= targets.logmelRealtime ? 'met' : 'NOT met'}; ` +
    `≥ ${targets.vsMeyda}× faster than meyda: ${ratio >= targets.vsMeyda ? 'met' : 'NOT met'}`,
);
if (json) {
  console.log(
    JSON.stringify({
      cpu,
      node: process.version,
      reps,
      audioSeconds: { decodeResample: seconds44k, logmel: seconds32k, meyda: secondsMeyda },
      decodeResample44kTo32k: decodeResample.median,
      decodeOnly: decodeOnly.median,
      logmel: logmel.median,
      logmelStreamed: streamed.median,
      logmelMeyda: meyda.median,
      speedupVsMeyda: ratio,
      maxAbsDiffVsMeyda: agreement,
      targetsMet: logmel.median >= targets.logmelRealtime && ratio >= targets.vsMeyda,
    }),
  );
}
