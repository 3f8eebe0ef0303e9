/**
 * The one backoff of gateway and hub: exponential from `minMs` (attempt 0), doubling, capped at
 * `maxMs`. With `random` it takes "equal jitter": between half and all of that step, rounded to
 * the millisecond, so peers that lost one server together do not return in lockstep.
 */
export function backoffDelay(attempt: number, minMs: number, maxMs: number, random?: () => number): number {
  const step = Math.min(maxMs, minMs * 2 ** Math.max(0, Math.min(attempt, 30)));
  return random === undefined ? step : Math.round(step / 2 + (random() * step) / 2);
}
