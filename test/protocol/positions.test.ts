import { describe, expect, it } from 'vitest';
import { PositionTracker } from '../../protocol/index.js';

describe('PositionTracker', () => {
  it('moves the floor over consecutive positions and holds the ones above a gap', () => {
    const t = new PositionTracker(10);
    expect(t.add(11)).toBe(true);
    expect(t.add(13)).toBe(false);
    expect(t.add(15)).toBe(false);
    expect(t.add(14)).toBe(false);
    expect(t.floor).toBe(11);
    expect(t.gap).toBe(12);
    expect(t.waiting).toBe(3);
    expect(t.add(12)).toBe(true);
    expect(t.floor).toBe(15);
    expect(t.gap).toBeUndefined();
    expect(t.add(9)).toBe(false);
    expect(t.add(15)).toBe(false);
  });

  it('reaches the same floor whatever order the positions come in', () => {
    const n = 500;
    for (let seed = 1; seed <= 20; seed++) {
      const order = Array.from({ length: n }, (_, i) => i + 1);
      let s = seed;
      for (let i = order.length - 1; i > 0; i--) {
        s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
        const j = s % (i + 1);
        [order[i], order[j]] = [order[j]!, order[i]!];
      }
      const t = new PositionTracker();
      const missing = order.pop()!;
      for (const p of [...order, ...order.slice(0, 50)]) t.add(p);
      expect(t.floor).toBe(missing - 1);
      expect(t.waiting).toBe(n - missing);
      t.add(missing);
      expect(t.floor).toBe(n);
      expect(t.waiting).toBe(0);
    }
  });

  it('raise() gives up on positions below a new floor; reset() starts over', () => {
    const t = new PositionTracker(0);
    t.add(5);
    t.add(6);
    t.add(9);
    t.raise(3);
    expect(t.floor).toBe(3);
    t.raise(5);
    expect(t.floor).toBe(6);
    expect(t.gap).toBe(7);
    t.raise(8);
    expect(t.floor).toBe(9);
    t.reset(100);
    expect(t.floor).toBe(100);
    expect(t.waiting).toBe(0);
  });
});
