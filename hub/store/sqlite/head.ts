/**
 * The SQLite store's head: the points written since the last compaction, held in memory by
 * series (packed as in points.ts) so that a read finds them without a scan of the landing rows
 * that hold them on disk. A compaction writes a head's bytes of each series as one chunk row.
 */
/** One series' points in a head, in the order written. */
export interface HeadSeries {
  bytes: Buffer;
  len: number;
  minTs: number;
  maxTs: number;
}

export class Head {
  readonly series = new Map<number, HeadSeries>();
  /** Bytes held, over all series. */
  bytes = 0;
  minTs = Number.POSITIVE_INFINITY;
  maxTs = Number.NEGATIVE_INFINITY;

  constructor(
    /** When it was started (ms), for the compaction's age limit. */
    readonly since: number,
  ) {}

  get empty(): boolean {
    return this.bytes === 0;
  }

  /** Appends a point of series `id`: bytes [start, end) of `src`, time `ts`. */
  append(id: number, src: Buffer, start: number, end: number, ts: number): void {
    const n = end - start;
    let s = this.series.get(id);
    if (s === undefined) {
      s = { bytes: Buffer.allocUnsafe(Math.max(256, n)), len: 0, minTs: ts, maxTs: ts };
      this.series.set(id, s);
    } else {
      if (ts < s.minTs) s.minTs = ts;
      if (ts > s.maxTs) s.maxTs = ts;
    }
    if (s.len + n > s.bytes.length) {
      const next = Buffer.allocUnsafe(Math.max(s.bytes.length * 2, s.len + n));
      s.bytes.copy(next, 0, 0, s.len);
      s.bytes = next;
    }
    src.copy(s.bytes, s.len, start, end);
    s.len += n;
    this.bytes += n;
    if (ts < this.minTs) this.minTs = ts;
    if (ts > this.maxTs) this.maxTs = ts;
  }

  /** Series `id`'s points, or undefined when it has none here. */
  points(id: number): Buffer | undefined {
    const s = this.series.get(id);
    return s === undefined ? undefined : s.bytes.subarray(0, s.len);
  }

  /**
   * Takes back an older head's points (a compaction that failed): each series' older points go
   * before its newer ones, so that the last written still wins.
   */
  absorb(older: Head): void {
    const newer = [...this.series];
    this.series.clear();
    this.bytes = 0;
    for (const [id, s] of [...older.series, ...newer]) {
      if (s.len === 0) continue;
      this.append(id, s.bytes, 0, s.len, s.minTs);
      const merged = this.series.get(id)!;
      if (s.maxTs > merged.maxTs) merged.maxTs = s.maxTs;
      if (s.maxTs > this.maxTs) this.maxTs = s.maxTs;
    }
  }
}
