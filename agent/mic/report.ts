/** What `earshot mic test` prints: the live meter line, the summary, and advice a technician can act on. */
import type { BlockLevel, LevelSummary } from '../../dsp/level.js';

const BAR = 30;

/** One line, redrawn in place on a terminal: the latest block's level as a bar from -90 to 0 dBFS. */
export function meterLine(block: BlockLevel, total: LevelSummary, heardSec: number, seconds: number): string {
  const filled = Math.max(0, Math.min(BAR, Math.round(((block.rmsDbfs + 90) / 90) * BAR)));
  const bar = `${'#'.repeat(filled)}${'.'.repeat(BAR - filled)}`;
  return (
    `${heardSec.toFixed(1).padStart(5)}/${seconds} s [${bar}] ${block.rmsDbfs.toFixed(1).padStart(6)} dBFS  peak ${block.peakDbfs.toFixed(1).padStart(6)}` +
    `  clipped ${total.clipped}  DC ${(total.dcOffset * 100).toFixed(2)} %  floor ${total.noiseFloorDbfs.toFixed(1)}`
  );
}

/** Advice lines: empty when the input looks healthy. */
export function advice(l: LevelSummary): string[] {
  const out: string[] = [];
  if (l.peakDbfs <= -90) out.push('silent: the recorder delivered (near) digital silence; is the microphone muted or another device? (alsamixer, arecord -l, audio.device)');
  if (l.clipped > 0) out.push(`clipping: ${l.clipped} samples at full scale; lower the capture gain (alsamixer) or move the microphone away from the source`);
  if (Math.abs(l.dcOffset) > 0.01) out.push(`DC offset ${(l.dcOffset * 100).toFixed(1)} % of full scale: a faulty microphone, cable or preamp; headroom is lost`);
  if (l.noiseFloorDbfs > -40 && l.peakDbfs > -90) out.push(`noisy: the quietest moments are at ${l.noiseFloorDbfs.toFixed(1)} dBFS (wind on the capsule, hum, a fan?); distant sounds will be masked`);
  return out;
}

export function summaryText(o: { source: string; sampleRate: number; heardSec: number; level: LevelSummary; endedEarly?: string }): string {
  const l = o.level;
  const lines = [
    `source       ${o.source} (${o.sampleRate} Hz)`,
    `recorded     ${o.heardSec.toFixed(1)} s${o.endedEarly ? ` (the source ended early: ${o.endedEarly})` : ''}`,
    `level        ${l.rmsDbfs.toFixed(1)} dBFS RMS`,
    `peak         ${l.peakDbfs.toFixed(1)} dBFS`,
    `clipped      ${l.clipped} samples`,
    `DC offset    ${(l.dcOffset * 100).toFixed(2)} % of full scale`,
    `noise floor  ${l.noiseFloorDbfs.toFixed(1)} dBFS (quietest 10 % of 100 ms blocks)`,
  ];
  const tips = advice(l);
  lines.push(...(tips.length ? tips.map((t) => `warning      ${t}`) : ['verdict      ok: the microphone delivers a usable signal']));
  return `${lines.join('\n')}\n`;
}
