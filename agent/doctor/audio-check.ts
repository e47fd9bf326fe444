/**
 * Whether `run` will have audio: the recorder program and a capture device (alsa), the replay
 * file (file), or nothing to check (stdin). Programs run asynchronously and are killed when the
 * check's time limit fires, so a wedged `arecord -l` cannot hang the doctor.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { Config } from '../../config/schema.js';
import { recorderCommand } from '../capture/recorder-source.js';
import { ExitCode } from '../errors.js';
import { fail, pass, type Check, type Outcome } from './check.js';

export interface ProgramResult {
  code: number | null;
  stdout: string;
}

/** Runs a program to completion; never rejects (a program that cannot start has code null). */
export type RunProgram = (file: string, args: string[], signal: AbortSignal) => Promise<ProgramResult>;

export const runProgram: RunProgram = (file, args, signal) =>
  new Promise((resolve) => {
    execFile(file, args, { encoding: 'utf8', signal }, (err, stdout) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : null) : 0;
      resolve({ code, stdout: stdout ?? '' });
    });
  });

async function onPath(program: string, run: RunProgram, signal: AbortSignal): Promise<boolean> {
  if (program.includes('/')) return fs.existsSync(program);
  return (await run('/bin/sh', ['-c', `command -v ${JSON.stringify(program)}`], signal)).code === 0;
}

async function alsa(audio: Config['audio'], run: RunProgram, signal: AbortSignal): Promise<Outcome> {
  const cmd = recorderCommand(audio);
  const program = Array.isArray(cmd) ? cmd[0]! : cmd.trim().split(/\s+/)[0]!;
  if (!(await onPath(program, run, signal))) return fail(`${program} not found (Debian: sudo apt-get install ${program === 'sox' ? 'sox' : 'alsa-utils'})`);
  // A custom recorderCommand may read from anywhere: only its program can be checked.
  if (audio.recorderCommand) return pass(`${program} found (audio.recorderCommand)`);
  const list = await run('arecord', ['-l'], signal);
  const cards = list.stdout.split('\n').filter((x) => x.startsWith('card ')).length;
  if (cards === 0) return fail('no capture device (arecord -l lists none): is the USB microphone plugged in?');
  return pass(`${program} found; ${cards} capture device(s); using "${audio.device}"`);
}

export function audioCheck(audio: Config['audio'], deps: { run?: RunProgram; limitMs?: number } = {}): Check {
  const run = deps.run ?? runProgram;
  return {
    name: 'audio',
    limitMs: deps.limitMs ?? 5000,
    async run(signal) {
      if (audio.source === 'alsa') return alsa(audio, run, signal);
      if (audio.source === 'file') {
        if (!audio.file) return fail('audio.source is file but audio.file is not set', ExitCode.config);
        return fs.existsSync(audio.file) ? pass(`replay file ${audio.file}`) : fail(`audio.file ${audio.file}: no such file`, ExitCode.noInput);
      }
      return pass('raw PCM on stdin');
    },
  };
}
