/**
 * A background journal (io: 'background', the gateway's): full segments are sealed off the event
 * loop while appends go on into the next one, and close() + settled() waits for that work. Nothing
 * is lost whatever the seal is doing when the journal is read, acknowledged, filled or closed, and
 * the folder reopens with everything (issue 13: a hundred gateways in one process).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Journal, type JournalOptions } from '../../gateway/journal/index.js';
import type { MetricUpdate } from '../../protocol/metrics.js';

const logger = pino({ level: 'silent' });

function update(n: number): MetricUpdate[] {
  return [
    { name: 'Signals/partCount', value: n, quality: 'good', timestamp: 1_764_000_000_000 + n },
    { name: 'State', value: 'running', quality: 'good', timestamp: 1_764_000_000_000 + n },
  ];
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

describe('a background journal', () => {
  let dir: string;
  let now: number;
  const open = (o: Partial<JournalOptions> = {}) =>
    new Journal({ dir, logger, now: () => now, io: 'background', ...o });
  const files = () => readdirSync(dir);
  const onDisk = () =>
    files()
      .filter((f) => /\.segz?$/.test(f))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0);

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wanji-journal-async-'));
    now = 1_764_000_000_000;
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('seals in the background while appends and reads go on, then reopens with everything', async () => {
    const a = open({ segmentBytes: 16 * 1024 });
    for (let n = 1; n <= 2000; n++) expect(a.append(`machine-${n % 10}`, update(n))).toBe(n);
    // The seals are queued, not done: every message reads back whichever file holds it now.
    expect(a.read(1, 5000).map((r) => r.position)).toEqual(range(1, 2000));
    await a.settled();
    const sealed = files().filter((f) => f.endsWith('.segz'));
    expect(sealed.length).toBeGreaterThan(3);
    expect(files().filter((f) => f.endsWith('.seg'))).toHaveLength(1); // only the active one is raw
    expect(files().filter((f) => f.endsWith('.idx'))).toHaveLength(sealed.length);
    expect(files().some((f) => f.endsWith('.tmp'))).toBe(false);
    expect(a.bytes).toBe(onDisk());
    expect(a.read(1, 5000).map((r) => r.position)).toEqual(range(1, 2000));
    a.ack(700);
    a.close();
    await a.settled();

    const b = open({ segmentBytes: 16 * 1024 });
    expect(b.head).toBe(2000);
    expect(b.acked).toBe(700);
    expect(b.read(701, 5000).map((r) => r.position)).toEqual(range(701, 2000));
    expect(b.read(1000, 1)[0]).toMatchObject({
      position: 1000,
      deviceId: 'machine-0',
      metrics: update(1000),
    });
    b.close();
    await b.settled();
  });

  it('closed while seals are in flight and appends have just gone on: close waits, nothing is lost', async () => {
    const a = open({ segmentBytes: 8 * 1024 });
    for (let n = 1; n <= 1500; n++) a.append('m', update(n));
    a.close();
    expect(a.append('m', update(1501))).toBeUndefined(); // closed: takes nothing more
    await a.settled();
    // Every seal finished before the files were closed: no raw copy left beside a sealed one.
    const raw = files().filter((f) => f.endsWith('.seg'));
    expect(raw).toHaveLength(1);
    expect(files().some((f) => f.endsWith('.tmp'))).toBe(false);

    const b = open({ segmentBytes: 8 * 1024, io: 'blocking' });
    expect(b.head).toBe(1500);
    expect(b.counters.corruptBytes).toBe(0);
    expect(b.read(1, 5000).map((r) => r.position)).toEqual(range(1, 1500));
    expect(b.append('m', update(1501))).toBe(1501);
    b.close();
  });

  it('a segment acknowledged while it is being sealed leaves no file behind', async () => {
    const a = open({ segmentBytes: 4 * 1024 });
    for (let n = 1; n <= 600; n++) a.append('m', update(n));
    a.ack(550); // every sealed segment goes before its seal has run
    await a.settled();
    const segments = files().filter((f) => /\.segz?$/.test(f));
    const indexes = files().filter((f) => f.endsWith('.idx'));
    // What is left: the segment holding 551–600 (active, or sealed with its index) and no more.
    expect(segments.length).toBeLessThanOrEqual(2);
    expect(indexes.length).toBe(segments.filter((f) => f.endsWith('.segz')).length);
    expect(a.bytes).toBe(onDisk());
    expect(a.start).toBe(551);
    expect(a.read(551, 1000).map((r) => r.position)).toEqual(range(551, 600));
    a.close();
    await a.settled();
    const b = open();
    expect(b.head).toBe(600);
    expect(b.read(551, 100).map((r) => r.position)).toEqual(range(551, 600));
    b.close();
    await b.settled();
  });

  it('drop-oldest drops segments being sealed, counted, and none comes back on reopening', async () => {
    const a = open({ maxBytes: 16 * 1024, segmentBytes: 2 * 1024, whenFull: 'drop-oldest' });
    for (let n = 1; n <= 1000; n++) expect(a.append('m', update(n))).toBe(n);
    expect(a.counters.dropped).toBeGreaterThan(0);
    expect(a.backlog + a.counters.dropped).toBe(1000);
    await a.settled();
    expect(a.bytes).toBe(onDisk());
    expect(a.bytes).toBeLessThanOrEqual(16 * 1024);
    const start = a.start;
    expect(a.read(1, 2000).map((r) => r.position)).toEqual(range(start, 1000));
    a.close();
    await a.settled();
    const b = open({ maxBytes: 16 * 1024, segmentBytes: 2 * 1024 });
    expect(b.start).toBe(start); // what was dropped stays dropped
    expect(b.read(1, 2000).map((r) => r.position)).toEqual(range(start, 1000));
    b.close();
    await b.settled();
  });

  it('stop-sampling refuses while full, counted, and takes again once room is freed', async () => {
    const a = open({ maxBytes: 16 * 1024, segmentBytes: 2 * 1024, whenFull: 'stop-sampling' });
    let taken = 0;
    for (let n = 1; n <= 2000; n++) if (a.append('m', update(n)) !== undefined) taken++;
    expect(a.full).toBe(true); // the raw segments waiting for their seal count in full
    expect(a.counters.refused).toBe(2000 - taken);
    expect(a.counters.dropped).toBe(0);
    await a.settled();
    // Sealed, they take a fraction of that: room again, as a blocking journal would have had.
    expect(a.full).toBe(false);
    expect(a.bytes).toBe(onDisk());
    for (let n = 1; n <= 5000 && !a.full; n++) if (a.append('m', update(n)) !== undefined) taken++;
    await a.settled();
    expect(a.head).toBe(taken);
    a.ack(a.head);
    expect(a.full).toBe(false);
    expect(a.append('m', update(9999))).toBe(taken + 1);
    a.close();
    await a.settled();
  });

  it('flushes and saves its state from maintain() in the background', async () => {
    const a = open({ fsyncIntervalMs: 1000 });
    for (let n = 1; n <= 50; n++) a.append('m', update(n));
    a.ack(20);
    now += 1500;
    a.maintain();
    await a.settled();
    // Killed now (no close): the state saved by maintain() is what a restart finds.
    const b = open();
    expect(b.acked).toBe(20);
    expect(b.head).toBe(50);
    b.close();
    await b.settled();
  });
});
