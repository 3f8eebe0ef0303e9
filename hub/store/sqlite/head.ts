/**
 * The SQLite store's head: the points written since the last compaction, in memory, so that a
 * read finds them without a scan of the landing rows that hold them on disk.
 *
 * The head keeps each write's landing bytes as they are, one after another in one log, and
 * threads each series' points through it with typed arrays: per point its offset in the log and
 * the next point of its series; per series id (SQLite rowids: small and dense) its first and last
 * point. Appending a write is one copy and a few array stores per point. Keeping a buffer per
 * series instead cost 0.7 µs a sample at 100,000 samples/s: a series' Map entry, object and
 * buffer are each a cache miss among 100,000 series.
 */
import { ByteWriter, pointEnd, pointTime } from './points.js';

const NONE = -1;

/** A compaction's copy of a head, by series (Head.startGather). */
export interface Gathered {
  /** The series with points, ascending. */
  readonly ids: number[];
  readonly bytes: Buffer;
  /** Per series id: where its points start in `bytes`, and where the next one goes. */
  readonly start: Int32Array;
  readonly cursor: Int32Array;
  /** Per series id: the newest time among its points. */
  readonly maxTs: Float64Array;
}

/** An Int32Array at least `n` long, its old values kept, the new ones `fill`. */
function grown(a: Int32Array, n: number, fill: number): Int32Array {
  if (n <= a.length) return a;
  const next = new Int32Array(Math.max(n, a.length * 2));
  next.set(a);
  next.fill(fill, a.length);
  return next;
}

export class Head {
  /**
   * Landing bytes: per point the uint32 series id, then the point (points.ts). The head holds
   * the first #logLen of them; a write packs its own after those (writer, landed).
   */
  #log: ByteWriter;
  #logLen = 0;
  /** Per point: where its bytes start in the log (after the id), and its series' next point. */
  #at: Int32Array;
  #next: Int32Array;
  #points = 0;
  /** Per series id: its first and last point, NONE when it has none here; its points' bytes. */
  #first: Int32Array;
  #last: Int32Array;
  #bytesOf: Int32Array;
  #series = 0;
  minTs = Number.POSITIVE_INFINITY;
  maxTs = Number.NEGATIVE_INFINITY;

