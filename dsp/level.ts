/**
 * A level meter for 16-bit PCM (`earshot mic test`): RMS level, peak, clipped samples, DC offset
 * and the noise floor, over everything pushed and over the latest block.
 *
 * Conventions: dBFS is relative to a full-scale square wave (RMS 1.0), as the agent's
 * `soundLevelDbfs` in health, so a full-scale sine reads -3.01 dBFS RMS and 0 dBFS peak. A sample
 * is clipped when it is at either end of the int16 range (-32768 or 32767): a converter driven
 * past full scale flattens there. The DC offset is the mean sample as a share of full scale
 * (a healthy microphone input reads within ±1 %). The noise floor is the level of the quietest
 * 10 % of `blockSec` blocks (a percentile, so a clap or a shot does not move it), taken from a
 * histogram of block levels in 0.5 dB steps: no allocation per block.
 */

const FULL_SCALE = 32768;
/** Level of digital silence (a floor for log10 of 0). */
export const SILENCE_DBFS = -120;
const BIN_DB = 0.5;
const BINS = Math.round(-SILENCE_DBFS / BIN_DB) + 1;

export interface LevelSummary {
  /** Samples measured. */
  samples: number;
  /** RMS level over all samples (DC included), dBFS. */
  rmsDbfs: number;
  /** Largest |sample|, dBFS. */
  peakDbfs: number;
  /** Samples at -32768 or 32767. */
  clipped: number;
  /** Mean sample / full scale, -1..1. */
  dcOffset: number;
  /** Level of the quietest 10 % of blocks, dBFS (the RMS level while there are fewer than 10 blocks). */
  noiseFloorDbfs: number;
}

export interface BlockLevel {
  rmsDbfs: number;
  peakDbfs: number;
}

export interface LevelMeter {
  push(samples: Int16Array): void;
  /** The latest complete block (undefined before the first). */
  readonly block: BlockLevel | undefined;
  summary(): LevelSummary;
}

export function toDbfs(amplitudeRatio: number): number {
  return amplitudeRatio > 0 ? Math.max(SILENCE_DBFS, 20 * Math.log10(amplitudeRatio)) : SILENCE_DBFS;
}

const round = (x: number, digits = 2) => Math.round(x * 10 ** digits) / 10 ** digits;

export function createLevelMeter(opts: { sampleRate: number; blockSec?: number; floorPercentile?: number }): LevelMeter {
  const blockLen = Math.max(1, Math.round(opts.sampleRate * (opts.blockSec ?? 0.1)));
  const percentile = opts.floorPercentile ?? 0.1;
  const histogram = new Uint32Array(BINS);
  let blocks = 0;
  let n = 0;
  let sum = 0;
  let sumSq = 0;
  let peak = 0;
  let clipped = 0;
  let blockN = 0;
  let blockSumSq = 0;
  let blockPeak = 0;
  let last: BlockLevel | undefined;

  const endBlock = () => {
    const rms = toDbfs(Math.sqrt(blockSumSq / blockN) / FULL_SCALE);
    last = { rmsDbfs: round(rms), peakDbfs: round(toDbfs(blockPeak / FULL_SCALE)) };
    histogram[Math.min(BINS - 1, Math.max(0, Math.round((rms - SILENCE_DBFS) / BIN_DB)))]!++;
    blocks++;
    blockN = 0;
    blockSumSq = 0;
    blockPeak = 0;
  };

  return {
    push(samples) {
      for (let i = 0; i < samples.length; i++) {
        const s = samples[i]!;
        const a = s < 0 ? -s : s;
        sum += s;
        sumSq += s * s;
        blockSumSq += s * s;
        if (a > peak) peak = a;
        if (a > blockPeak) blockPeak = a;
        if (s === 32767 || s === -32768) clipped++;
        if (++blockN === blockLen) endBlock();
      }
      n += samples.length;
    },
    get block() {
      return last;
    },
    summary() {
      const rmsDbfs = n ? toDbfs(Math.sqrt(sumSq / n) / FULL_SCALE) : SILENCE_DBFS;
      let noiseFloorDbfs = rmsDbfs;
      if (blocks >= 10) {
        const want = Math.max(1, Math.ceil(blocks * percentile));
        let seen = 0;
        for (let b = 0; b < BINS; b++) {
          seen += histogram[b]!;
          if (seen >= want) {
            noiseFloorDbfs = SILENCE_DBFS + b * BIN_DB;
            break;
          }
        }
      }
      return {
        samples: n,
        rmsDbfs: round(rmsDbfs),
        peakDbfs: round(toDbfs(peak / FULL_SCALE)),
        clipped,
        dcOffset: n ? round(sum / n / FULL_SCALE, 5) : 0,
        noiseFloorDbfs: round(noiseFloorDbfs),
      };
    },
  };
}
