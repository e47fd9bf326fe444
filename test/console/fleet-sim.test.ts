/**
 * The fleet benchmark's own correctness (scripts/bench-fleet.ts, `npm run bench:fleet`): a small
 * fleet through a real Mosquitto into a real console process, every id counted end to end. Only
 * counts are asserted (timings belong to the benchmark's printout). Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { NODE_MEMORY_FLAGS } from '../../agent/node-memory.js';

const REPO = path.resolve(import.meta.dirname, '..', '..');
const SCRIPT = path.join(REPO, 'build', 'scripts', 'bench-fleet.js');

describe('bench:fleet simulator', () => {
  it('20 devices: every published id and rev reaches /api/alerts and the stream, the Last Will marks cut devices offline, clips come from a real device', () => {
    expect(fs.existsSync(SCRIPT), `${SCRIPT} missing: run npm run build`).toBe(true);
    const args = ['--devices', '20', '--events-per-device', '3', '--paced', '20', '--rate', '200', '--clip-devices', '1', '--drop', '3', '--serve-seconds', '1', '--streams', '1', '--json'];
    const r = spawnSync(process.execPath, [SCRIPT, ...args], { encoding: 'utf8', timeout: 120_000 });
    expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    const json = JSON.parse(r.stdout.trim().split('\n').find((l) => l.startsWith('{'))!) as Record<string, unknown> & { clips: { n: number } };
    // 20 × 3 burst detections + 20 paced ones; each a separate id.
    expect(json.ids).toBe(80);
    expect(json.stored).toBe(80);
    // Threats are published twice (rev 1 open, rev 2 closed): more messages than ids.
    expect(json.published as number).toBeGreaterThan(80);
    expect(json).toMatchObject({ missingApi: 0, wrongRev: 0, missingStream: 0, dropped: 3, offline: 3 });
    expect(json.clips.n).toBe(2);
    // The console is measured as `earshot console` runs it.
    expect(json.consoleStart).toBe(`MALLOC_MMAP_THRESHOLD_=131072 node ${NODE_MEMORY_FLAGS.join(' ')}`);
  }, 150_000);
});
