/**
 * meyda, typed and imported the same way under every module setting. meyda ships CommonJS
 * (`module.exports = Meyda`) with ES-style typings (`export default Meyda`): under NodeNext
 * the default import is the Meyda object at run time, while TypeScript types it as the
 * module namespace. Accept both shapes.
 */
import meydaModule from 'meyda';

export type MeydaApi = typeof meydaModule.default;
export type { MeydaAudioFeature, MeydaFeaturesObject } from 'meyda';

const candidate = meydaModule as unknown as { default?: MeydaApi } & Partial<MeydaApi>;
export const Meyda: MeydaApi = typeof candidate.extract === 'function' ? (candidate as MeydaApi) : (candidate.default as MeydaApi);

/**
 * meyda keeps its settings on one shared object; set them right before each (synchronous)
 * extract call so different users cannot see each other's settings.
 */
export function meydaExtract<F extends Parameters<MeydaApi['extract']>[0]>(
  features: F,
  signal: Float32Array,
  settings: { sampleRate: number; windowingFunction: 'hanning' | 'rect' | 'blackman' | 'hamming' | 'sine' },
): ReturnType<MeydaApi['extract']> {
  Meyda.bufferSize = signal.length;
  Meyda.sampleRate = settings.sampleRate;
  Meyda.windowingFunction = settings.windowingFunction;
  return Meyda.extract(features, signal);
}
