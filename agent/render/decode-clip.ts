/**
 * Mono samples of a clip whose bytes are already in memory (read and checked by sha256): a WAV is
 * parsed from those very bytes; anything else (FLAC) goes through sox/ffmpeg from its file.
 */
import { decodeAudioFile } from '../audio/decode-file.js';
import { decodeWav } from '../../dsp/wav.js';

function isWav(b: Uint8Array): boolean {
  const tag = (from: number) => String.fromCharCode(...b.subarray(from, from + 4));
  return b.length >= 12 && (tag(0) === 'RIFF' || tag(0) === 'RF64') && tag(8) === 'WAVE';
}

export async function decodeClip(data: Uint8Array, file: string): Promise<{ samples: Float32Array; sampleRate: number }> {
  if (isWav(data)) {
    const wav = decodeWav(data, { name: file });
    return { samples: wav.mono, sampleRate: wav.sampleRate };
  }
  const audio = await decodeAudioFile(file);
  return { samples: audio.mono, sampleRate: audio.sampleRate };
}
