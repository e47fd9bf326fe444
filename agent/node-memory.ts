/**
 * How node is started for the two commands that run for months: the agent (`earshot run`) and the
 * console (`earshot console`). The systemd unit that `earshot service install` writes, the
 * `earshot` launcher (scripts/earshot) and the benchmarks that measure them (`npm run bench:live`,
 * `npm run bench:fleet`) all start them this way. The settings only change where memory comes
 * from and when V8 collects it, never what the program does (README, "Memory"):
 *
 * - `MALLOC_MMAP_THRESHOLD_=131072`: glibc gives every allocation of 128 KiB or more its own
 *   mapping, returned to the system when freed. Left alone, glibc raises that threshold to the
 *   largest such block freed so far (up to 32 MiB); from then on ONNX Runtime's per-inference
 *   buffers and the clips' sample buffers (a few MiB each) are cut from the main heap, which
 *   fragments and does not shrink. Setting the variable keeps the threshold at 128 KiB.
 * - `--max-semi-space-size=1`: V8's young generation stays at 2 × 1 MiB instead of growing up to
 *   2 × 16 MiB during bursts of short-lived objects and staying there until V8 shrinks it.
 * - `--heap-growing-percent=50`: after a full collection V8 lets the old generation grow to
 *   1.5 × what survived before the next one, instead of up to 4 × when collecting looks cheap.
 *   A console answering page queries over 100,000 alerts (megabyte-sized responses, ~25 MB
 *   live) otherwise grew its heap to ~100 MB between collections: 174–196 MB RSS at its peak
 *   against 111–120 MB with this (`npm run bench:fleet`).
 *
 * Other commands do not use them: `earshot analyze`, which churns through large short-lived
 * buffers that each get a fresh mapping, only runs slower with them (1–2 % in `npm run bench:analyze`).
 */

/** The commands started with these settings. */
export const LONG_RUNNING_COMMANDS: readonly string[] = ['run', 'console'];

/** Options given to node before the script. */
export const NODE_MEMORY_FLAGS: readonly string[] = ['--max-semi-space-size=1', '--heap-growing-percent=50'];

/** Environment variables the process must start with (glibc reads them once, at start-up). */
export const NODE_MEMORY_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
