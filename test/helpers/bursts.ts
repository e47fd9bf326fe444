/** Faint noise with loud bursts at 6–7 s and 24–24.5 s, as int16: windows with and without events. */
export function burstRecording(rate: number, seconds = 30): Int16Array {
  let seed = 7;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff) * 2 - 1;
  const out = new Int16Array(seconds * rate);
  for (let i = 0; i < out.length; i++) {
    const t = i / rate;
    const loud = (t >= 6 && t < 7) || (t >= 24 && t < 24.5);
    out[i] = Math.round(rnd() * (loud ? 20000 : 30));
  }
  return out;
}
