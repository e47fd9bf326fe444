/**
 * FLAC encoding through an installed program (`flac`, else `sox` built with FLAC support). Which
 * one exists is checked once (`probeFlacEncoder`); the agent falls back to WAV without either.
 */
import { spawn } from 'node:child_process';

export type FlacEncoderName = 'flac' | 'sox';

export interface FlacEncoder {
  name: FlacEncoderName;
  /** Encodes a WAV file given as bytes into `outFile` (overwritten). Rejects with the program's message. */
  encode(wav: Uint8Array, outFile: string): Promise<void>;
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs a program, feeding `input` on stdin; never rejects for a missing program (code null, message in stderr). */
function run(cmd: string, args: readonly string[], input?: Uint8Array, timeoutMs = 60_000): Promise<RunResult> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    let settled = false;
    const done = (r: RunResult) => {
      if (!settled) {
        settled = true;
        resolve(r);
      }
    };
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: timeoutMs });
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d.slice(0, 4096)));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d.slice(0, 4096)));
    child.on('error', (err) => done({ code: null, stdout, stderr: `${stderr}${err.message}` }));
    child.on('close', (code) => done({ code, stdout, stderr }));
    // The program may exit before reading everything (bad arguments, full disk): not our error.
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  });
}

const ENCODERS: Record<FlacEncoderName, { probe: () => Promise<boolean>; args: (outFile: string) => string[] }> = {
  flac: {
    probe: async () => (await run('flac', ['--version'])).code === 0,
    // WAV on stdin; --force overwrites the temp file; -5 is flac's default speed/size balance.
    args: (out) => ['--silent', '--force', '-5', '-o', out, '-'],
  },
  sox: {
    probe: async () => {
      const r = await run('sox', ['-h']);
      return r.code === 0 && /FILE FORMATS:.*\bflac\b/.test(r.stdout);
    },
    args: (out) => ['-q', '-t', 'wav', '-', '-t', 'flac', out],
  },
};

function encoderFor(name: FlacEncoderName): FlacEncoder {
  return {
    name,
    async encode(wav, outFile) {
      const r = await run(name, ENCODERS[name].args(outFile), wav);
      if (r.code !== 0) throw new Error(`${name} failed (exit ${String(r.code)}): ${r.stderr.trim() || 'no message'}`);
    },
  };
}

/** The first FLAC encoder installed (`flac`, then `sox`), or undefined. */
export async function probeFlacEncoder(order: readonly FlacEncoderName[] = ['flac', 'sox']): Promise<FlacEncoder | undefined> {
  for (const name of order) {
    if (await ENCODERS[name].probe()) return encoderFor(name);
  }
  return undefined;
}
