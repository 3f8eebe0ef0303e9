/**
 * The SQLite store's layout (hub/store/sqlite): a write is one landing row, the head holds its
 * points in memory, a compaction writes them as a part of chunks. What a reader sees must not
 * depend on where a point lies: landing, head, a part being written, older parts, or the table
 * of the first layout.
 */
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SqliteSampleStore } from '../../hub/store/sqlite/index.js';
import { MIGRATIONS } from '../../hub/store/sqlite/schema.js';
import type { Sample } from '../../hub/store/types.js';
import { readSampleFile } from '../support/sample-file.js';
import { silentLogger, tempDir } from './helpers.js';
import { sampleStoreSuite } from './store-suite.js';

const T0 = 1_700_000_000_000;
const s = (metric: string, ts: number, value: Sample['value'], machine = 'cnc-1'): Sample => ({
  enterprise: 'acme',
  machine,
  metric,
  ts,
  value,
});
const q = (metric: string, extra: { from?: number; to?: number; limit?: number } = {}) => ({
  enterprise: 'acme',
  machine: 'cnc-1',
  metric,
  ...extra,
});

/** A store whose every write is compacted into a part before it resolves. */
class CompactingStore extends SqliteSampleStore {
  override async write(samples: readonly Sample[]): Promise<void> {
    await super.write(samples);
    await this.compact();
  }
}

sampleStoreSuite('sqlite, every write compacted', () => {
  const dir = tempDir();
  const make = () =>
    new CompactingStore({ path: join(dir.path, 'samples.db'), synchronous: 'full', logger: silentLogger() });
  return {
    store: make(),
    reopen: make,
    cleanup: dir.remove,
    count: () => readSampleFile(join(dir.path, 'samples.db'), (file) => file.countPoints()),
  };
});

