import {
  appendFileSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inflateRawSync } from 'node:zlib';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, type JournalOptions } from '../../gateway/journal/index.js';
import type { MetricUpdate } from '../../gateway/sampler.js';

const logger = pino({ level: 'silent' });

function update(n: number): MetricUpdate[] {
  return [
    { name: 'Signals/partCount', value: n, quality: 'good', timestamp: 1_764_000_000_000 + n },
    { name: 'State', value: 'running', quality: 'good', timestamp: 1_764_000_000_000 + n },
  ];
}

describe('Journal', () => {
  let dir: string;
  const segmentBytesOnDisk = () =>
    readdirSync(dir)
      .filter((f) => /\.segz?$/.test(f))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
  let now: number;
  const open = (o: Partial<JournalOptions> = {}) => new Journal({ dir, logger, now: () => now, ...o });

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wanji-journal-'));
    now = 1_764_000_000_000;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('numbers messages from 1, reads them back in order, and frees them when acknowledged', () => {
    const j = open({ segmentBytes: 1024 });
    for (let n = 1; n <= 200; n++) expect(j.append(`m${n % 3}`, update(n))).toBe(n);
    expect(j.head).toBe(200);
    expect(j.backlog).toBe(200);
    expect(j.start).toBe(1);
    const segmentsBefore = readdirSync(dir).filter((f) => /\.segz?$/.test(f)).length;
    expect(segmentsBefore).toBeGreaterThan(5);

    const all = j.read(1, 1000);
    expect(all.map((r) => r.position)).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
    expect(all[41]).toMatchObject({ position: 42, deviceId: 'm0', metrics: update(42) });
    expect(j.read(150, 3).map((r) => r.position)).toEqual([150, 151, 152]);

    j.ack(120);
    expect(j.acked).toBe(120);
    expect(j.bytes).toBe(segmentBytesOnDisk());
    expect(j.start).toBe(121);
    expect(j.backlog).toBe(80);
    const segmentsAfter = readdirSync(dir).filter((f) => /\.segz?$/.test(f)).length;
    expect(segmentsAfter).toBeLessThan(segmentsBefore);
    // what the hub acknowledged may be gone; what it did not is all there
    expect(j.read(121, 1000).map((r) => r.position)).toEqual(Array.from({ length: 80 }, (_, i) => i + 121));
    j.ack(90); // an older acknowledgement changes nothing
    expect(j.acked).toBe(120);
    j.ack(10_000); // nor can one beyond what was written
    expect(j.acked).toBe(200);
    expect(j.backlog).toBe(0);
    j.close();
  });

  it('keeps its id, positions and acknowledged point across a restart', () => {
    const a = open({ segmentBytes: 2048 });
    for (let n = 1; n <= 50; n++) a.append('m', update(n));
    a.ack(30);
    const id = a.id;
    a.close();
    const b = open({ segmentBytes: 2048 });
    expect(b.id).toBe(id);
    expect(b.acked).toBe(30);
    expect(b.head).toBe(50);
    expect(b.start).toBe(31);
    expect(b.append('m', update(51))).toBe(51);
    expect(b.read(31, 100).map((r) => r.position)).toEqual(Array.from({ length: 21 }, (_, i) => i + 31));
    b.close();
  });

  it('without close (killed), still has every appended message; a torn last frame is cut off and counted', () => {
    const a = open({ segmentBytes: 4096, fsyncIntervalMs: 0 });
    for (let n = 1; n <= 40; n++) a.append('m', update(n));
    // no close(): the process died. Then a frame half written when it died:
    const seg = readdirSync(dir)
      .filter((f) => f.endsWith('.seg'))
      .sort()
      .at(-1)!;
    appendFileSync(join(dir, seg), Buffer.from([200, 0, 0, 0, 1, 2, 3, 4, 91, 49]));
    const b = open({ segmentBytes: 4096 });
    expect(b.head).toBe(40);
    expect(b.counters.corruptBytes).toBe(10);
    expect(b.read(1, 100).map((r) => r.position)).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(b.append('m', update(41))).toBe(41);
    b.close();
    const c = open({ segmentBytes: 4096 });
    expect(c.read(40, 5).map((r) => r.position)).toEqual([40, 41]);
    c.close();
  });

  it('a frame whose bytes were damaged ends the segment there', () => {
    const a = open({ segmentBytes: 1 << 20 });
    for (let n = 1; n <= 10; n++) a.append('m', update(n));
    a.close();
    const seg = join(dir, readdirSync(dir).find((f) => f.endsWith('.seg'))!);
    const size = statSync(seg).size;
    truncateSync(seg, size - 3);
    const b = open();
    expect(b.head).toBe(9);
    expect(b.counters.corruptBytes).toBeGreaterThan(0);
    b.close();
  });

  it('round-trips every value a metric can hold', () => {
    const j = open();
    const metrics: MetricUpdate[] = [
      { name: 'a', value: 2n ** 63n - 1n, quality: 'good', timestamp: 1 },
      { name: 'b', value: new Uint8Array([0, 1, 255]), quality: 'uncertain', timestamp: 2 },
      { name: 'c', value: Number.NaN, quality: 'bad', timestamp: 3 },
      { name: 'd', value: Number.NEGATIVE_INFINITY, quality: 'good', timestamp: 4 },
      { name: 'e', value: null, quality: 'bad', timestamp: 5 },
      { name: 'f', value: '数控 "quoted"', quality: 'good', timestamp: 6 },
      { name: 'g', value: true, quality: 'good', timestamp: 7 },
      { name: 'h', value: -0.5, quality: 'good', timestamp: 8 },
    ];
    j.append('m', metrics);
    expect(j.read(1, 1)[0]?.metrics).toEqual(metrics);
    j.close();
  });

  it('drop-oldest: when full, the oldest messages go, counted; new ones are taken', () => {
    const j = open({ maxBytes: 8192, segmentBytes: 1024, whenFull: 'drop-oldest' });
    for (let n = 1; n <= 400; n++) expect(j.append('m', update(n))).toBe(n);
    expect(j.bytes).toBeLessThanOrEqual(8192);
    expect(j.counters.dropped).toBeGreaterThan(0);
    // nothing was acknowledged: what is held plus what was dropped is everything
    expect(j.backlog + j.counters.dropped).toBe(400);
    expect(j.start).toBe(j.counters.dropped + 1);
    expect(j.read(1, 1000)[0]?.position).toBe(j.start);
    j.close();
  });

  it('stop-sampling: when full, new messages are refused and counted until an acknowledgement frees room', () => {
    const j = open({ maxBytes: 8192, segmentBytes: 1024, whenFull: 'stop-sampling' });
    let taken = 0;
    for (let n = 1; n <= 400; n++) if (j.append('m', update(n)) !== undefined) taken++;
    expect(j.full).toBe(true);
    expect(j.counters.refused).toBe(400 - taken);
    expect(j.counters.dropped).toBe(0);
    expect(j.head).toBe(taken);
    j.ack(taken - 5);
    expect(j.full).toBe(false);
    expect(j.append('m', update(999))).toBe(taken + 1);
    j.close();
  });

  it('expires unacknowledged messages older than maxAge, counted, at segment granularity', () => {
    const j = open({ maxAgeMs: 60_000, segmentBytes: 1024 });
    for (let n = 1; n <= 50; n++) j.append('m', update(n));
    now += 120_000;
    for (let n = 51; n <= 60; n++) j.append('m', update(n));
    j.maintain();
    // whole segments go: the one that also holds recent messages stays
    expect(j.counters.expired).toBeGreaterThan(30);
    expect(j.counters.expired).toBeLessThanOrEqual(50);
    expect(j.start).toBe(j.counters.expired + 1);
    expect(j.backlog + j.counters.expired).toBe(60);
    expect(j.read(1, 100).map((r) => r.position)).toEqual(
      Array.from({ length: 60 - j.counters.expired }, (_, i) => i + j.counters.expired + 1),
    );
    j.close();
  });

  it('a lost journal folder starts over with a new id', () => {
    const a = open();
    a.append('m', update(1));
    const id = a.id;
    a.close();
    rmSync(dir, { recursive: true });
    const b = open();
    expect(b.id).not.toBe(id);
    expect(b.head).toBe(0);
    expect(b.append('m', update(1))).toBe(1);
    b.close();
  });

  it('compresses sealed segments, reads them back, and survives a crash in the middle of sealing', () => {
    const a = open({ segmentBytes: 64 * 1024, maxBytes: 1 << 30 });
    for (let n = 1; n <= 3000; n++) a.append(`machine-${n % 10}`, update(n));
    const files = readdirSync(dir);
    const sealed = files.filter((f) => f.endsWith('.segz'));
    expect(sealed.length).toBeGreaterThan(1);
    expect(files.filter((f) => f.endsWith('.seg'))).toHaveLength(1); // only the active one is raw
    // repeated metric names: the sealed segments are a fraction of their 64 KiB
    for (const f of sealed) expect(statSync(join(dir, f)).size).toBeLessThan(16 * 1024);
    expect(a.read(1, 5000).map((r) => r.position)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    expect(a.bytes).toBe(segmentBytesOnDisk());
    a.close();

    // A crash after the compressed copy was written but before its index and the raw file's
    // removal: rebuild the raw file next to it and drop the index.
    const first = sealed[0]!.replace('.segz', '');
    const b = open();
    const rawCopy = b.read(Number(first), 1)[0];
    expect(rawCopy?.position).toBe(Number(first));
    b.close();
    rmSync(join(dir, `${first}.idx`));
    writeFileSync(join(dir, `${first}.seg`), inflateRawSync(readFileSync(join(dir, `${first}.segz`))));
    const c = open();
    expect(readdirSync(dir)).not.toContain(`${first}.seg`); // the leftover raw copy is gone
    expect(c.head).toBe(3000);
    expect(c.read(1, 5000).map((r) => r.position)).toEqual(Array.from({ length: 3000 }, (_, i) => i + 1));
    c.close();
  });
});
