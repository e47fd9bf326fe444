/**
 * Every AudioSource passes the contract: stdin (a stream the test writes), a real-time file
 * replay, and the recorder running a stand-in recorder program (a real child process writing raw
 * s16le PCM to stdout as arecord does; there is no sound card here). Time the sources schedule
 * themselves (pacing, restart backoff) runs on manual timers the fixture's pump() moves on.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll } from 'vitest';
import { FileSource } from '../../agent/capture/file-source.js';
import { RecorderSource } from '../../agent/capture/recorder-source.js';
import { StdinSource } from '../../agent/capture/stdin-source.js';
import { silentLogger } from '../../agent/silent-logger.js';
import { encodeWavInt16Mono } from '../../dsp/wav-encode.js';
import { ManualTimers } from '../helpers/manual-timers.js';
import { describeSourceContract, ramp, RAMP } from './source-contract.js';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-source-contract-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

describeSourceContract(
  'StdinSource',
  () => {
    const input = new PassThrough();
    let at = 0;
    return {
      source: new StdinSource(16000, 1, silentLogger(), input),
      kind: 'stdin',
      rate: 16000,
      rateBeforeStart: 16000,
      pump: () => {
        if (input.writableEnded) return;
        input.write(Buffer.from(ramp(at, 160).buffer));
        at = (at + 160) % RAMP;
      },
      fail: () => input.end(),
      failure: /^stdin ended$/,
    };
  },
  () => {
    const closed = new PassThrough();
    closed.end();
    return { source: new StdinSource(16000, 1, silentLogger(), closed), pump: () => undefined, reports: 'interrupted', message: /^stdin ended$/ };
  },
);

const RATE = 8000;
const wav = path.join(dir, 'ramp.wav');
fs.writeFileSync(wav, encodeWavInt16Mono(ramp(0, 30 * RATE), RATE));

describeSourceContract(
  'FileSource (real-time replay)',
  () => {
    const timers = new ManualTimers();
    return {
      source: new FileSource({ file: wav, realtime: true, loop: false, logger: silentLogger(), timers, clock: timers.clock }),
      kind: 'file',
      rate: RATE,
      rateBeforeStart: 0,
      pump: () => timers.advance(100),
      fail: () => timers.advance(30_000),
      failure: /^end of replay file$/,
    };
  },
  () => {
    const timers = new ManualTimers();
    const missing = path.join(dir, 'no-such.wav');
    return { source: new FileSource({ file: missing, realtime: true, loop: false, logger: silentLogger(), timers, clock: timers.clock }), pump: () => timers.advance(100), reports: 'rejects', message: /no such file/ };
  },
);

/** Writes the ramp as s16le, 320 samples every 20 ms, until `stopFile` exists; then exits 1 as a vanished device does. */
const recorder = path.join(dir, 'stand-in-recorder.mjs');
fs.writeFileSync(
  recorder,
  `import fs from 'node:fs';
const stopFile = process.argv[2];
let v = 0;
setInterval(() => {
  if (fs.existsSync(stopFile)) {
    process.stderr.write('device vanished\\n');
    process.exit(1);
  }
  const b = Buffer.alloc(640);
  for (let i = 0; i < 320; i++, v = (v + 1) % ${RAMP}) b.writeInt16LE(v, 2 * i);
  process.stdout.write(b);
}, 20);
`,
);
let recorders = 0;

describeSourceContract(
  'RecorderSource (a stand-in recorder program)',
  () => {
    const timers = new ManualTimers();
    const stopFile = path.join(dir, `stop-${++recorders}`);
    return {
      source: new RecorderSource({ command: [process.execPath, recorder, stopFile], sampleRate: 16000, channels: 1, logger: silentLogger(), timers, clock: timers.clock, minBackoffMs: 200, stallMs: 60_000 }),
      kind: 'alsa',
      rate: 16000,
      rateBeforeStart: 16000,
      pump: () => timers.advance(100),
      fail: () => fs.writeFileSync(stopFile, ''),
      failure: /^recorder exited \(code 1\): device vanished$/,
    };
  },
  () => {
    const timers = new ManualTimers();
    return {
      source: new RecorderSource({ command: ['/no/such/recorder'], sampleRate: 16000, channels: 1, logger: silentLogger(), timers, clock: timers.clock, minBackoffMs: 200 }),
      pump: () => timers.advance(100),
      reports: 'interrupted',
      message: /\/no\/such\/recorder.*ENOENT/,
    };
  },
);