describe('sqlite store: landing, head and parts', () => {
  let dir: ReturnType<typeof tempDir>;
  let path: string;
  let store: SqliteSampleStore;
  const open = async (extra: { compactEveryMs?: number; headMaxBytes?: number } = {}) => {
    store = new SqliteSampleStore({ path, synchronous: 'full', logger: silentLogger(), ...extra });
    await store.start();
    return store;
  };
  const rows = (sql: string): number => {
    const db = new Database(path, { readonly: true });
    try {
      return (db.prepare(sql).get() as { n: number }).n;
    } finally {
      db.close();
    }
  };

  beforeEach(() => {
    dir = tempDir();
    path = join(dir.path, 'samples.db');
  });
  afterEach(async () => {
    await store.close();
    dir.remove();
  });

  it('writes one landing row per write, and a compaction moves them into one part and deletes them', async () => {
    await open();
    const batch = Array.from({ length: 50 }, (_, m) =>
      Array.from({ length: 10 }, (_, k) => s(`Signals/m${k}`, T0, m * 10 + k, `cnc-${m}`)),
    ).flat();
    await store.write(batch);
    await store.write(batch.map((x) => ({ ...x, ts: T0 + 1000 })));
    expect(rows('SELECT count(*) AS n FROM landing')).toBe(2);
    expect(rows('SELECT count(*) AS n FROM chunks')).toBe(0);
    await store.compact();
    expect(rows('SELECT count(*) AS n FROM landing')).toBe(0);
    expect(rows('SELECT count(*) AS n FROM parts')).toBe(1);
    // One row per series holds both of its points.
    expect(rows('SELECT count(*) AS n FROM chunks')).toBe(500);
    expect(await store.query({ enterprise: 'acme', machine: 'cnc-7', metric: 'Signals/m3' })).toEqual([
      { ts: T0, value: 73 },
      { ts: T0 + 1000, value: 73 },
    ]);
  });

  it('rebuilds the head from the landing rows after a restart, and compacts them later', async () => {
    await open();
    await store.write([s('Signals/a', T0, 1), s('Signals/a', T0 + 1, 'two')]);
    await store.close();
    await open();
    expect(await store.query(q('Signals/a'))).toEqual([
      { ts: T0, value: 1 },
      { ts: T0 + 1, value: 'two' },
    ]);
    await store.write([s('Signals/a', T0 + 2, true)]);
    await store.compact();
    expect(rows('SELECT count(*) AS n FROM landing')).toBe(0);
    await store.close();
    await open();
    expect((await store.query(q('Signals/a'))).map((p) => p.value)).toEqual([1, 'two', true]);
  });

  it('keeps the last write of a time: head over parts, a newer part over an older one', async () => {
    await open();
    await store.write([s('Signals/a', T0, 1), s('Signals/a', T0 + 1, 1)]);
    await store.compact();
    await store.write([s('Signals/a', T0, 2)]);
    expect((await store.query(q('Signals/a'))).map((p) => p.value)).toEqual([2, 1]);
    expect(await store.latest('acme', 'cnc-1')).toEqual([{ metric: 'Signals/a', ts: T0 + 1, value: 1 }]);
    await store.compact();
    await store.write([s('Signals/a', T0 + 1, 3)]);
    expect((await store.query(q('Signals/a'))).map((p) => p.value)).toEqual([2, 3]);
    expect(await store.latest('acme', 'cnc-1')).toEqual([{ metric: 'Signals/a', ts: T0 + 1, value: 3 }]);
    await store.compact();
    await store.close();
    await open();
    expect((await store.query(q('Signals/a'))).map((p) => p.value)).toEqual([2, 3]);
    expect(await store.latest('acme', 'cnc-1')).toEqual([{ metric: 'Signals/a', ts: T0 + 1, value: 3 }]);
    expect(await store.countPoints()).toBe(2);
  });

  it('answers the newest points across parts when late points land in a newer part', async () => {
    await open();
    await store.write(Array.from({ length: 10 }, (_, i) => s('Signals/x', T0 + i * 1000, i)));
    await store.compact();
    // A journal replayed hours late: older times, in a newer part.
    await store.write([s('Signals/x', T0 - 5000, -5), s('Signals/x', T0 + 3000, 33)]);
    await store.compact();
    expect((await store.query(q('Signals/x', { limit: 3 }))).map((p) => p.value)).toEqual([7, 8, 9]);
    expect((await store.query(q('Signals/x', { to: T0 + 3000, limit: 2 }))).map((p) => p.value)).toEqual([
      2, 33,
    ]);
    expect((await store.query(q('Signals/x', { to: T0, limit: 2 }))).map((p) => p.value)).toEqual([-5, 0]);
    expect(await store.latest('acme', 'cnc-1')).toEqual([{ metric: 'Signals/x', ts: T0 + 9000, value: 9 }]);
  });

  it('finds every part a range meets, a late part among newer ones included', async () => {
    await open();
    const part = async (times: number[]) => {
      await store.write(times.map((t) => s('Signals/x', T0 + t, t)));
      await store.compact();
    };
    await part([0, 1000]);
    await part([2000, 3000]);
    await part([-100, 500]); // late: older than the part before it
    await part([4000]);
    const values = async (from: number, to: number) =>
      (await store.query(q('Signals/x', { from: T0 + from, to: T0 + to }))).map((p) => p.value);
    expect(await values(2500, 5000)).toEqual([3000, 4000]);
    expect(await values(400, 600)).toEqual([500]);
    expect(await values(-200, 0)).toEqual([-100, 0]);
    expect(await values(3500, 3999)).toEqual([]);
    expect(await values(-1e6, 1e6)).toEqual([-100, 0, 500, 1000, 2000, 3000, 4000]);
  });

  it('answers while a compaction is half way, and writes go on meanwhile', async () => {
    await open({ compactEveryMs: 60_000 });
    // More series than one compaction slice holds, so that the compaction yields between them.
    const machines = 1_000;
    await store.write(
      Array.from({ length: machines }, (_, m) =>
        Array.from({ length: 10 }, (_, k) => s(`Signals/m${k}`, T0, m + k, `cnc-${m}`)),
      ).flat(),
    );
    const compaction = store.compact();
    await new Promise<void>((resolve) => setImmediate(resolve));
    await store.write([s('Signals/m0', T0 + 1, 'after', 'cnc-999')]);
    expect(await store.query({ enterprise: 'acme', machine: 'cnc-999', metric: 'Signals/m0' })).toEqual([
      { ts: T0, value: 999 },
      { ts: T0 + 1, value: 'after' },
    ]);
    expect(await store.latest('acme', 'cnc-0')).toHaveLength(10);
    await compaction;
    expect(rows('SELECT count(*) AS n FROM chunks')).toBe(machines * 10);
    expect(rows('SELECT count(*) AS n FROM landing')).toBe(1);
    expect(await store.countPoints()).toBe(machines * 10 + 1);
  });

  it('compacts on its own once the head is big enough', async () => {
    await open({ headMaxBytes: 2_000 });
    for (let i = 0; i < 20; i++)
      await store.write(Array.from({ length: 10 }, (_, k) => s(`Signals/m${k}`, T0 + i, i)));
    await store.compact();
    expect(rows('SELECT count(*) AS n FROM parts')).toBeGreaterThan(1);
    expect(rows('SELECT count(*) AS n FROM landing')).toBe(0);
    expect((await store.query(q('Signals/m4'))).map((p) => p.value)).toEqual(
      Array.from({ length: 20 }, (_, i) => i),
    );
  });

  it('keeps every point when a compaction fails, reports degraded, and compacts on the next try', async () => {
    await open();
    await store.write([s('Signals/a', T0, 1), s('Signals/a', T0 + 1, 1), s('Signals/b', T0, 'x')]);
    const db = new Database(path);
    db.exec("CREATE TRIGGER refuse BEFORE INSERT ON chunks BEGIN SELECT RAISE(ABORT, 'disk says no'); END");
    const failing = store.compact();
    // Written after the failed try: newer than the points taken back, so it must win over them.
    await store.write([s('Signals/a', T0 + 1, 2)]);
    await failing;
    expect(store.health()).toMatchObject({
      status: 'degraded',
      detail: expect.stringContaining('disk says no'),
    });
    expect(await store.query(q('Signals/a'))).toEqual([
      { ts: T0, value: 1 },
      { ts: T0 + 1, value: 2 },
    ]);
    db.exec('DROP TRIGGER refuse');
    db.close();
    await store.compact();
    expect(store.health()).toEqual({ status: 'up' });
    expect(rows('SELECT count(*) AS n FROM landing')).toBe(0);
    expect((await store.query(q('Signals/a'))).map((p) => p.value)).toEqual([1, 2]);
    expect(await store.latest('acme', 'cnc-1')).toEqual([
      { metric: 'Signals/a', ts: T0 + 1, value: 2 },
      { metric: 'Signals/b', ts: T0, value: 'x' },
    ]);
    await store.close();
    await open();
    expect((await store.query(q('Signals/a'))).map((p) => p.value)).toEqual([1, 2]);
  });

  it('reads the rows of a file made before this layout, below anything written since', async () => {
    const db = new Database(path);
    db.exec(MIGRATIONS[0]!);
    db.pragma('user_version = 1');
    db.prepare(
      "INSERT INTO series (id, enterprise, machine, metric) VALUES (1, 'acme', 'cnc-1', 'Signals/old')",
    ).run();
    const insert = db.prepare(
      'INSERT INTO samples (series_id, ts, value, vtype, quality) VALUES (1, ?, ?, ?, ?)',
    );
    insert.run(T0, 1.5, 1, 0);
    insert.run(T0 + 1, 1, 2, 2);
    insert.run(T0 + 2, '18446744073709551615', 4, 0);
    db.close();
    await open();
    expect(await store.query(q('Signals/old'))).toEqual([
      { ts: T0, value: 1.5 },
      { ts: T0 + 1, value: true, quality: 'bad' },
      { ts: T0 + 2, value: 2n ** 64n - 1n },
    ]);
    await store.write([s('Signals/old', T0 + 1, 'replaced'), s('Signals/old', T0 + 3, 4)]);
    await store.compact();
    expect((await store.query(q('Signals/old', { limit: 3 }))).map((p) => p.value)).toEqual([
      'replaced',
      2n ** 64n - 1n,
      4,
    ]);
    expect(await store.latest('acme', 'cnc-1')).toEqual([{ metric: 'Signals/old', ts: T0 + 3, value: 4 }]);
  });
});
