/**
 * The one polling wait for every test (hub, gateway, cli, simulators), and the one sleep.
 * Prefer test/support/manual-clock.ts where the code under test takes a clock; these are for
 * waiting on real peers (a broker, a child process, a socket), which only real time moves.
 */

/**
 * Polls `check` until it returns something other than `undefined` or `false` and returns that
 * value; fails after `timeoutMs` with an error naming `what`. `check` may be async.
 */
export async function waitFor<T>(
  check: () => T | Promise<T>,
  what = 'condition',
  timeoutMs = 5_000,
): Promise<Exclude<T, undefined | false>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined && v !== false) return v as Exclude<T, undefined | false>;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Thrown by an `until` probe when waiting longer cannot help (a process exited). */
export class GiveUp extends Error {}

/**
 * Like `waitFor` for probes of real processes (the chaos rig, the end-to-end skeleton): waits
 * until `probe` returns something other than `undefined`, and an error thrown by the probe (a
 * server not up yet) counts as "not yet" and is quoted on timeout; `GiveUp` ends it at once.
 */
export async function until<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 20_000,
  everyMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v !== undefined) return v;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`,
      );
    }
    await sleep(everyMs);
  }
}
