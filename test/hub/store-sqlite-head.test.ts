/**
 * The SQLite store's head (hub/store/sqlite/head.ts): a compaction copies its points by series
 * front to back through the log (startGather / gatherStep), and must come out with what walking
 * each series' thread gives (points): the same bytes in the order written and their newest
 * time, however the copying is sliced, for points of every kind and for a head that took back an
 * older one (absorb). A write packs its points in place at the end of the log; they are the
 * head's only once landed.
 */
import { describe, expect, it } from 'vitest';
import { Head } from '../../hub/store/sqlite/head.js';
import { ByteWriter, eachPointIn, writePoint } from '../../hub/store/sqlite/points.js';
import type { SampleValue } from '../../hub/store/types.js';
import { seeded } from '../support/seeded.js';

/** Appends `writes` landing blobs of random points over `series` ids (sparse, up to 3 × series). */
function fill(head: Head, rnd: () => number, writes: number, series: number): void {
  const values: (() => SampleValue)[] = [
    () => rnd() * 1000,
    () => null,
    () => rnd() < 0.5,
    () => 'x'.repeat(Math.floor(rnd() * 20)),
    () => 2n ** 60n + BigInt(Math.floor(rnd() * 1000)),
  ];
  for (let w = 0; w < writes; w++) {
    const out = new ByteWriter(256);
    const count = 1 + Math.floor(rnd() * 50);
    const ends = new Uint32Array(count);
    let minTs = Number.POSITIVE_INFINITY;
    let maxTs = Number.NEGATIVE_INFINITY;
    for (let i = 0; i < count; i++) {
      const id = 3 * Math.floor(rnd() * series) + 1;
      // Times out of order within a series too: the newest is not the last written.
      const ts = 1_700_000_000_000 + Math.floor(rnd() * 100_000);
      out.ensure(4);
      out.buf.writeUInt32LE(id, out.len);
      out.len += 4;
      writePoint(out, ts, values[Math.floor(rnd() * values.length)]!(), rnd() < 0.2 ? 'bad' : undefined);
      ends[i] = out.len;
      minTs = Math.min(minTs, ts);
      maxTs = Math.max(maxTs, ts);
    }
    head.appendLanding(Buffer.from(out.bytes()), ends, count, minTs, maxTs);
  }
}

function expectGatherMatchesChunks(head: Head, step: number): void {
  const g = head.startGather();
  for (let from = 0; from < head.pointCount; from += step) {
    head.gatherStep(g, from, Math.min(head.pointCount, from + step));
  }
  expect(g.ids).toEqual(head.seriesIds());
  expect(g.ids.length).toBe(head.seriesCount);
  for (const id of g.ids) {
    const walked = head.points(id)!;
    let newest = Number.NEGATIVE_INFINITY;
    eachPointIn(walked, Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY, (_o, ts) => {
      newest = Math.max(newest, ts);
    });
    const got = head.gathered(g, id);
    expect(got.maxTs).toBe(newest);
    expect(got.points.equals(walked)).toBe(true);
  }
}

describe('Head', () => {
  it('gathers each series as its thread gives it, however the copy is sliced', () => {
    const head = new Head(0);
    fill(head, seeded(1), 300, 200);
    expect(head.pointCount).toBeGreaterThan(3000);
    for (const step of [1, 7, 1000, head.pointCount]) expectGatherMatchesChunks(head, step);
  });

  it('gathers a head that took back an older one: the older points first in each series', () => {
    const rnd = seeded(2);
    const older = new Head(0);
    fill(older, rnd, 100, 50);
    const head = new Head(0);
    fill(head, rnd, 100, 80);
    const before = older.pointCount + head.pointCount;
    head.absorb(older);
    expect(head.pointCount).toBe(before);
    expectGatherMatchesChunks(head, 333);
  });

  it('takes points packed in place (writer) only once landed: a write given up leaves nothing', () => {
    const rnd = seeded(3);
    const head = new Head(0);
    const expected = new Map<number, Buffer[]>();
    for (let w = 0; w < 400; w++) {
      const out = head.writer();
      const count = 1 + Math.floor(rnd() * 40);
      const ids = new Uint32Array(count);
      const ends = new Uint32Array(count);
      const points: [number, Buffer][] = [];
      for (let i = 0; i < count; i++) {
        const id = Math.floor(rnd() * 60);
        out.ensure(4);
        out.buf.writeUInt32LE(id, out.len);
        out.len += 4;
        const at = out.len;
        writePoint(
          out,
          1_700_000_000_000 + w,
          rnd() < 0.8 ? rnd() : 'y'.repeat(Math.floor(rnd() * 30)),
          undefined,
        );
        ids[i] = id;
        ends[i] = out.len;
        points.push([id, Buffer.from(out.buf.subarray(at, out.len))]);
      }
      // About one write in four fails (its SQLite row not written): never landed.
      if (rnd() < 0.25) continue;
      head.landed(ids, ends, count, 1_700_000_000_000 + w, 1_700_000_000_000 + w);
      for (const [id, bytes] of points) expected.set(id, [...(expected.get(id) ?? []), bytes]);
    }
    expect(head.seriesIds()).toEqual([...expected.keys()].sort((a, b) => a - b));
    for (const [id, parts] of expected) expect(head.points(id)!.equals(Buffer.concat(parts))).toBe(true);
    expectGatherMatchesChunks(head, 500);
  });

  it('gathers nothing from an empty head', () => {
    const head = new Head(0);
    const g = head.startGather();
    expect(g.ids).toEqual([]);
    expect(g.bytes.length).toBe(0);
  });
});
