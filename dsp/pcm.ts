/** PCM sample conversions. The front end, resampler and features take floats in [-1, 1). */

/** int16 → float (x / 32768, the scale the model was trained with). */
export function int16ToFloat32(src: Int16Array, out = new Float32Array(src.length)): Float32Array {
  if (out.length < src.length) throw new RangeError(`output holds ${out.length}, need ${src.length}`);
  for (let i = 0; i < src.length; i++) out[i] = src[i] / 32768;
  return out.length === src.length ? out : out.subarray(0, src.length);
}

/** float → int16 with rounding and clipping (clips, WAV export). */
export function float32ToInt16(src: ArrayLike<number>, out = new Int16Array(src.length)): Int16Array {
  if (out.length < src.length) throw new RangeError(`output holds ${out.length}, need ${src.length}`);
  for (let i = 0; i < src.length; i++) {
    const v = Math.round(src[i] * 32768);
    out[i] = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
  }
  return out.length === src.length ? out : out.subarray(0, src.length);
}
