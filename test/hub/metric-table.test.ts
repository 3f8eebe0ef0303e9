/**
 * A birth's alias table: small aliases in an array, sparse or huge ones by key, the same answers.
 * The host's shared definitions: one object per name and datatype, bounded.
 */
import { describe, expect, it } from 'vitest';
import { type MetricDef, MetricDefs, MetricTable, metricDef } from '../../hub/host/edge-node.js';

const def = (name: string): MetricDef => ({ name, datatype: 10 });

describe('MetricTable', () => {
  it('finds every alias a birth gave, dense or sparse, and nothing else', () => {
    const t = new MetricTable();
    const aliases = [0, 1, 2, 7, 70, 5_000, 65_535, 65_536, 2 ** 40, Number.MAX_SAFE_INTEGER];
    for (const [i, a] of aliases.entries()) t.add(def(`m${i}`), a);
    t.add(def('named only'), undefined);
    for (const [i, a] of aliases.entries()) expect(t.byAlias(a)?.name).toBe(`m${i}`);
    for (const unknown of [3, 6, 8, 69, 71, 4_999, 65_534, 2 ** 40 + 1])
      expect(t.byAlias(unknown)).toBeUndefined();
    expect(t.byName('named only')?.name).toBe('named only');
    expect(t.byName('m9')?.name).toBe('m9');
  });

  it('lets a later definition of the same alias win, as a birth that repeats one is read', () => {
    const t = new MetricTable();
    t.add(def('first'), 3);
    t.add(def('second'), 3);
    t.add(def('far first'), 1e9);
    t.add(def('far second'), 1e9);
    expect(t.byAlias(3)?.name).toBe('second');
    expect(t.byAlias(1e9)?.name).toBe('far second');
  });
});

describe('MetricDefs', () => {
  it('gives the same definition for the same name and datatype, another for another datatype', () => {
    const defs = new MetricDefs();
    const a = defs.of('Spindle/Speed', 10);
    expect(defs.of('Spindle/Speed', 10)).toBe(a);
    expect(a).toEqual(metricDef('Spindle/Speed', 10));
    const asInt = defs.of('Spindle/Speed', 3);
    expect(asInt).not.toBe(a);
    expect(asInt.datatype).toBe(3);
    expect(defs.size).toBe(2);
  });

  it('marks machine properties and names that cannot be used, as metricDef does', () => {
    const defs = new MetricDefs();
    expect(defs.of('Properties/Model', 12).property).toBe(true);
    expect(defs.of('Spindle/Speed', 10).property).toBe(false);
    const bad = defs.of('a\u0001b', 10);
    expect(bad.refused).toBeTypeOf('string');
    expect(bad).toEqual(metricDef('a\u0001b', 10));
    expect(defs.of('Spindle/Speed', 10).refused).toBeUndefined();
  });

  it('starts over once it holds its bound of names (they come from gateways)', () => {
    const defs = new MetricDefs(3);
    const first = defs.of('m0', 10);
    defs.of('m1', 10);
    defs.of('m2', 3);
    expect(defs.size).toBe(3);
    expect(defs.of('m0', 10)).toBe(first);
    const fourth = defs.of('m3', 10);
    expect(defs.size).toBe(1);
    expect(defs.of('m3', 10)).toBe(fourth);
    const again = defs.of('m0', 10);
    expect(again).not.toBe(first);
    expect(again).toEqual(first);
  });
});
