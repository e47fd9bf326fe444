/** Keys of the `state` table. */
import type { LossKind } from './types.js';

export const StateKey = {
  /** The last `seq` given to an event on this device. */
  seq: 'seq',
  /** ISO time of the last broker acknowledgement. */
  lastSyncAt: 'lastSyncAt',
  /** JSON RecoveryInfo of the last corruption recovery. */
  recovery: 'recovery',
  /** JSON of the last prune report. */
  lastPrune: 'lastPrune',
  loss: (kind: LossKind) => `loss.${kind}`,
} as const;

/** After a recovery that lost the seq counter, the next seq jumps this far past the highest one salvaged, so it never repeats one already sent. */
export const SEQ_GAP_AFTER_LOSS = 1000;
