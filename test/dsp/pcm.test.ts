import { describe, expect, it } from 'vitest';
import { float32ToInt16, int16ToFloat32 } from '../../dsp/pcm.js';

describe('PCM conversion', () => {
  it('int16 → float is x/32768 and round-trips exactly', () => {
    const src = Int16Array.from([-32768, -1, 0, 1, 12345, 32767]);
    const f = int16ToFloat32(src);
    expect([...f]).toEqual([...src].map((v) => v / 32768));
    expect([...float32ToInt16(f)]).toEqual([...src]);
  });

  it('float → int16 clips out-of-range values and honours out buffers', () => {
    const out = new Int16Array(8);
    const r = float32ToInt16([1.5, -2, 0.5], out);
    expect([...r]).toEqual([32767, -32768, 16384]);
    expect(r.buffer).toBe(out.buffer);
    expect(() => int16ToFloat32(new Int16Array(4), new Float32Array(2))).toThrow(RangeError);
  });
});
