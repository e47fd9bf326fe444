/**
 * The capture-side front end: float samples at the device's rate in, model-rate samples and
 * log-mel frames out: a streaming resampler to the model rate, then the streaming log-mel.
 * Every stage is chunking-invariant, so the frames equal melspec(resample(whole recording)).
 */
import type { FrontendParams } from './frontend-params.js';
import { createMelFrontend, type FrameSink, type MelFrontend } from './melspec.js';
import { createResampler, type ResamplerOptions } from './resample.js';

export interface FrontendSink {
  /** Model-rate samples as they leave the resampler, before the frames they complete; a view reused after the call. */
  samples?: (samples: Float32Array) => void;
  frame: FrameSink;
}

export interface StreamingFrontend {
  readonly inputRate: number;
  readonly mel: MelFrontend;
  /** Feeds mono samples in [-1, 1] at inputRate; returns the frames completed. */
  push(samples: Float32Array, sink: FrontendSink): number;
  /** End of the recording: the remaining samples and frames. Then ready for a new one. */
  flush(sink: FrontendSink): number;
}

export function createStreamingFrontend(
  params: Readonly<FrontendParams>,
  inputRate: number,
  options: { resampler?: ResamplerOptions; mel?: MelFrontend } = {},
): StreamingFrontend {
  const mel = options.mel ?? createMelFrontend(params);
  const stream = mel.createStream();
  const resampler = createResampler(inputRate, params.sampleRate, options.resampler);
  let resampled = new Float32Array(4096);

  function emit(y: Float32Array, sink: FrontendSink): number {
    if (y.length === 0) return 0;
    sink.samples?.(y);
    return stream.push(y, sink.frame);
  }

  return {
    inputRate,
    mel,
    push(samples, sink) {
      const room = resampler.maxOutput(samples.length);
      if (resampled.length < room) resampled = new Float32Array(room);
      return emit(resampler.push(samples, resampled), sink);
    },
    flush(sink) {
      // Both stages reset themselves when flushed. Once per recording: allocating here is fine.
      return emit(resampler.flush(), sink) + stream.flush(sink.frame);
    },
  };
}
