/** Which labels keep audio clips (`detection.labels.<label>.keepClips`). */
import type { Config } from '../../config/schema.js';

/** Labels whose clips are off unless configured on: people talking are recorded only by choice. */
export const PRIVATE_LABELS: ReadonlySet<string> = new Set(['human_voice']);

export type KeepClipPolicy = (label: string) => boolean;

export function keepClipPolicy(labels: Config['detection']['labels']): KeepClipPolicy {
  return (label) => labels[label]?.keepClips ?? !PRIVATE_LABELS.has(label);
}
