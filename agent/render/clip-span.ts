/**
 * Where an event lies inside its clip. The device cuts a clip from `storage.clipPreSec` before the
 * event's start to `storage.clipPostSec` after its end (agent/pipeline/event-recorder.ts); the
 * clip records neither offset, so the span is inferred: the pre-roll is taken as configured
 * unless the clip is too short to hold it and the whole event (the audio ring did not reach back
 * that far, or the stream ended), in which case the event is put as late as the clip allows.
 */
import type { Span } from '../../dsp/spectrogram-image.js';

export function eventSpanInClip(event: { start: string; end: string }, clipDurationSec: number, preSec: number): Span {
  const ms = Date.parse(event.end) - Date.parse(event.start);
  const lengthSec = Number.isFinite(ms) && ms > 0 ? ms / 1000 : 0;
  const total = Math.max(0, clipDurationSec);
  const startSec = Math.max(0, Math.min(Math.max(0, preSec), total - lengthSec));
  return { startSec, endSec: Math.min(total, startSec + lengthSec) };
}
