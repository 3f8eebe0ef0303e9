/**
 * How the SQLite store keeps points: packed bytes, many points to a row, not a row each.
 *
 * One point is a tag byte (the value's kind in the low nibble, the quality rank above it), the
 * time as a float64 (ms since the epoch) and the value:
 *
 * | kind | value bytes |
 * | --- | --- |
 * | null (also NaN and ±Infinity, which JSON cannot carry) | none |
 * | number | float64 |
 * | false, true | none |
 * | string | uint32 byte length, UTF-8 |
 * | integer beyond ±(2^53−1) | uint32 byte length, its decimal digits (exact, never a double) |
 *
 * All little-endian. A series' points (a chunk, or the head's bytes of one series) are points one
 * after another, in the order written; a landing row (one `write()`) puts each point after the
 * uint32 id of its series.
 */
import { QUALITY_RANK, type Quality, qualityFromRank } from '../../../protocol/quality.js';
import type { SampleValue, SeriesPoint } from '../types.js';
import { parseExactInteger } from '../values.js';

const K_NULL = 0;
const K_NUMBER = 1;
const K_FALSE = 2;
const K_TRUE = 3;
const K_STRING = 4;
const K_INTEGER = 5;

/** Bytes of a point before its value: the tag and the time. */
const HEAD_BYTES = 9;

/** A growing buffer of bytes written front to back. */
export class ByteWriter {
  buf: Buffer;
  len = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  /** Room for `n` more bytes. */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.len + n));
    this.buf.copy(next, 0, 0, this.len);
    this.buf = next;
  }

  /** What is written so far (a view, valid until the next write). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.len);
  }
}

/** Appends one point to `w`. */
export function writePoint(
  w: ByteWriter,
  ts: number,
  value: SampleValue,
  quality: Quality | undefined,
): void {
  const q = quality === undefined ? 0 : QUALITY_RANK[quality] << 4;
  if (typeof value === 'number' && Number.isFinite(value)) {
    w.ensure(HEAD_BYTES + 8);
    const o = w.len;
    w.buf[o] = K_NUMBER | q;
    w.buf.writeDoubleLE(ts, o + 1);
    w.buf.writeDoubleLE(value, o + HEAD_BYTES);
    w.len = o + HEAD_BYTES + 8;
    return;
  }
  if (typeof value === 'string' || typeof value === 'bigint') {
    const text = typeof value === 'string' ? value : value.toString();
    const n = Buffer.byteLength(text);
    w.ensure(HEAD_BYTES + 4 + n);
    const o = w.len;
    w.buf[o] = (typeof value === 'string' ? K_STRING : K_INTEGER) | q;
    w.buf.writeDoubleLE(ts, o + 1);
    w.buf.writeUInt32LE(n, o + HEAD_BYTES);
    w.buf.write(text, o + HEAD_BYTES + 4, n, 'utf8');
    w.len = o + HEAD_BYTES + 4 + n;
    return;
  }
  w.ensure(HEAD_BYTES);
  const o = w.len;
  w.buf[o] = (value === true ? K_TRUE : value === false ? K_FALSE : K_NULL) | q;
  w.buf.writeDoubleLE(ts, o + 1);
  w.len = o + HEAD_BYTES;
}

/** Where the point starting at `o` ends. */
export function pointEnd(b: Buffer, o: number): number {
  const kind = b[o]! & 0x0f;
  if (kind === K_NUMBER) return o + HEAD_BYTES + 8;
  if (kind === K_STRING || kind === K_INTEGER) return o + HEAD_BYTES + 4 + b.readUInt32LE(o + HEAD_BYTES);
  return o + HEAD_BYTES;
}

/** The time of the point starting at `o`. */
export function pointTime(b: Buffer, o: number): number {
  return b.readDoubleLE(o + 1);
}

/** The point starting at `o`. */
export function readPoint(b: Buffer, o: number): SeriesPoint {
  const tag = b[o]!;
  const ts = b.readDoubleLE(o + 1);
  let value: SampleValue;
  switch (tag & 0x0f) {
    case K_NUMBER:
      value = b.readDoubleLE(o + HEAD_BYTES);
      break;
    case K_TRUE:
      value = true;
      break;
    case K_FALSE:
      value = false;
      break;
    case K_STRING:
    case K_INTEGER: {
      const n = b.readUInt32LE(o + HEAD_BYTES);
      const text = b.toString('utf8', o + HEAD_BYTES + 4, o + HEAD_BYTES + 4 + n);
      value = (tag & 0x0f) === K_STRING ? text : (parseExactInteger(text) ?? null);
      break;
    }
    default:
      value = null;
  }
  const quality = qualityFromRank(tag >> 4);
  return quality === 'good' ? { ts, value } : { ts, value, quality };
}

/**
 * Calls `each` with the start of every point of a series' bytes whose time is within
 * [from, to], in order. Stops at a truncated point instead of reading past the end.
 */
export function eachPointIn(
  b: Buffer,
  from: number,
  to: number,
  each: (o: number, ts: number) => void,
): void {
  let o = 0;
  while (o + HEAD_BYTES <= b.length) {
    const end = pointEnd(b, o);
    if (end > b.length) return;
    const ts = b.readDoubleLE(o + 1);
    if (ts >= from && ts <= to) each(o, ts);
    o = end;
  }
}

/**
 * Calls `each` with every point of a landing row: its series id and where its bytes are.
 * Stops at a truncated entry.
 */
export function eachLandingPoint(
  b: Buffer,
  each: (seriesId: number, start: number, end: number, ts: number) => void,
): void {
  let o = 0;
  while (o + 4 + HEAD_BYTES <= b.length) {
    const id = b.readUInt32LE(o);
    const end = pointEnd(b, o + 4);
    if (end > b.length) return;
    each(id, o + 4, end, b.readDoubleLE(o + 5));
    o = end;
  }
}
