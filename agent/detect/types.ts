/**
 * Interfaces of the detectors, so the agent and tests can swap an ONNX model for a fake.
 */

/** A batch of log-mel windows, row-major `[batch][nMels][frames]` (same frames for each). */
export interface MelBatch {
  data: Float32Array;
  batch: number;
  frames: number;
}

/** What a tagger says about one window. Arrays are views into per-call buffers: keep or copy. */
export interface TaggerWindowScores {
  /** Raw model outputs, one per label. */
  logits: Float32Array;
  /** sigmoid(logits): independent per-label probabilities (multi-label). */
  probabilities: Float32Array;
  /** The pooled embedding (384 values for mn04), input for custom heads. */
  embedding: Float32Array;
}

/** An audio tagger: log-mel windows in, per-label probabilities and an embedding out. */
export interface Tagger {
  /** Mel bands the model expects (the middle dimension of a MelBatch). */
  readonly nMels: number;
  readonly labelsCount: number;
  /** Loads the model; call once before `score`. */
  open(): Promise<void>;
  /** Scores a batch. Calls are serialised: one inference in flight per model. */
  score(batch: MelBatch): Promise<TaggerWindowScores[]>;
  /** Releases the model; `score` fails afterwards. */
  close(): Promise<void>;
}

/** Speech probability of audio frames (Silero VAD). */
export interface VoiceDetector {
  /** Model rate, Hz (16000 for Silero). */
  readonly sampleRate: number;
  /** Samples per frame at the model rate (512 for Silero: 32 ms). */
  readonly frameSamples: number;
  open(): Promise<void>;
  /** Speech probability per complete frame in `samples`, state carried across calls. */
  process(samples: Float32Array): Promise<Float32Array>;
  /** Forgets the recurrent state and buffered samples (a new stream). */
  reset(): void;
  close(): Promise<void>;
}
