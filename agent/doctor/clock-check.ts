/** Whether the clock is synchronised: a warning only (`run` starts and marks events clockSynced false). */
import { checkClockSynced } from '../system/clock-sync.js';
import { pass, warn, type Check } from './check.js';

export function clockCheck(deps: { synced?: () => boolean } = {}): Check {
  const synced = deps.synced ?? checkClockSynced;
  return {
    name: 'clock',
    // checkClockSynced bounds its two probes at 2 s each.
    limitMs: 5000,
    run: () => Promise.resolve(synced() ? pass('synchronised (NTP)') : warn('not known to be synchronised: events carry clockSynced false until it is')),
  };
}
