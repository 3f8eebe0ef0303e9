/**
 * What a read of the SQLite store merges: the parts a time range meets, and one series' points
 * from several sources (the head, the head being compacted, parts, the first layout's rows),
 * one per time, the higher-ranked source winning.
 */
import type { SeriesPoint } from '../types.js';
import { eachPointIn, readPoint } from './points.js';

/** A compaction's part and the times its points span. */
export interface Part {
  readonly id: number;
  readonly minTs: number;
  readonly maxTs: number;
}

/**
 * The parts, by id, and which of them a time range meets. Parts are made in time order, so the
 * newest time of the parts up to each one (a running maximum) rises with the id: a binary search
 * on it skips every part too old for a range in one step, however many a year of compactions made.
 */
export class PartList {
  #parts: Part[] = [];
  #runningMax: number[] = [];

  get size(): number {
    return this.#parts.length;
  }

  clear(): void {
    this.#parts = [];
    this.#runningMax = [];
  }

  push(p: Part): void {
    this.#parts.push({ id: p.id, minTs: p.minTs, maxTs: p.maxTs });
    this.#runningMax.push(Math.max(this.#runningMax.at(-1) ?? Number.NEGATIVE_INFINITY, p.maxTs));
  }

  /** The parts holding a time in [from, to]. */
  meeting(from: number, to: number): Part[] {
    // The first part whose running maximum reaches `from`: every part before it ends earlier.
    let lo = 0;
    let hi = this.#parts.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.#runningMax[mid]! < from) lo = mid + 1;
      else hi = mid;
    }
    const out: Part[] = [];
    for (let i = lo; i < this.#parts.length; i++) {
      const p = this.#parts[i]!;
      if (p.maxTs >= from && p.minTs <= to) out.push(p);
    }
    return out;
  }
}

/**
 * One series' points from several sources, one per time: of two at the same time, the one from
 * the higher-ranked source, or the later of one source, stays.
 */
export class PointSet {
  readonly #byTime = new Map<
    number,
    { rank: number; point: SeriesPoint | undefined; bytes?: Buffer; at: number }
  >();

  constructor(
    readonly from: number,
    readonly to: number,
  ) {}

  get size(): number {
    return this.#byTime.size;
  }

  addBytes(rank: number, bytes: Buffer | undefined): void {
    if (bytes === undefined) return;
    eachPointIn(bytes, this.from, this.to, (at, ts) => {
      const had = this.#byTime.get(ts);
      if (had === undefined || rank >= had.rank) this.#byTime.set(ts, { rank, point: undefined, bytes, at });
    });
  }

  add(rank: number, point: SeriesPoint): void {
    if (point.ts < this.from || point.ts > this.to) return;
    const had = this.#byTime.get(point.ts);
    if (had === undefined || rank >= had.rank) this.#byTime.set(point.ts, { rank, point, at: 0 });
  }

  /** The time of the `n`th newest point held (n ≤ size). */
  newestTime(n: number): number {
    return [...this.#byTime.keys()].sort((a, b) => b - a)[n - 1]!;
  }

  /** The newest `n` points, oldest first. */
  newest(n: number): SeriesPoint[] {
    const times = [...this.#byTime.keys()].sort((a, b) => a - b).slice(-n);
    return times.map((ts) => {
      const e = this.#byTime.get(ts)!;
      return e.point ?? readPoint(e.bytes!, e.at);
    });
  }
}
