/**
 * `earshot doctor [--json]`: checks what `earshot run` will need (agent/doctor/), one
 * PASS/WARN/FAIL line each or one JSON object. Exit 0 when run would start (warnings allowed),
 * 78 when it would refuse the configuration, 66 when the configuration file is missing, 69 (or
 * the failing check's own code) when something it needs is unavailable.
 */
import { formatJson, formatText } from '../doctor/format.js';
import { runDoctor } from '../doctor/doctor.js';
import { CommandExit, globalOptions, type RegisterCommand } from './context.js';

export const registerDoctorCommand: RegisterCommand = (program, ctx) => {
  program
    .command('doctor')
    .description('check what `earshot run` needs (configuration and its files, audio, model, data folder, clock, a real MQTT connect), each within a time limit; creates nothing')
    .option('--json', 'one JSON object: {checks: [{name, ok, level, detail, ms}], ok, exitCode}')
    .action(async (opts: { json?: boolean }, cmd) => {
      const report = await runDoctor({ flag: globalOptions(cmd).config, env: ctx.env });
      ctx.stdout(opts.json ? formatJson(report) : formatText(report));
      if (report.exitCode !== 0) throw new CommandExit(report.exitCode);
    });
};
