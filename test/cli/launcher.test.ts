import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LONG_RUNNING_COMMANDS, NODE_MEMORY_ENV, NODE_MEMORY_FLAGS } from '../../agent/node-memory.js';
import { repoRoot } from '../helpers/paths.js';

describe('scripts/earshot, the launcher', () => {
  // A stand-in `node` first on PATH prints what the launcher passed to it.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'earshot-launcher-'));
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));
  fs.writeFileSync(path.join(dir, 'node'), '#!/bin/sh\necho "MALLOC_MMAP_THRESHOLD_=${MALLOC_MMAP_THRESHOLD_:-unset}"\nfor a in "$@"; do echo "$a"; done\n', { mode: 0o755 });
  const launcher = path.join(repoRoot, 'scripts', 'earshot');
  const launch = (args: string[], env: NodeJS.ProcessEnv = {}, bin = launcher) => {
    const r = spawnSync(bin, args, { env: { PATH: `${dir}:/usr/bin:/bin`, ...env }, encoding: 'utf8' });
    return r.stdout.trim().split('\n');
  };
  const cli = `${repoRoot}/scripts/../build/agent/cli.js`;

  it('starts `earshot run` and `earshot console` with the memory settings of the systemd unit', () => {
    expect(LONG_RUNNING_COMMANDS).toEqual(['run', 'console']);
    for (const command of LONG_RUNNING_COMMANDS) {
      const [threshold, ...argv] = launch(['-c', 'run', command, '--log-level', 'debug']);
      expect(threshold).toBe(Object.entries(NODE_MEMORY_ENV).map(([k, v]) => `${k}=${v}`).join(' '));
      expect(argv).toEqual([...NODE_MEMORY_FLAGS, cli, '-c', 'run', command, '--log-level', 'debug']);
    }
  });
  it('keeps a threshold the user set', () => {
    expect(launch(['run'], { MALLOC_MMAP_THRESHOLD_: '65536' })[0]).toBe('MALLOC_MMAP_THRESHOLD_=65536');
  });
  it('runs every other command as plain `node cli.js`', () => {
    expect(launch(['--config', 'site.yaml', 'analyze', 'run'])).toEqual(['MALLOC_MMAP_THRESHOLD_=unset', cli, '--config', 'site.yaml', 'analyze', 'run']);
    expect(launch(['events', 'console'])).toEqual(['MALLOC_MMAP_THRESHOLD_=unset', cli, 'events', 'console']);
    expect(launch(['--version'])).toEqual(['MALLOC_MMAP_THRESHOLD_=unset', cli, '--version']);
  });
  it('finds the CLI through a symlink (npm install -g links the bin) and runs it with the real node', () => {
    const link = path.join(dir, 'earshot');
    fs.symlinkSync(launcher, link);
    expect(launch(['--version'], {}, link)).toEqual(['MALLOC_MMAP_THRESHOLD_=unset', cli, '--version']);
    const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { version: string };
    const real = spawnSync(link, ['--version'], { env: { PATH: `${path.dirname(process.execPath)}:/usr/bin:/bin` }, encoding: 'utf8' });
    expect(real.stdout.trim()).toBe(pkg.version);
  });
});
