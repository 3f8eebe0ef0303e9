/** The chaos tests' checker: it must see every kind of loss, or the chaos tests prove nothing. */
import { describe, expect, it } from 'vitest';
import { checkMachine, describeVerdict, ranges, type ServedValue, verdictOk } from './counting.js';

const T = 1_700_000_000_000;

/** Values 1..n, each served 200 ms and read 50 and 150 ms into its turn. */
function served(n: number): ServedValue[] {
  return Array.from({ length: n }, (_, i) => ({
    value: i + 1,
    setAt: T + i * 200,
    firstReadAt: T + i * 200 + 50,
    lastReadAt: T + i * 200 + 150,
  }));
}

const stored = (values: readonly number[]) => values.map((v) => ({ ts: T + (v - 1) * 200 + 50, value: v }));

describe('checkMachine', () => {
  it('passes a complete series, each value once at the time it was read', () => {
    const v = checkMachine('m1', served(10), stored([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]));
    expect(verdictOk(v)).toBe(true);
    expect(describeVerdict(v)).toBe('m1: 10 stored of 10 read (values 1..10): ok');
  });

  it('names missing values as ranges', () => {
    const v = checkMachine('m1', served(10), stored([1, 2, 6, 7, 9]));
    expect(verdictOk(v)).toBe(false);
    expect(v.missing).toEqual([3, 4, 5, 8, 10]);
    expect(describeVerdict(v)).toContain('5 MISSING: 3–5, 8, 10');
  });

  it('finds a value stored at a second timestamp (a replay that did not overwrite)', () => {
    const points = [...stored([1, 2, 3]), { ts: T + 200 + 120, value: 2 }];
    const v = checkMachine('m1', served(3), points);
    expect(verdictOk(v)).toBe(false);
    expect([...v.duplicates]).toEqual([[2, [T + 250, T + 320]]]);
    expect(describeVerdict(v)).toContain('1 DUPLICATED: 2 at');
  });

  it('finds values never served and values stamped with the wrong time', () => {
    const points = [...stored([1, 2]), { ts: T + 400 + 5_000, value: 3 }, { ts: T, value: 99 }];
    const v = checkMachine('m1', served(3), points);
    expect(v.foreign).toEqual([99]);
    expect(v.misplaced).toEqual([{ value: 3, ts: T + 5_400, readFrom: T + 450, readTo: T + 550 }]);
    expect(verdictOk(v)).toBe(false);
  });

  it('excuses only the values first read inside a loss window', () => {
    const window = { from: T + 400, to: T + 700, why: 'killed' };
    const ok = checkMachine('m1', served(6), stored([1, 2, 5, 6]), { lossWindows: [window] });
    expect(ok.excused).toEqual([3, 4]);
    expect(verdictOk(ok)).toBe(true);
    const bad = checkMachine('m1', served(6), stored([1, 5, 6]), { lossWindows: [window] });
    expect(bad.missing).toEqual([2]);
    expect(verdictOk(bad)).toBe(false);
  });

  it('does not expect a value nobody read, and fails a machine that was never read', () => {
    const list = served(3);
    list.push({ value: 4, setAt: T + 600 });
    expect(verdictOk(checkMachine('m1', list, stored([1, 2, 3])))).toBe(true);
    expect(verdictOk(checkMachine('m2', [{ value: 1, setAt: T }], []))).toBe(false);
  });
});

describe('ranges', () => {
  it('joins runs of consecutive numbers', () => {
    expect(ranges([7, 1, 2, 3, 5])).toBe('1–3, 5, 7');
    expect(ranges([])).toBe('');
  });
});
