/**
 * L2-regularised, weighted logistic regression by full-batch Adam: a few hundred features and a
 * few thousand rows train in about a second on one core, deterministically (no randomness at
 * all: zero start, fixed steps), so the same rows always give the same head. Written here rather
 * than taken from npm: the maintained JS ML packages either lack sample weights and L2 or pull in
 * a matrix library many times this size.
 */

/** Default weight decay: chosen by leave-one-site-out validation on the development corpus (README). */
export const DEFAULT_L2 = 10;

export interface LogisticOptions {
  /** L2 strength on the weights (not the bias), per unit of total sample weight. */
  l2?: number;
  epochs?: number;
  learningRate?: number;
  /** Per-feature multiplier of the L2 strength (0: unpenalised, e.g. the class map's own score). */
  penalty?: Float32Array;
}

export interface LogisticModel {
  weights: Float32Array;
  bias: number;
}

/**
 * Fits `y ≈ sigmoid(w·x + b)`. `x` is row-major rows × dims (already normalised), `y` 0/1,
 * `sampleWeight` ≥ 0 per row (balance classes with it).
 */
export function fitLogistic(x: Float32Array, dims: number, y: Uint8Array, sampleWeight: Float32Array, opts: LogisticOptions = {}): LogisticModel {
  const rows = y.length;
  if (x.length !== rows * dims) throw new RangeError(`fitLogistic: ${x.length} values for ${rows} rows × ${dims} features`);
  const l2 = opts.l2 ?? DEFAULT_L2;
  const epochs = opts.epochs ?? 300;
  const lr = opts.learningRate ?? 0.05;
  const beta1 = 0.9;
  const beta2 = 0.999;
  const w = new Float64Array(dims);
  const m = new Float64Array(dims + 1);
  const v = new Float64Array(dims + 1);
  const grad = new Float64Array(dims + 1);
  let b = 0;
  let total = 0;
  for (let r = 0; r < rows; r++) total += sampleWeight[r]!;
  if (total <= 0) throw new RangeError('fitLogistic: no sample weight');

  for (let epoch = 1; epoch <= epochs; epoch++) {
    grad.fill(0);
    for (let r = 0; r < rows; r++) {
      const sw = sampleWeight[r]!;
      if (sw === 0) continue;
      const base = r * dims;
      let z = b;
      for (let j = 0; j < dims; j++) z += w[j]! * x[base + j]!;
      const p = 1 / (1 + Math.exp(-z));
      const g = (sw * (p - y[r]!)) / total;
      for (let j = 0; j < dims; j++) grad[j]! += g * x[base + j]!;
      grad[dims]! += g;
    }
    for (let j = 0; j < dims; j++) grad[j]! += l2 * (opts.penalty?.[j] ?? 1) * w[j]!;
    const c1 = 1 - beta1 ** epoch;
    const c2 = 1 - beta2 ** epoch;
    for (let j = 0; j <= dims; j++) {
      m[j] = beta1 * m[j]! + (1 - beta1) * grad[j]!;
      v[j] = beta2 * v[j]! + (1 - beta2) * grad[j]! * grad[j]!;
      const step = (lr * (m[j]! / c1)) / (Math.sqrt(v[j]! / c2) + 1e-8);
      if (j < dims) w[j]! -= step;
      else b -= step;
    }
  }
  return { weights: Float32Array.from(w), bias: b };
}

/** w·x + b for one row. */
export function logisticLogit(model: LogisticModel, x: Float32Array, offset = 0): number {
  let z = model.bias;
  const w = model.weights;
  for (let j = 0; j < w.length; j++) z += w[j]! * x[offset + j]!;
  return z;
}
