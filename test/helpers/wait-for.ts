/**
 * The one polling helper of the test suite: waits until a condition holds (checked every
 * `intervalMs`), or fails naming what it waited for. For things outside the test's control — a
 * child process, a real broker, the file system; time the code under test owns is injected
 * (fake timers or a clock) instead of waited for.
 */
export async function waitFor(pred: () => boolean | Promise<boolean>, timeoutMs: number, what: string, intervalMs = 20): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await pred())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
