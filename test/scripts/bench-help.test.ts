/**
 * The benchmark scripts answer `--help` with their options and run nothing (asking a benchmark
 * for help used to start it). Needs `npm run build`.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/paths.js';

const benches: [script: string, options: string[]][] = [
  ['bench-live', ['--seconds N', '--plain']],
  ['bench-sync', ['--events N', '--url URL']],
  ['bench-dsp', ['--reps N', '--json']],
  ['bench-fleet', ['--devices N', '--preload N']],
];

describe('benchmark --help', () => {
  for (const [script, options] of benches) {
    it(`${script} --help prints its options and exits 0 without measuring`, () => {
      // A run would outlast the time-out (killed: status null) and print its figures after the usage.
      const r = spawnSync(process.execPath, [path.join(repoRoot, 'build', 'scripts', `${script}.js`), '--help'], { encoding: 'utf8', timeout: 30_000 });
      expect(r.status, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^npm run bench:${script.slice('bench-'.length)} -- \\[options\\]`));
      for (const o of options) expect(r.stdout).toContain(o);
      expect(r.stdout.trim().split('\n').every((line) => line === '' || line.startsWith('npm run') || line.startsWith('  --'))).toBe(true);
    });
  }
});
