/**
 * The one backoff (protocol/backoff.ts) on the one clock (protocol/clock.ts): a retry loop
 * scheduled on the manual clock retries exactly at the exponential steps, capped, and the
 * jitter stays within half and all of each step. The hub's store backoff is the same curve.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StoreBackoff } from '../../hub/ingest/backoff.js';
import { backoffDelay } from '../../protocol/backoff.js';
import { type Clock, REAL_CLOCK, systemClock } from '../../protocol/clock.js';
import { ManualClock } from '../support/manual-clock.js';

/** Retries `attempts` times, each after backoffDelay on `clock`; returns when each retry ran. */
function retryTimes(
  clock: Clock,
  attempts: number,
  min: number,
  max: number,
  random?: () => number,
): number[] {
  const start = clock.now();
  const ran: number[] = [];
  const retry = (attempt: number): void => {
    if (attempt === attempts) return;
    clock.setTimeout(
      () => {
        ran.push(clock.now() - start);
        retry(attempt + 1);
      },
      backoffDelay(attempt, min, max, random),
    );
  };
  retry(0);
  return ran;
}

describe('backoffDelay', () => {
  it('starts at min, doubles, and stops growing at max', () => {
    const clock = new ManualClock(0);
    const ran = retryTimes(clock, 8, 1000, 30_000);
    clock.advance(999);
    expect(ran).toEqual([]);
    clock.advance(1);
    expect(ran).toEqual([1000]);
    clock.advance(10 * 60_000);
    // Waits 1, 2, 4, 8, 16, 30, 30, 30 s: cumulative below.
    expect(ran).toEqual([1000, 3000, 7000, 15_000, 31_000, 61_000, 91_000, 121_000]);
    expect(clock.pending).toBe(0);
  });

  it('with jitter waits between half and all of each step', () => {
    expect(backoffDelay(0, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffDelay(0, 1000, 60_000, () => 1)).toBe(1000);
    expect(backoffDelay(3, 1000, 60_000, () => 0.5)).toBe(6000);
    expect(backoffDelay(40, 1000, 60_000, () => 1)).toBe(60_000);
    const clock = new ManualClock(0);
    const ran = retryTimes(clock, 3, 1000, 60_000, () => 0);
    clock.advance(3499);
    expect(ran).toEqual([500, 1500]);
    clock.advance(1);
    expect(ran).toEqual([500, 1500, 3500]);
  });

  it('never overflows: a huge attempt number is the cap, a max below min is the max', () => {
    expect(backoffDelay(10_000, 250, 30_000)).toBe(30_000);
    expect(backoffDelay(-5, 250, 30_000)).toBe(250);
    expect(backoffDelay(0, 5000, 2000)).toBe(2000);
  });
});

describe('the hub store backoff follows the same curve on the manual clock', () => {
  it('waits min, then doubling up to max, and resets after a success', () => {
    const clock = new ManualClock(1_000_000);
    const b = new StoreBackoff(pino({ level: 'silent' }), clock, 250, 1000);
    const waits: number[] = [];
    for (let i = 0; i < 5; i++) {
      b.failed(new Error('down'), 1);
      waits.push(b.nextAttemptAt - clock.now());
      clock.advance(b.nextAttemptAt - clock.now());
    }
    expect(waits).toEqual([250, 500, 1000, 1000, 1000]);
    expect(b.failing).toBe(true);
    b.succeeded();
    expect(b.failing).toBe(false);
    expect(b.nextAttemptAt).toBe(0);
    b.failed(new Error('down again'), 1);
    expect(b.nextAttemptAt - clock.now()).toBe(250);
  });

  it('a max below min waits min every time, as the hub config allowed before', () => {
    const clock = new ManualClock(0);
    const b = new StoreBackoff(pino({ level: 'silent' }), clock, 500, 100);
    b.failed(new Error('down'), 1);
    b.failed(new Error('down'), 1);
    expect(b.nextAttemptAt).toBe(500);
  });
});

describe('the real clocks', () => {
  afterEach(() => vi.useRealTimers());

  it('look the globals up on every call, so vitest fake timers drive them', () => {
    vi.useFakeTimers({ now: 1_764_000_000_000 });
    for (const clock of [REAL_CLOCK, systemClock]) {
      const fired: string[] = [];
      const cancelled = clock.setTimeout(() => fired.push('cancelled'), 500);
      clock.setTimeout(() => fired.push('fired'), 1000);
      clock.clearTimeout(cancelled);
      clock.clearTimeout(undefined);
      vi.advanceTimersByTime(999);
      expect(fired).toEqual([]);
      vi.advanceTimersByTime(1);
      expect(fired).toEqual(['fired']);
      expect(clock.now()).toBe(Date.now());
    }
    expect(REAL_CLOCK.now()).toBe(1_764_000_002_000);
  });
});
