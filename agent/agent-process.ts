/**
 * How node is started for the long-running agent (`earshot run`): by the systemd unit that
 * `earshot service install` writes, by the `earshot` launcher (scripts/earshot) and by
 * `npm run bench:live`, which measures it. Both settings only change where memory comes from,
 * never what the agent does (README, "Memory of the agent"):
 *
 * - `MALLOC_MMAP_THRESHOLD_=131072`: glibc gives every allocation of 128 KiB or more its own
 *   mapping, returned to the system when freed. Left alone, glibc raises that threshold to the
 *   largest such block freed so far (up to 32 MiB); from then on ONNX Runtime's per-inference
 *   buffers and the clips' sample buffers (a few MiB each) are cut from the main heap, which
 *   fragments and does not shrink. Setting the variable keeps the threshold at 128 KiB.
 * - `--max-semi-space-size=1`: V8's young generation stays at 2 × 1 MiB instead of growing up to
 *   2 × 16 MiB during bursts of short-lived objects and staying there until V8 shrinks it.
 *
 * Only `run` uses them: they matter for a process that runs for months, while `earshot analyze`,
 * which churns through large short-lived buffers that each get a fresh mapping, only runs slower
 * with them (1–2 % in `npm run bench:analyze`).
 */

/** Options given to node before the script. */
export const AGENT_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=1'];

/** Environment variables the process must start with (glibc reads them once, at start-up). */
export const AGENT_ENV: Readonly<Record<string, string>> = { MALLOC_MMAP_THRESHOLD_: '131072' };
