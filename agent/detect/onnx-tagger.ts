/**
 * The AudioSet tagger (EfficientAT mn04 or any model with the same manifest roles) on
 * onnxruntime-node. One InferenceSession per model, made in `open()`; calls to `score` are
 * chained so exactly one inference is in flight (ONNX Runtime sessions are thread-safe, but on
 * a Pi a second concurrent run only competes for the same core and doubles peak memory).
 */
import * as ort from 'onnxruntime-node';
import { DataError } from '../errors.js';
import { tensorWithRole, type ModelManifest } from '../../models/manifest.js';
import type { MelBatch, Tagger, TaggerWindowScores } from './types.js';

const COMPONENT = 'detect.tagger';

/** The part of an InferenceSession the tagger uses (tests pass a fake). */
export interface SessionLike {
  run(feeds: Record<string, ort.Tensor>): Promise<Record<string, ort.Tensor>>;
  release(): Promise<void>;
}

export type CreateSession = (modelPath: string, options: ort.InferenceSession.SessionOptions) => Promise<SessionLike>;

export interface OnnxTaggerOptions {
  /** Path of the .onnx file; its external data (.onnx.data) must sit beside it. */
  modelPath: string;
  manifest: ModelManifest;
  /** intraOpNumThreads (`detection.threads`, default 1: a Pi saves power on one core). */
  threads?: number;
  createSession?: CreateSession;
}

const defaultCreateSession: CreateSession = (modelPath, options) => ort.InferenceSession.create(modelPath, options);

/** Session options for a small CPU device: one operator at a time, fully optimised graph. */
export function taggerSessionOptions(threads = 1): ort.InferenceSession.SessionOptions {
  return {
    intraOpNumThreads: threads,
    interOpNumThreads: 1,
    executionMode: 'sequential',
    graphOptimizationLevel: 'all',
    // No arena: a long-running agent would keep its high-water mark (tens of MB) for good.
    enableCpuMemArena: false,
  };
}

function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export class OnnxTagger implements Tagger {
  readonly nMels: number;
  readonly labelsCount: number;
  private readonly inputName: string;
  private readonly logitsName: string;
  private readonly embeddingName: string | undefined;
  private session: SessionLike | undefined;
  private opening: Promise<void> | undefined;
  /** Tail of the chain of calls: each run starts when the previous one settled. */
  private tail: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: OnnxTaggerOptions) {
    const m = opts.manifest;
    this.nMels = m.frontend.nMels;
    this.labelsCount = m.labelsCount;
    // The manifest schema guarantees a logmel input and a logits output.
    this.inputName = tensorWithRole(m.inputs, 'logmel')!.name;
    this.logitsName = tensorWithRole(m.outputs, 'logits')!.name;
    this.embeddingName = tensorWithRole(m.outputs, 'embedding')?.name;
  }

  open(): Promise<void> {
    this.opening ??= (async () => {
      const create = this.opts.createSession ?? defaultCreateSession;
      this.session = await create(this.opts.modelPath, taggerSessionOptions(this.opts.threads ?? 1));
    })();
    return this.opening;
  }

  score(batch: MelBatch): Promise<TaggerWindowScores[]> {
    const session = this.session;
    if (!session) return Promise.reject(new Error('OnnxTagger.score called before open() finished (or after close())'));
    const run = this.tail.then(() => this.run(session, batch));
    // Keep the chain going whatever this call does; the caller still sees its own rejection.
    this.tail = run.catch(() => undefined);
    return run;
  }

  /** New calls fail at once; calls already queued finish; then the session is released. */
  async close(): Promise<void> {
    await this.opening?.catch(() => undefined);
    const session = this.session;
    this.session = undefined;
    this.opening = undefined;
    await this.tail;
    await session?.release();
  }

  private async run(session: SessionLike, { data, batch, frames }: MelBatch): Promise<TaggerWindowScores[]> {
    if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(frames) || frames < 1 || data.length !== batch * this.nMels * frames) {
      throw new DataError(`tagger input: expected ${batch} × ${this.nMels} × ${frames} = ${batch * this.nMels * frames} values, got ${data.length}`, {
        component: COMPONENT,
        code: 'tagger.shape',
      });
    }
    const input = new ort.Tensor('float32', data, [batch, 1, this.nMels, frames]);
    const out = await session.run({ [this.inputName]: input });
    const logits = out[this.logitsName]?.data;
    if (!(logits instanceof Float32Array) || logits.length !== batch * this.labelsCount) {
      throw new DataError(`tagger output "${this.logitsName}": expected ${batch} × ${this.labelsCount} float32 values`, { component: COMPONENT, code: 'tagger.output' });
    }
    const emb = this.embeddingName ? out[this.embeddingName]?.data : undefined;
    const embedding = emb instanceof Float32Array ? emb : new Float32Array(0);
    const embDim = embedding.length / batch;
    const probabilities = new Float32Array(logits.length);
    for (let i = 0; i < logits.length; i++) probabilities[i] = sigmoid(logits[i]);
    const scores: TaggerWindowScores[] = [];
    for (let b = 0; b < batch; b++) {
      const at = b * this.labelsCount;
      scores.push({
        logits: logits.subarray(at, at + this.labelsCount),
        probabilities: probabilities.subarray(at, at + this.labelsCount),
        embedding: embedding.subarray(b * embDim, (b + 1) * embDim),
      });
    }
    return scores;
  }
}
