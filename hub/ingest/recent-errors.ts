/**
 * When errors count as persistent for /healthz: in PERSISTENT_FLUSHES flushes (or writes)
 * within HEALTH_WINDOW_MS. One bad flush is logged and counted; only repeated ones change
 * what the hub says about itself.
 */

/** How many flushes with errors, within HEALTH_WINDOW_MS (or in a row), make them persistent. */
export const PERSISTENT_FLUSHES = 3;
export const HEALTH_WINDOW_MS = 60_000;

/** Recent flushes that had errors (when, how many items), and what the last one was. */
export class RecentErrors {
  #entries: { at: number; items: number }[] = [];
  last = '';

  add(at: number, items: number, last: string): void {
    this.#entries.push({ at, items });
    if (this.#entries.length > 100) this.#entries.shift();
    this.last = last;
  }

  /** Flushes with errors since `since` (older ones are forgotten). */
  since(since: number): number {
    while (this.#entries.length > 0 && this.#entries[0]!.at < since) this.#entries.shift();
    return this.#entries.length;
  }

  /** Items (rows, samples) of the flushes remembered. */
  get items(): number {
    return this.#entries.reduce((a, e) => a + e.items, 0);
  }
}

/** "CODE: message" for a health detail. */
export function errorText(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as { code?: unknown }).code;
  return `${typeof code === 'string' ? code : err.name}: ${err.message}`;
}
