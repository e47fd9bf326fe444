/** Decode any supported audio file and bring it to a model's sample rate (mono). */
import { DETECTION_RESAMPLING, resample } from '../../dsp/resample.js';
import { decodeAudioFile, type DecodedAudio, type DecodeFileOptions } from './decode-file.js';

export interface ModelRateAudio {
  /** Mono samples at `sampleRate`. */
  samples: Float32Array;
  sampleRate: number;
  /** The decoded source (original rate, channels, decoder, warnings). */
  source: Omit<DecodedAudio, 'channelData' | 'mono'>;
}

export async function loadAudioAtRate(file: string, sampleRate: number, options?: DecodeFileOptions): Promise<ModelRateAudio> {
  const decoded = await decodeAudioFile(file, options);
  const samples = decoded.sampleRate === sampleRate ? decoded.mono : resample(decoded.mono, decoded.sampleRate, sampleRate, DETECTION_RESAMPLING);
  const { channelData: _c, mono: _m, ...source } = decoded;
  return { samples, sampleRate, source };
}

/** Mono samples of `file` at `sampleRate` (throws the typed errors of decodeAudioFile). */
export async function loadModelRateAudio(file: string, sampleRate: number, options?: DecodeFileOptions): Promise<Float32Array> {
  return (await loadAudioAtRate(file, sampleRate, options)).samples;
}
