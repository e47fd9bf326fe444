/** A fake voice detector: every complete 16 kHz frame is speech (0.9); counts what it did, and fails when told to. */
export class SpeechEverywhere {
  readonly sampleRate = 16000;
  readonly frameSamples = 512;
  processed = 0;
  resets = 0;
  failing = false;
  async process(samples: Float32Array): Promise<Float32Array> {
    if (this.failing) throw new Error('voice detector down');
    this.processed += samples.length;
    return new Float32Array(Math.floor(samples.length / this.frameSamples)).fill(0.9);
  }
  reset(): void {
    this.resets++;
  }
}
