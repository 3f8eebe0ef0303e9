/**
 * What a background journal (io: 'background', the gateway's) does on the event loop and what it
 * leaves to the thread pool, seen through the file system calls it makes; and a process killed
 * at each step of a background seal (a step held open here) reopens with every message
 * (issue 13: a hundred gateways in one process stalled on their journals' fsyncs and seals).
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Journal, type JournalOptions } from '../../gateway/journal/index.js';
import type { MetricUpdate } from '../../protocol/metrics.js';

/** Calls of the blocking file functions, and holds on the asynchronous ones. */
const fsWatch = vi.hoisted(() => ({
  blocking: { fdatasyncSync: 0, renameSync: 0, writeFileSync: 0, readFileSync: 0 },
  /** A path suffix whose next rename / writeFile waits until released. */
  hold: undefined as
    | { suffix: string; op: 'rename' | 'writeFile'; reached: () => void; wait: Promise<void> }
    | undefined,
}));

vi.mock('node:fs', async (importOriginal) => {
  const fs = await importOriginal<typeof import('node:fs')>();
  const counted =
    <A extends unknown[], R>(name: keyof typeof fsWatch.blocking, f: (...a: A) => R) =>
    (...a: A): R => {
      fsWatch.blocking[name]++;
      return f(...a);
    };
  const wrapped = {
    ...fs,
    fdatasyncSync: counted('fdatasyncSync', fs.fdatasyncSync),
    renameSync: counted('renameSync', fs.renameSync),
    writeFileSync: counted('writeFileSync', fs.writeFileSync),
    readFileSync: counted('readFileSync', fs.readFileSync) as typeof fs.readFileSync,
  };
  return { ...wrapped, default: wrapped };
});

vi.mock('node:fs/promises', async (importOriginal) => {
  const fsp = await importOriginal<typeof import('node:fs/promises')>();
  const held = async (op: 'rename' | 'writeFile', path: unknown) => {
    const h = fsWatch.hold;
    if (h !== undefined && h.op === op && String(path).endsWith(h.suffix)) {
      h.reached();
      await h.wait;
    }
  };
  const wrapped = {
    ...fsp,
    rename: async (from: string, to: string) => {
      await held('rename', to);
      return fsp.rename(from, to);
    },
    writeFile: (async (path: string, ...rest: unknown[]) => {
      await held('writeFile', path);
      return (fsp.writeFile as (...a: unknown[]) => Promise<void>)(path, ...rest);
    }) as typeof fsp.writeFile,
  };
  return { ...wrapped, default: wrapped };
});

const logger = pino({ level: 'silent' });

function update(n: number): MetricUpdate[] {
  return [
    { name: 'Signals/partCount', value: n, quality: 'good', timestamp: 1_764_000_000_000 + n },
    { name: 'State', value: 'running', quality: 'good', timestamp: 1_764_000_000_000 + n },
  ];
}

const range = (from: number, to: number): number[] =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

/** Holds the next `op` on a path ending in `suffix`; `reached` resolves when it is called. */
function hold(op: 'rename' | 'writeFile', suffix: string): { reached: Promise<void>; release: () => void } {
  let release = () => {};
  let reached = () => {};
  const wait = new Promise<void>((r) => {
    release = r;
  });
  const reachedP = new Promise<void>((r) => {
    reached = r;
  });
  fsWatch.hold = { suffix, op, reached, wait };
  return { reached: reachedP, release };
}

