/** A birth's alias table: small aliases in an array, sparse or huge ones by key, the same answers. */
import { describe, expect, it } from 'vitest';
import { type MetricDef, MetricTable } from '../../hub/host/edge-node.js';

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
