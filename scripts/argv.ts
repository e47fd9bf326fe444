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
