/**
 * Whether the system clock is synchronised (field devices often boot without network time):
 * `timedatectl show -p NTPSynchronized --value`, else `chronyc tracking`; false when neither says yes.
 */
import { spawnSync } from 'node:child_process';

export function checkClockSynced(): boolean {
  try {
    const t = spawnSync('timedatectl', ['show', '-p', 'NTPSynchronized', '--value'], { encoding: 'utf8', timeout: 2000 });
    if (t.status === 0) return t.stdout.trim() === 'yes';
    const c = spawnSync('chronyc', ['-n', 'tracking'], { encoding: 'utf8', timeout: 2000 });
    if (c.status === 0) return /Leap status\s*:\s*Normal/.test(c.stdout);
  } catch {
    /* neither tool: not known to be synced */
  }
  return false;
}
