/**
 * Spectrogram pictures of clips, for `GET /api/alerts/:id/spectrogram.png`: the clip decoded
 * (WAV in-process, FLAC through sox/ffmpeg) and drawn by agent/render/spectrogram-png.ts with the
 * event's span marked. The last few pictures are kept in memory by the clip's sha256 (a page
 * asks again on every view; device mode may not write to its data folder).
 */
import { decodeAudioFile } from '../audio/decode-file.js';
import { eventSpanInClip } from '../render/clip-span.js';
import { renderSpectrogramPng } from '../render/spectrogram-png.js';
import type { ClipFile } from './clip-cache.js';
import type { Alert } from './types.js';

export class SpectrogramCache {
  private readonly pictures = new Map<string, Buffer>();
  private readonly rendering = new Map<string, Promise<Buffer>>();

  constructor(private readonly capacity = 32) {}

  /** The PNG of `alert`'s clip, whose file is `clip`. */
  async png(alert: Alert, clip: ClipFile, preSec: number): Promise<Buffer> {
    const key = `${alert.clip?.sha256 ?? clip.file}:${alert.start}:${alert.end}`;
    const kept = this.pictures.get(key);
    if (kept) {
      this.pictures.delete(key);
      this.pictures.set(key, kept);
      return kept;
    }
    let p = this.rendering.get(key);
    if (!p) {
      p = this.render(alert, clip, preSec).finally(() => this.rendering.delete(key));
      this.rendering.set(key, p);
    }
    const png = await p;
    this.pictures.set(key, png);
    if (this.pictures.size > this.capacity) this.pictures.delete(this.pictures.keys().next().value!);
    return png;
  }

  private async render(alert: Alert, clip: ClipFile, preSec: number): Promise<Buffer> {
    const audio = await decodeAudioFile(clip.file);
    const span = eventSpanInClip(alert, audio.durationSec, preSec);
    return renderSpectrogramPng(audio.mono, audio.sampleRate, { span });
  }
}
