/** Deterministic PRNG (mulberry32) so a failing randomised test reproduces: the one dsp/ uses. */
export { rng } from '../../dsp/random.js';
