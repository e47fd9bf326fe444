/** Tiny argument readers shared by the benchmark scripts (`--reps 9`, `--json`). */

/** `--name N`: a positive number, or the fallback when absent. */
export function numberArg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const v = Number(process.argv[i + 1]);
  if (!Number.isFinite(v) || v <= 0) throw new Error(`--${name} needs a positive number`);
  return v;
}

/** `--name TEXT`, or undefined when absent. */
export function textArg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

export function flagArg(name: string): boolean {
  return process.argv.includes(`--${name}`);
}

/** `--help` or `-h`: prints the usage and exits 0 (so asking a benchmark for help never runs it). */
export function exitOnHelp(usage: string): void {
  if (!process.argv.includes('--help') && !process.argv.includes('-h')) return;
  process.stdout.write(usage.endsWith('\n') ? usage : `${usage}\n`);
  process.exit(0);
}
