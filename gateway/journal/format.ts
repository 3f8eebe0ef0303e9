/**
 * The journal's on-disk format. A journal is a folder of segment files, `<first position>.seg`
 * (16 digits), each a run of frames:
 *
 *   u32 LE length of the body · u32 LE CRC-32 of the body · body
 *
 * The body is compact JSON: `[position, deviceId, appendedAt, [[name, value, quality, ts], …]]`,
 * quality as its storage rank (QUALITY_RANK: 0 good, 1 uncertain, 2 bad); values JSON cannot
 * hold are tagged objects (`{"i":"…"}` a 64-bit integer, `{"x":"…"}` bytes in base64,
 * `{"f":"NaN"}` a non-finite number). Positions are consecutive within a segment. A frame cut short by a crash, or
 * whose CRC does not match, ends the segment: it and anything after it are discarded, counted.
 * A sealed segment is compressed (raw deflate, `<first position>.segz`) and has a sidecar
 * `<first>.idx` with its figures, so opening a large journal does not read every segment.
 */
import { crc32 } from 'node:zlib';
import { type MetricUpdate, type MetricValue, QUALITY_RANK, qualityFromRank } from '../../protocol/index.js';

/** One journalled message: a machine's (device's) metrics at one position. */
export interface JournalRecord {
  readonly position: number;
  readonly deviceId: string;
  /** When it was appended (ms). */
  readonly at: number;
  /** As they were published (protocol's MetricUpdate, the very values the sampler gave). */
  readonly metrics: readonly MetricUpdate[];
}

const HEADER = 8;

export const SEGMENT_SUFFIX = '.seg';
export const COMPRESSED_SUFFIX = '.segz';
export const INDEX_SUFFIX = '.idx';

const stem = (first: number): string => String(first).padStart(16, '0');

export function segmentName(first: number, compressed = false): string {
  return `${stem(first)}${compressed ? COMPRESSED_SUFFIX : SEGMENT_SUFFIX}`;
}

export function indexName(first: number): string {
  return `${stem(first)}${INDEX_SUFFIX}`;
}

/** The first position of a segment file name and whether it is compressed, or undefined. */
export function parseSegmentName(name: string): { first: number; compressed: boolean } | undefined {
  const m = /^(\d{16})\.seg(z?)$/.exec(name);
  return m === null ? undefined : { first: Number(m[1]), compressed: m[2] === 'z' };
}

function encodeValue(v: MetricValue): unknown {
  if (typeof v === 'number') return Number.isFinite(v) ? v : { f: String(v) };
  if (typeof v === 'bigint') return { i: v.toString() };
  if (v instanceof Uint8Array)
    return { x: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64') };
  return v;
}

function decodeValue(v: unknown): MetricValue {
  if (v === null || typeof v !== 'object') return v as MetricValue;
  const o = v as { f?: string; i?: string; x?: string };
  if (o.f !== undefined) return Number(o.f);
  if (o.i !== undefined) return BigInt(o.i);
  if (o.x !== undefined) return new Uint8Array(Buffer.from(o.x, 'base64'));
  throw new Error('unknown tagged value');
}

export function encodeFrame(r: JournalRecord): Buffer {
  const body = Buffer.from(
    JSON.stringify([
      r.position,
      r.deviceId,
      r.at,
      r.metrics.map((m) => [m.name, encodeValue(m.value), QUALITY_RANK[m.quality], m.timestamp]),
    ]),
  );
  const frame = Buffer.allocUnsafe(HEADER + body.length);
  frame.writeUInt32LE(body.length, 0);
  frame.writeUInt32LE(crc32(body), 4);
  body.copy(frame, HEADER);
  return frame;
}

export function decodeBody(body: Buffer): JournalRecord {
  const [position, deviceId, at, metrics] = JSON.parse(body.toString('utf8')) as [
    number,
    string,
    number,
    [string, unknown, number, number][],
  ];
  return {
    position,
    deviceId,
    at,
    metrics: metrics.map(([name, value, q, timestamp]) => ({
      name,
      value: decodeValue(value),
      quality: qualityFromRank(q),
      timestamp,
    })),
  };
}

export interface ScanResult {
  /** Start offset of each good frame, in order. */
  readonly offsets: number[];
  /** Where the good frames end (the rest is torn or corrupt). */
  readonly end: number;
  /** Position of the last good frame, or undefined when none. */
  readonly last: number | undefined;
  /** Append time of the last good frame. */
  readonly lastAt: number | undefined;
  /** Bytes after `end` that are not a good frame (a crash mid-write, or damage). */
  readonly badBytes: number;
}

/**
 * Walks the frames of `buf` from `from`, checking length, CRC and that positions follow on
 * from `expect` (the position the first frame must have).
 */
export function scanFrames(buf: Buffer, from: number, expect: number): ScanResult {
  const offsets: number[] = [];
  let off = from;
  let next = expect;
  let last: number | undefined;
  let lastAt: number | undefined;
  while (off + HEADER <= buf.length) {
    const len = buf.readUInt32LE(off);
    const end = off + HEADER + len;
    if (end > buf.length) break;
    const body = buf.subarray(off + HEADER, end);
    if (crc32(body) !== buf.readUInt32LE(off + 4)) break;
    let rec: JournalRecord;
    try {
      rec = decodeBody(body);
    } catch {
      break;
    }
    if (rec.position !== next) break;
    offsets.push(off);
    last = rec.position;
    lastAt = rec.at;
    next++;
    off = end;
  }
  return { offsets, end: off, last, lastAt, badBytes: buf.length - off };
}

/** The record of the frame at `offset` (already checked by scanFrames). */
export function frameAt(buf: Buffer, offset: number): JournalRecord {
  const len = buf.readUInt32LE(offset);
  return decodeBody(buf.subarray(offset + HEADER, offset + HEADER + len));
}

/** A sealed segment's figures, kept next to it. */
export interface SegmentIndex {
  readonly first: number;
  readonly last: number;
  /** Bytes on disk (compressed, for a compressed segment). */
  readonly bytes: number;
  readonly lastAt: number;
  readonly compressed?: boolean;
}

export function parseIndex(
  text: string,
  first: number,
  bytes: number,
  compressed: boolean,
): SegmentIndex | undefined {
  try {
    const o = JSON.parse(text) as Partial<SegmentIndex>;
    if (o.first !== first || o.bytes !== bytes || (o.compressed === true) !== compressed) return undefined;
    if (typeof o.last !== 'number' || typeof o.lastAt !== 'number' || o.last < first - 1) return undefined;
    return { first, last: o.last, bytes, lastAt: o.lastAt, compressed };
  } catch {
    return undefined;
  }
}