describe('a background journal and the event loop', () => {
  let dir: string;
  let now: number;
  const open = (o: Partial<JournalOptions> = {}) =>
    new Journal({ dir, logger, now: () => now, io: 'background', ...o });
  const files = () => readdirSync(dir);
  const resetCounts = () => {
    for (const k of Object.keys(fsWatch.blocking) as (keyof typeof fsWatch.blocking)[])
      fsWatch.blocking[k] = 0;
  };

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'wanji-journal-offloop-'));
    now = 1_764_000_000_000;
    fsWatch.hold = undefined;
  });
  afterEach(() => {
    fsWatch.hold = undefined;
    rmSync(dir, { recursive: true, force: true });
  });

  /** Appends, seals, acknowledges, flushes and closes; the blocking calls made meanwhile. */
  async function housekeeping(io: 'blocking' | 'background') {
    const j = new Journal({ dir, logger, now: () => now, io, segmentBytes: 8 * 1024, fsyncIntervalMs: 1000 });
    resetCounts();
    for (let n = 1; n <= 1500; n++) j.append('m', update(n));
    j.ack(600);
    now += 1500;
    j.maintain();
    for (let n = 1501; n <= 1600; n++) j.append('m', update(n));
    now += 1500;
    j.maintain();
    j.close();
    await j.settled();
    return { ...fsWatch.blocking };
  }

  it('fsyncs, seals and saves its state off the event loop; a blocking journal does all three on it', async () => {
    const blocking = await housekeeping('blocking');
    expect(blocking.fdatasyncSync).toBeGreaterThan(1);
    expect(blocking.renameSync).toBeGreaterThan(1);
    rmSync(dir, { recursive: true, force: true });
    const background = await housekeeping('background');
    expect(background).toEqual({ fdatasyncSync: 0, renameSync: 0, writeFileSync: 0, readFileSync: 0 });
    const b = open({ io: 'blocking' });
    expect(b.acked).toBe(600);
    expect(b.head).toBe(1600);
    expect(b.read(601, 5000).map((r) => r.position)).toEqual(range(601, 1600));
    b.close();
  });

  it('with fsyncIntervalMs 0, still fsyncs every append before it returns, sealing or not', async () => {
    const j = open({ segmentBytes: 4 * 1024, fsyncIntervalMs: 0 });
    resetCounts();
    for (let n = 1; n <= 300; n++) {
      expect(j.append('m', update(n))).toBe(n);
      expect(fsWatch.blocking.fdatasyncSync).toBe(n);
    }
    expect(files().filter((f) => f.endsWith('.seg')).length).toBeGreaterThan(1); // seals were in flight
    j.close();
    await j.settled();
  });

  it('killed while a seal waits to rename its compressed copy: reopens with everything, the half copy gone', async () => {
    const a = open({ segmentBytes: 4 * 1024 });
    const h = hold('rename', '.segz');
    for (let n = 1; n <= 200; n++) a.append('m', update(n));
    await h.reached;
    expect(files().some((f) => f.endsWith('.segz.tmp'))).toBe(true);
    // The process dies here: `a` is never used again. A new process opens the folder.
    fsWatch.hold = undefined;
    const b = open({ io: 'blocking' });
    expect(files().some((f) => f.endsWith('.tmp'))).toBe(false);
    expect(b.head).toBe(200);
    expect(b.read(1, 1000).map((r) => r.position)).toEqual(range(1, 200));
    b.close();
  });

  it('killed after the rename, before the index: reopens from the compressed copy, the raw one removed', async () => {
    const a = open({ segmentBytes: 4 * 1024 });
    const h = hold('writeFile', '.idx');
    for (let n = 1; n <= 200; n++) a.append('m', update(n));
    await h.reached;
    const first = files()
      .find((f) => f.endsWith('.segz'))
      ?.replace('.segz', '');
    expect(first).toBeDefined();
    expect(files()).toContain(`${first}.seg`); // the raw copy is still there
    fsWatch.hold = undefined;
    const b = open({ io: 'blocking' });
    expect(files()).not.toContain(`${first}.seg`);
    expect(b.head).toBe(200);
    expect(b.read(1, 1000).map((r) => r.position)).toEqual(range(1, 200));
    b.close();
  });

  it('a segment acknowledged while its seal is renaming: the copy is removed, nothing of it stays', async () => {
    const a = open({ segmentBytes: 4 * 1024 });
    const h = hold('rename', '.segz');
    for (let n = 1; n <= 200; n++) a.append('m', update(n));
    await h.reached;
    const held = files()
      .find((f) => f.endsWith('.segz.tmp'))!
      .replace('.segz.tmp', '');
    a.ack(200); // every sealed segment goes, the one being renamed too
    h.release();
    fsWatch.hold = undefined;
    await a.settled();
    expect(files().filter((f) => f.startsWith(held))).toEqual([]);
    const onDisk = files()
      .filter((f) => /\.segz?$/.test(f))
      .reduce((n, f) => n + statSync(join(dir, f)).size, 0);
    expect(a.bytes).toBe(onDisk);
    expect(a.backlog).toBe(0);
    a.close();
    await a.settled();
    const b = open();
    expect(b.head).toBe(200);
    expect(b.backlog).toBe(0);
    b.close();
    await b.settled();
  });
});
