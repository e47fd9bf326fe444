/** The doctor's two outputs: one line per check for people, one JSON object for scripts. */
import type { DoctorReport } from './doctor.js';

export function formatText(r: DoctorReport): string {
  return r.checks.map((c) => `${c.level.toUpperCase()} ${c.name}: ${c.detail}\n`).join('');
}

/** `{checks: [{name, ok, level, detail, ms}], ok, exitCode}` on one line. */
export function formatJson(r: DoctorReport): string {
  const checks = r.checks.map(({ name, ok, level, detail, ms }) => ({ name, ok, level, detail, ms }));
  return `${JSON.stringify({ checks, ok: r.ok, exitCode: r.exitCode })}\n`;
}
