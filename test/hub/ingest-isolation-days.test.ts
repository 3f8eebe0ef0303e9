/**
 * Issue 9: `splitByDay` looped once per day of whatever span it was given: a State stamped a
 * million days ahead blocked the hub 8.2 s (and ~14 min at the largest date), and 8.64e15
 * gave `new Date()` an invalid time. It is bounded by construction now: at most
 * MAX_SPLIT_DAYS + 1 parts, the rest reported as dropped, and no time that is not a time.
 */
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawSqliteForTests } from '../../hub/database/database.js';
import {
  DAY_MS,
  isDayTime,
  MAX_DAY_TIME_MS,
  MAX_SPLIT_DAYS,
  splitByDay,
  splitDays,
} from '../../hub/registry/days.js';
import { Registry } from '../../hub/registry/registry.js';
import { tempDir } from './helpers.js';

const OFFSET = 480;
const T = Date.UTC(2026, 10, 1, 4); // 12:00 in UTC+8

describe('splitByDay is bounded by construction', () => {
  it('splits a span of a million days into at most MAX_SPLIT_DAYS + 1 parts, the last ones', () => {
    const to = T + 1_000_000 * DAY_MS;
    const { parts, droppedMs } = splitDays(T, to, OFFSET);
    expect(parts.length).toBeLessThanOrEqual(MAX_SPLIT_DAYS + 1);
    expect(parts.reduce((a, [, ms]) => a + ms, 0)).toBe(MAX_SPLIT_DAYS * DAY_MS);
    expect(droppedMs).toBe(1_000_000 * DAY_MS - MAX_SPLIT_DAYS * DAY_MS);
    // The days kept are the span's last ones, ending on the day of `to`.
    expect(parts.at(-1)?.[0]).toBe(new Date(to + OFFSET * 60_000).toISOString().slice(0, 10));
  });

  it('gives the largest span there is (1970 to the last date) a bounded answer', () => {
    const parts = splitByDay(0, MAX_DAY_TIME_MS, OFFSET);
    expect(parts.length).toBeLessThanOrEqual(MAX_SPLIT_DAYS + 1);
    expect(parts.every(([day, ms]) => /^\d{4}-\d{2}-\d{2}$/.test(day) && ms > 0)).toBe(true);
  });

  it('splits nothing, and throws nothing, for ends that are not times', () => {
    for (const [from, to] of [
      [T, 8.64e15],
      [T, Number.NaN],
      [Number.NaN, T],
      [T, Number.POSITIVE_INFINITY],
      [Number.NEGATIVE_INFINITY, T],
      [-DAY_MS, T],
    ]) {
      const r = splitDays(from!, to!, OFFSET);
      expect(r.parts).toEqual([]);
      expect(Number.isFinite(r.droppedMs)).toBe(true);
    }
    expect(isDayTime(8.64e15)).toBe(false);
    expect(isDayTime(T)).toBe(true);
  });

  it('splits an ordinary span as before', () => {
    expect(splitDays(T, T + DAY_MS, OFFSET)).toEqual({
      parts: [
        ['2026-11-01', 12 * 3_600_000],
        ['2026-11-02', 12 * 3_600_000],
      ],
      droppedMs: 0,
    });
  });
});

describe('the state clock counts at most MAX_SPLIT_DAYS of one interval', () => {
  let dir: ReturnType<typeof tempDir>;
  let reg: Registry;

  beforeEach(async () => {
    dir = tempDir();
    reg = new Registry({
      path: `${dir.path}/registry.db`,
      logger: pino({ level: 'silent' }),
      clock: () => T,
    });
    await reg.start();
  });
  afterEach(async () => {
    await reg.close();
    dir.remove();
  });

  it('a machine heard again after 1,000 days of silence: offline counted for the last 400 days, reported as clamped', () => {
    reg.applyIngest({
      events: [{ type: 'deviceBirth', group: 'E001', edgeNode: 'gw', device: 'm1', at: T, properties: {} }],
      devices: [
        { enterprise: 'E001', machine: 'm1', gateway: 'gw', seenAt: T, state: 'running', stateAt: T },
      ],
      gateways: [],
    });
    const back = T + 1_000 * DAY_MS;
    const r = reg.applyIngest({
      events: [],
      devices: [
        { enterprise: 'E001', machine: 'm1', gateway: 'gw', seenAt: back, state: 'idle', stateAt: back },
      ],
      gateways: [],
    });
    expect(r).toMatchObject({ spansClamped: 1 });
    expect(r.rowsRefused).toBeUndefined();
    const rows = rawSqliteForTests(reg.database)
      .prepare<[], { state: string; days: number; ms: number }>(
        'SELECT state, count(*) AS days, sum(ms) AS ms FROM machine_state_time GROUP BY state',
      )
      .all();
    expect(rows).toEqual([{ state: 'offline', days: MAX_SPLIT_DAYS + 1, ms: MAX_SPLIT_DAYS * DAY_MS }]);
    expect(reg.machine('E001', 'm1')?.state).toBe('idle');
  });
});