  /**
   * `like`: the head this one follows (the one a compaction takes), whose sizes it starts with,
   * so that it does not grow to them again by doubling, copying its log (up to the store's
   * headMaxBytes) each time. Pages not yet written take no memory.
   */
  constructor(
    /** When it was started (ms), for the compaction's age limit. */
    readonly since: number,
    like?: Head,
  ) {
    this.#log = new ByteWriter(Math.max(1024 * 1024, like === undefined ? 0 : like.#logLen));
    const points = Math.max(64 * 1024, like === undefined ? 0 : like.#points);
    this.#at = new Int32Array(points);
    this.#next = new Int32Array(points);
    const series = Math.max(1024, like === undefined ? 0 : like.#first.length);
    this.#first = new Int32Array(series).fill(NONE);
    this.#last = new Int32Array(series).fill(NONE);
    this.#bytesOf = new Int32Array(series);
  }

  /** Bytes held. */
  get bytes(): number {
    return this.#logLen;
  }

  get empty(): boolean {
    return this.#points === 0;
  }

  /** How many points are here. */
  get pointCount(): number {
    return this.#points;
  }

  /** How many series have points here. */
  get seriesCount(): number {
    return this.#series;
  }

  /**
   * Where a write packs its landing bytes (id, point, id, point …): the log's writer, at the end
   * of what the head holds, so the bytes the write sends to SQLite are the head's too, with no
   * copy. They are the head's once landed() is called; a write that fails before that leaves
   * them to be written over by the next writer().
   */
  writer(): ByteWriter {
    this.#log.len = this.#logLen;
    return this.#log;
  }

  /**
   * Takes the `count` points packed since writer(): point i of series `ids[i]` ends at `ends[i]`
   * in the log, their times between `minTs` and `maxTs`.
   */
  landed(ids: Uint32Array, ends: Uint32Array, count: number, minTs: number, maxTs: number): void {
    if (this.#points + count > this.#at.length) {
      this.#at = grown(this.#at, this.#points + count, 0);
      this.#next = grown(this.#next, this.#points + count, NONE);
    }
    let start = this.#logLen;
    for (let i = 0; i < count; i++) {
      const end = ends[i]!;
      this.#link(ids[i]!, start + 4, end - start - 4);
      start = end;
    }
    this.#logLen = start;
    if (minTs < this.minTs) this.minTs = minTs;
    if (maxTs > this.maxTs) this.maxTs = maxTs;
  }

  /**
   * Appends a landing blob's points as written (a landing row read back at start): `ends[i]`
   * where point i ends in `landing`, `count` points, their times between `minTs` and `maxTs`.
   */
  appendLanding(landing: Buffer, ends: Uint32Array, count: number, minTs: number, maxTs: number): void {
    const w = this.writer();
    const base = w.len;
    w.ensure(landing.length);
    landing.copy(w.buf, base);
    w.len = base + landing.length;
    const ids = new Uint32Array(count);
    const inLog = new Uint32Array(count);
    let start = 0;
    for (let i = 0; i < count; i++) {
      ids[i] = landing.readUInt32LE(start);
      start = ends[i]!;
      inLog[i] = base + start;
    }
    this.landed(ids, inLog, count, minTs, maxTs);
  }

  #link(id: number, at: number, bytes: number): void {
    if (id >= this.#first.length) {
      this.#first = grown(this.#first, id + 1, NONE);
      this.#last = grown(this.#last, id + 1, NONE);
      this.#bytesOf = grown(this.#bytesOf, id + 1, 0);
    }
    this.#bytesOf[id]! += bytes;
    const k = this.#points++;
    this.#at[k] = at;
    this.#next[k] = NONE;
    const last = this.#last[id]!;
    if (last === NONE) {
      this.#first[id] = k;
      this.#series++;
    } else this.#next[last] = k;
    this.#last[id] = k;
  }

  /**
   * Series `id`'s points, in the order written, as one buffer; undefined when it has none. A
   * walk of the series' thread (a read's: a compaction gathers them all, startGather).
   */
  points(id: number): Buffer | undefined {
    let k = id < this.#first.length ? this.#first[id]! : NONE;
    if (k === NONE) return undefined;
    const log = this.#log.buf;
    const out = Buffer.allocUnsafe(this.#bytesOf[id]!);
    let o = 0;
    for (; k !== NONE; k = this.#next[k]!) {
      const at = this.#at[k]!;
      const end = pointEnd(log, at);
      for (let i = at; i < end; i++) out[o++] = log[i]!;
    }
    return out;
  }

  /**
   * Starts copying the head's points into one buffer, each series' points together (in the
   * order written) and the series in ascending id order: what a compaction writes as chunks.
   * gatherStep() does the copying a range of points at a time, reading the log front to back;
   * walking each series' thread instead is a chain of cache misses, one per point.
   */
  startGather(): Gathered {
    const ids = this.seriesIds();
    const start = new Int32Array(this.#first.length);
    let total = 0;
    for (const id of ids) {
      start[id] = total;
      total += this.#bytesOf[id]!;
    }
    return {
      ids,
      bytes: Buffer.allocUnsafe(total),
      start,
      cursor: Int32Array.from(start),
      maxTs: new Float64Array(this.#first.length).fill(Number.NEGATIVE_INFINITY),
    };
  }

  /** Copies points `from` to `to` (exclusive, in the order written) into `g`. */
  gatherStep(g: Gathered, from: number, to: number): void {
    const log = this.#log.buf;
    const out = g.bytes;
    const { cursor, maxTs } = g;
    const ats = this.#at;
    for (let k = from; k < to; k++) {
      const at = ats[k]!;
      const id = log.readUInt32LE(at - 4);
      const ts = pointTime(log, at);
      if (ts > maxTs[id]!) maxTs[id] = ts;
      const end = pointEnd(log, at);
      let o = cursor[id]!;
      for (let i = at; i < end; i++) out[o++] = log[i]!;
      cursor[id] = o;
    }
  }

  /** Series `id`'s points in a finished gather, and the newest time among them. */
  gathered(g: Gathered, id: number): { points: Buffer; maxTs: number } {
    const start = g.start[id]!;
    return { points: g.bytes.subarray(start, start + this.#bytesOf[id]!), maxTs: g.maxTs[id]! };
  }

  /** The ids of the series with points here, ascending. */
  seriesIds(): number[] {
    const ids: number[] = [];
    for (let id = 0; id < this.#first.length; id++) if (this.#first[id] !== NONE) ids.push(id);
    return ids;
  }

  /**
   * Takes back an older head's points (a compaction that failed) before this one's, so that the
   * last written still wins: the older log, then this one, threaded again.
   */
  absorb(older: Head): void {
    const mine = this.#log.buf.subarray(0, this.#logLen);
    const mineAt = this.#at.subarray(0, this.#points);
    const olderAt = older.#at.subarray(0, older.#points);
    const base = older.#logLen;
    const writer = new ByteWriter(Math.max(1024 * 1024, base + mine.length));
    const log = writer.buf;
    older.#log.buf.copy(log, 0, 0, base);
    mine.copy(log, base);
    writer.len = base + mine.length;
    this.#log = writer;
    this.#logLen = writer.len;
    const ats = [...olderAt, ...Array.from(mineAt, (a) => a + base)];
    this.#at = new Int32Array(Math.max(ats.length, 1024));
    this.#next = new Int32Array(this.#at.length).fill(NONE);
    this.#first.fill(NONE);
    this.#last.fill(NONE);
    this.#bytesOf.fill(0);
    this.#points = 0;
    this.#series = 0;
    for (const at of ats) this.#link(log.readUInt32LE(at - 4), at, pointEnd(log, at) - at);
    if (older.minTs < this.minTs) this.minTs = older.minTs;
    if (older.maxTs > this.maxTs) this.maxTs = older.maxTs;
  }
}
