/**
 * The shape of one `earshot doctor` check and how it is run: each under its own time limit, so
 * a check that hangs (a dead NFS mount, a broker that never answers) fails, named, instead of
 * hanging the doctor.
 */
import { ExitCode, exitCodeOf } from '../errors.js';

export type Level = 'pass' | 'warn' | 'fail';

export interface Outcome {
  level: Level;
  detail: string;
  /** For a failure: the exit code it stands for (78 configuration, 69 unavailable, ...). */
  exitCode?: number;
}

export interface Check {
  name: string;
  /** How long the check may take before it fails as timed out. */
  limitMs: number;
  /** Does the work; aborts what it started when `signal` fires. Should not throw, but may. */
  run(signal: AbortSignal): Promise<Outcome>;
}

export interface CheckResult {
  name: string;
  ok: boolean;
  level: Level;
  detail: string;
  ms: number;
  /** Not printed: what the failure means for the exit code. */
  exitCode?: number;
}

export const pass = (detail: string): Outcome => ({ level: 'pass', detail });
export const warn = (detail: string): Outcome => ({ level: 'warn', detail });
export const fail = (detail: string, exitCode: number = ExitCode.unavailable): Outcome => ({ level: 'fail', detail, exitCode });

export interface RunCheckOptions {
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => { cancel(): void };
}

const systemTimer = (fn: () => void, ms: number) => {
  const t = setTimeout(fn, ms);
  return { cancel: () => clearTimeout(t) };
};

/** Runs one check under its time limit; a throw or a timeout becomes a failure naming the check. */
export async function runCheck(check: Check, opts: RunCheckOptions = {}): Promise<CheckResult> {
  const now = opts.now ?? Date.now;
  const setTimer = opts.setTimer ?? systemTimer;
  const started = now();
  const abort = new AbortController();
  let timer: { cancel(): void } | undefined;
  const timedOut = new Promise<Outcome>((resolve) => {
    timer = setTimer(() => {
      abort.abort(new Error(`${check.name}: time limit`));
      resolve(fail(`did not finish within ${formatSeconds(check.limitMs)}`));
    }, check.limitMs);
  });
  let outcome: Outcome;
  try {
    outcome = await Promise.race([
      check.run(abort.signal).catch((err: unknown) => fail((err as Error)?.message ?? String(err), exitCodeOf(err))),
      timedOut,
    ]);
  } finally {
    timer?.cancel();
  }
  const result: CheckResult = { name: check.name, ok: outcome.level !== 'fail', level: outcome.level, detail: outcome.detail, ms: Math.max(0, Math.round(now() - started)) };
  if (outcome.level === 'fail') result.exitCode = outcome.exitCode ?? ExitCode.unavailable;
  return result;
}

/** Runs the checks one after another (their times stay their own). */
export async function runChecks(checks: readonly Check[], opts: RunCheckOptions = {}): Promise<CheckResult[]> {
  const out: CheckResult[] = [];
  for (const c of checks) out.push(await runCheck(c, opts));
  return out;
}

/**
 * Whether `run` would start: 0 when nothing failed (warnings allowed); 78 when a failure is a
 * configuration problem (run refuses the configuration); otherwise the first failure's code.
 */
export function doctorExitCode(results: readonly CheckResult[]): number {
  const failed = results.filter((r) => r.level === 'fail');
  if (failed.length === 0) return ExitCode.ok;
  if (failed.some((r) => r.exitCode === ExitCode.config)) return ExitCode.config;
  return failed[0]!.exitCode ?? ExitCode.unavailable;
}

export function formatSeconds(ms: number): string {
  return `${Number((ms / 1000).toFixed(1))} s`;
}
