/**
 * gateway/readings.ts keeps the sampler's and the edge node's latest values as columns instead
 * of an object per reading; these pin that a reading comes back as it went in and that the
 * deadband comparison is the sampler's report-by-exception rule.
 */
import { describe, expect, it } from 'vitest';
import { NameIndexes, Readings } from '../../gateway/readings.js';

describe('Readings', () => {
  it('gives back every kind of value, its quality and time, and counts the metrics read', () => {
    const r = new Readings(6);
    const bytes = new Uint8Array([1, 2]);
    const values = [1.5, -0, 12n, 'text', true, bytes] as const;
    values.forEach((v, i) => {
      r.set(i, v, i % 2 === 0 ? 'good' : 'uncertain', 1000 + i);
    });
    expect(r.count).toBe(6);
    values.forEach((v, i) => {
      expect(Object.is(r.value(i), v)).toBe(true);
      expect(r.quality(i)).toBe(i % 2 === 0 ? 'good' : 'uncertain');
      expect(r.time(i)).toBe(1000 + i);
    });
    // A number where a string was, and a bad reading (null): replaced, not counted again.
    r.set(3, 7, 'good', 2000);
    r.set(0, null, 'bad', 2001);
    expect(r.count).toBe(6);
    expect(r.value(3)).toBe(7);
    expect(r.update(0, 'Signals/a')).toEqual({
      name: 'Signals/a',
      value: null,
      quality: 'bad',
      timestamp: 2001,
    });
    r.clear();
    expect(r.count).toBe(0);
    expect(r.has(3)).toBe(false);
    expect(r.update(3, 'Signals/d')).toBeUndefined();
  });

  it('says a reading is news as the sampler did: quality, deadband, NaN, bytes by content', () => {
    const r = new Readings(3);
    expect(r.exceeds(0, 0, 1, 'good')).toBe(true); // nothing read yet
    r.set(0, 10, 'good', 1);
    expect(r.exceeds(0, 0, 10, 'good')).toBe(false);
    expect(r.exceeds(0, 0, -0 + 10, 'uncertain')).toBe(true);
    expect(r.exceeds(0, 0.5, 10.5, 'good')).toBe(false);
    expect(r.exceeds(0, 0.5, 10.6, 'good')).toBe(true);
    expect(r.exceeds(0, 0, '10', 'good')).toBe(true);
    r.set(1, Number.NaN, 'good', 1);
    expect(r.exceeds(1, 0, Number.NaN, 'good')).toBe(false);
    expect(r.exceeds(1, 5, 1, 'good')).toBe(true);
    r.set(2, new Uint8Array([1, 2]), 'good', 1);
    expect(r.exceeds(2, 0, new Uint8Array([1, 2]), 'good')).toBe(false);
    expect(r.exceeds(2, 0, new Uint8Array([1, 3]), 'good')).toBe(true);
  });
});

describe('NameIndexes', () => {
  it('gives one shared index per distinct list of names', () => {
    const indexes = new NameIndexes();
    const a = indexes.of(['x', 'y']);
    expect(indexes.of(['x', 'y'])).toBe(a);
    expect(indexes.of(['y', 'x'])).not.toBe(a);
    expect([...a]).toEqual([
      ['x', 0],
      ['y', 1],
    ]);
  });
});
