/**
 * `earshot doctor`: what `earshot run` will need, checked without creating or changing anything,
 * each check under a time limit. The configuration comes first (nothing else can be checked
 * without it); then the files run reads, the audio source, the data folder, the model (which lives in
 * it), the clock and the broker.
 */
import { loadConfig, type LoadedConfig } from '../../config/load.js';
import type { Config } from '../../config/schema.js';
import { exitCodeOf } from '../errors.js';
import { audioCheck } from './audio-check.js';
import { brokerCheck } from './broker-check.js';
import { doctorExitCode, runChecks, type Check, type CheckResult, type RunCheckOptions } from './check.js';
import { clockCheck } from './clock-check.js';
import { dataDirCheck } from './data-dir-check.js';
import { modelCheck } from './model-check.js';
import { runFilesCheck } from './run-files-check.js';

export interface DoctorReport {
  checks: CheckResult[];
  ok: boolean;
  exitCode: number;
}

export interface DoctorOptions extends RunCheckOptions {
  flag?: string;
  env: NodeJS.ProcessEnv;
  /** Replaces the standard list (tests). */
  checks?: (config: Config, loaded: LoadedConfig) => Check[];
}

export function standardChecks(config: Config, loaded: LoadedConfig, env: NodeJS.ProcessEnv): Check[] {
  return [
    runFilesCheck(config),
    audioCheck(config.audio),
    dataDirCheck(config.storage),
    modelCheck(config, { mirror: env.EARSHOT_MODEL_MIRROR, ...(loaded.location.path ? { configFile: loaded.location.path } : {}) }),
    clockCheck(),
    brokerCheck(config),
  ];
}

function report(checks: CheckResult[]): DoctorReport {
  const exitCode = doctorExitCode(checks);
  return { checks, ok: exitCode === 0, exitCode };
}

export async function runDoctor(opts: DoctorOptions): Promise<DoctorReport> {
  const now = opts.now ?? Date.now;
  const started = now();
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({ flag: opts.flag, env: opts.env });
  } catch (err) {
    const ms = Math.round(now() - started);
    return report([{ name: 'config', ok: false, level: 'fail', detail: (err as Error).message, ms, exitCode: exitCodeOf(err) }]);
  }
  const name = loaded.location.path ?? 'built-in defaults (no configuration file found)';
  const first: CheckResult = { name: 'config', ok: true, level: 'pass', detail: `${name} is valid`, ms: Math.round(now() - started) };
  const list = (opts.checks ?? ((c, l) => standardChecks(c, l, opts.env)))(loaded.config, loaded);
  return report([first, ...(await runChecks(list, opts))]);
}
