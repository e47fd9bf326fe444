/** Window functions and the Bessel function the Kaiser window needs. */

/**
 * Hann window. `symmetric` = numpy.hanning(n) = torch.hann_window(n, periodic=False)
 * (first and last samples are 0); periodic = the first n points of a symmetric n+1 window.
 */
export function hann(n: number, symmetric: boolean, out = new Float64Array(n)): Float64Array {
  const denom = symmetric ? n - 1 : n;
  if (n === 1) {
    out[0] = 1;
    return out;
  }
  for (let i = 0; i < n; i++) out[i] = 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / denom);
  return out;
}

/** Modified Bessel function of the first kind, order 0 (power series; converges for all x). */
export function besselI0(x: number): number {
  const q = (x * x) / 4;
  let term = 1;
  let sum = 1;
  for (let k = 1; k < 500; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

/** Kaiser window value at relative position r ∈ [-1, 1] (0 outside). */
export function kaiserAt(r: number, beta: number): number {
  if (r < -1 || r > 1) return 0;
  return besselI0(beta * Math.sqrt(1 - r * r)) / besselI0(beta);
}

/** Kaiser's β for a stopband attenuation of `db` decibels (Kaiser 1974 / Oppenheim & Schafer). */
export function kaiserBeta(db: number): number {
  if (db > 50) return 0.1102 * (db - 8.7);
  if (db >= 21) return 0.5842 * Math.pow(db - 21, 0.4) + 0.07886 * (db - 21);
  return 0;
}
