/**
 * The parameters of a log-mel front end. A model manifest carries one of these objects (it
 * is plain JSON), so the numbers a model was trained with live beside the model, not in code.
 */
export interface FrontendParams {
  /** Rate the model expects, Hz. Audio is resampled to it before the front end. */
  sampleRate: number;
  /** FFT size (power of two). */
  nFft: number;
  /** Window length, ≤ nFft; the window is zero-padded to nFft, centred. */
  winLength: number;
  /** Hop between frames, samples. */
  hop: number;
  nMels: number;
  fMin: number;
  fMax: number;
  /** Pre-emphasis y[n] = x[n+1] - k·x[n] (a valid convolution: one sample shorter); 0 disables it. */
  preEmphasis: number;
  /** log(mel + logOffset). */
  logOffset: number;
  /** Applied after the log: (x + add) / divide. */
  normalize: { add: number; divide: number };
  /** `hann-symmetric` = numpy.hanning = torch.hann_window(periodic=False). */
  window: 'hann-symmetric' | 'hann-periodic';
  /** Centred frames pad nFft/2 on both sides (torch.stft center=True). */
  center: boolean;
  padMode: 'reflect';
  /** Triangular filters in the mel domain, mel(f) = 1127 ln(1 + f/700), over nFft/2 bins (Kaldi). */
  melScale: 'kaldi';
  /** Spectrum fed to the filters. */
  power: 2;
}

/**
 * EfficientAT `AugmentMelSTFT` in eval mode, the front end mn04_as was trained with
 * (../shared/models/efficientat-mn04/README.md).
 */
export const MN04_FRONTEND: Readonly<FrontendParams> = Object.freeze({
  sampleRate: 32000,
  nFft: 1024,
  winLength: 800,
  hop: 320,
  nMels: 128,
  fMin: 0,
  fMax: 15000,
  preEmphasis: 0.97,
  logOffset: 1e-5,
  normalize: Object.freeze({ add: 4.5, divide: 5 }),
  window: 'hann-symmetric',
  center: true,
  padMode: 'reflect',
  melScale: 'kaldi',
  power: 2,
} as const);

/** Problems with a parameter object, one line each; empty when usable. */
export function frontendParamProblems(p: FrontendParams): string[] {
  const problems: string[] = [];
  const posInt = (name: string, v: number): void => {
    if (!Number.isInteger(v) || v <= 0) problems.push(`${name} must be a positive integer (got ${v})`);
  };
  posInt('sampleRate', p.sampleRate);
  posInt('nFft', p.nFft);
  posInt('winLength', p.winLength);
  posInt('hop', p.hop);
  posInt('nMels', p.nMels);
  if (Number.isInteger(p.nFft) && (p.nFft < 4 || (p.nFft & (p.nFft - 1)) !== 0)) {
    problems.push(`nFft must be a power of two ≥ 4 (got ${p.nFft})`);
  }
  if (p.winLength > p.nFft) problems.push(`winLength (${p.winLength}) must not exceed nFft (${p.nFft})`);
  if (!(p.fMin >= 0) || !(p.fMax > p.fMin) || p.fMax > p.sampleRate / 2) {
    problems.push(`need 0 ≤ fMin < fMax ≤ sampleRate/2 (got fMin ${p.fMin}, fMax ${p.fMax})`);
  }
  if (!(p.logOffset > 0)) problems.push(`logOffset must be > 0 (got ${p.logOffset})`);
  if (!(p.normalize.divide !== 0 && Number.isFinite(p.normalize.divide))) problems.push('normalize.divide must be non-zero');
  if (!Number.isFinite(p.preEmphasis)) problems.push('preEmphasis must be a number');
  if (p.window !== 'hann-symmetric' && p.window !== 'hann-periodic') problems.push(`unknown window "${String(p.window)}"`);
  if (p.center !== true) problems.push('only centred frames (center: true) are implemented');
  if (p.padMode !== 'reflect') problems.push(`unknown padMode "${String(p.padMode)}"`);
  if (p.melScale !== 'kaldi') problems.push(`unknown melScale "${String(p.melScale)}"`);
  if (p.power !== 2) problems.push('only the power spectrum (power: 2) is implemented');
  return problems;
}
