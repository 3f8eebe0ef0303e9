/** Small helpers shared by the gateway tests. */
import { pino } from 'pino';

/** A silent logger; set WANJI_TEST_LOG=debug to see the gateway's logs while a test runs. */
export function testLogger() {
  return pino({ level: process.env.WANJI_TEST_LOG ?? 'silent' });
}

/** Polls `check` until it returns a value other than undefined, or fails after `timeoutMs`. */
export async function waitFor<T>(
  check: () => T | undefined,
  timeoutMs = 5000,
  what = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v !== undefined && v !== false) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
