import { spawn, spawnSync } from 'node:child_process';
import { cliPath } from './paths.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs the compiled `earshot` binary as a user would (build first: `npm test` does). */
export function runEarshot(args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): CliResult {
  // Start from a clean EARSHOT_* environment so the developer's shell cannot leak into tests.
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EARSHOT_') || k === 'EARSHOT_MODEL_MIRROR') env[k] = v;
  const r = spawnSync(process.execPath, [cliPath, ...args], {
    env: { ...env, ...opts.env },
    cwd: opts.cwd,
    input: opts.input,
    encoding: 'utf8',
    timeout: 120_000,
  });
  if (r.error) throw r.error;
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/**
 * The compiled `earshot` as a child that does not block this process: for tests whose broker,
 * device or HTTP server lives in the test process itself (runEarshot would freeze it). Every
 * EARSHOT_* variable of the caller is dropped (the mirror too); pass what the run needs in `env`.
 */
export function runEarshotAsync(args: string[], opts: { env?: NodeJS.ProcessEnv } = {}): Promise<CliResult> {
  const clean: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('EARSHOT_')) clean[k] = v;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { env: { ...clean, ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, stdout, stderr }));
  });
}
