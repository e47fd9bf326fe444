/**
 * The capture-side front end: PCM chunks at the device's rate in, log-mel frames out.
 * int16 → float (x/32768), streaming resampler to the model rate, streaming log-mel. Every
 * stage is chunking-invariant, so the frames equal melspec(resample(whole recording)).
 */
import type { FrontendParams } from './frontend-params.js';
import { createMelFrontend, type FrameSink, type MelFrontend } from './melspec.js';
import { createResampler, type Resampler, type ResamplerOptions } from './resample.js';

export interface StreamingFrontend {
  readonly inputRate: number;
  readonly mel: MelFrontend;
  /** Feed mono PCM (int16 or float in [-1, 1)) at inputRate; frames go to `sink` as they complete. */
  push(samples: Int16Array | Float32Array, sink: FrameSink): number;
  /** End of the recording: the remaining frames. Then ready for a new one. */
  flush(sink: FrameSink): number;
  reset(): void;
}

export function createStreamingFrontend(
  params: Readonly<FrontendParams>,
  inputRate: number,
  options: { resampler?: ResamplerOptions; mel?: MelFrontend } = {},
): StreamingFrontend {
  const mel = options.mel ?? createMelFrontend(params);
  const stream = mel.createStream();
  const resampler: Resampler = createResampler(inputRate, params.sampleRate, options.resampler);
  let scratch = new Float32Array(4096);
  let resampled = new Float32Array(4096);

  function toFloat(samples: Int16Array | Float32Array): Float32Array {
    if (samples instanceof Float32Array) return samples;
    if (scratch.length < samples.length) scratch = new Float32Array(samples.length);
    for (let i = 0; i < samples.length; i++) scratch[i] = samples[i] / 32768;
    return scratch.subarray(0, samples.length);
  }

  function room(n: number): Float32Array {
    if (resampled.length < n) resampled = new Float32Array(n);
    return resampled;
  }

  return {
    inputRate,
    mel,
    push(samples, sink) {
      const x = toFloat(samples);
      const y = resampler.push(x, room(resampler.maxOutput(x.length)));
      return stream.push(y, sink);
    },
    flush(sink) {
      const y = resampler.flush(); // once per recording: allocating here is fine
      return stream.push(y, sink) + stream.flush(sink);
    },
    reset() {
      resampler.reset();
      stream.reset();
    },
  };
}
