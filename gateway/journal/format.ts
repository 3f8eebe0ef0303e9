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

/**
 * Writes frames into one buffer reused from frame to frame. The body is the same text
 * JSON.stringify would make of `[position, deviceId, at, [[name, value, rank, ts], …]]`, written
 * as bytes directly: integers digit by digit, metric names from a cache of their quoted bytes,
 * so a frame of 100 metrics allocates nothing but the rare value that is not a number.
 */
class FrameWriter {
  #buf = Buffer.allocUnsafe(64 * 1024);
  #pos = 0;
  /** The last timestamp written and where its text is: a poll's metrics share their time. */
  #lastTime = Number.NaN;
  #lastTimeAt = 0;
  #lastTimeLength = 0;
  /** Metric names as JSON strings in UTF-8: the same few hundred names go into every frame. */
  readonly #names = new Map<string, Buffer>();

  frame(r: JournalRecord): Buffer {
    this.#pos = HEADER;
    this.#lastTime = Number.NaN;
    this.#room(64);
    this.#buf[this.#pos++] = 0x5b; // [
    this.#number(r.position);
    this.#buf[this.#pos++] = 0x2c; // ,
    this.#text(JSON.stringify(r.deviceId));
    this.#room(64);
    this.#buf[this.#pos++] = 0x2c;
    this.#number(r.at);
    this.#buf[this.#pos++] = 0x2c;
    this.#buf[this.#pos++] = 0x5b;
    const metrics = r.metrics;
    for (let i = 0; i < metrics.length; i++) {
      const m = metrics[i]!;
      const name = this.#quoted(m.name);
      // Room for the name, the brackets and commas, the rank and two numbers of ≤ 24 bytes.
      this.#room(name.length + 64);
      const buf = this.#buf;
      if (i > 0) buf[this.#pos++] = 0x2c;
      buf[this.#pos++] = 0x5b;
      if (name.length > 32) name.copy(buf, this.#pos);
      else for (let k = 0; k < name.length; k++) buf[this.#pos + k] = name[k]!;
      this.#pos += name.length;
      buf[this.#pos++] = 0x2c;
      const v = m.value;
      if (typeof v === 'number' && Number.isFinite(v)) this.#number(v);
      else this.#text(JSON.stringify(encodeValue(v)) ?? 'null');
      this.#room(32);
      this.#buf[this.#pos++] = 0x2c;
      const rank = QUALITY_RANK[m.quality];
      if (rank === undefined) this.#text('null');
      else this.#buf[this.#pos++] = 0x30 + rank;
      this.#buf[this.#pos++] = 0x2c;
      this.#time(m.timestamp);
      this.#buf[this.#pos++] = 0x5d; // ]
    }
    this.#room(2);
    this.#buf[this.#pos++] = 0x5d;
    this.#buf[this.#pos++] = 0x5d;
    const buf = this.#buf;
    const length = this.#pos - HEADER;
    buf.writeUInt32LE(length, 0);
    buf.writeUInt32LE(crc32(buf.subarray(HEADER, this.#pos)), 4);
    const frame = buf.subarray(0, this.#pos);
    // Let go of a buffer a very large frame grew.
    if (buf.length > KEEP_BYTES) this.#buf = Buffer.allocUnsafe(64 * 1024);
    return frame;
  }

  #room(bytes: number): void {
    const need = this.#pos + bytes;
    if (need <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, 2 * this.#buf.length));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }

  /**
   * A number as JSON.stringify writes it (non-finite ones are null); the caller made room for
   * 24 bytes. Safe integers are written digit by digit, in two halves of up to 8 digits so
   * that the arithmetic stays in small integers.
   */
  #number(n: number): void {
    if (!Number.isSafeInteger(n)) {
      this.#text(Number.isFinite(n) ? String(n) : 'null');
      return;
    }
    if (n < 0) {
      this.#buf[this.#pos++] = 0x2d; // -
      n = -n;
    }
    if (n < 1e8) {
      this.#digits(n, 0);
      return;
    }
    const high = Math.floor(n / 1e8);
    this.#digits(high, 0);
    this.#digits(n - high * 1e8, 8);
  }

  /** A metric's timestamp: a copy of the last one's text when it is the same. */
  #time(t: number): void {
    const buf = this.#buf;
    if (t === this.#lastTime) {
      const from = this.#lastTimeAt;
      const length = this.#lastTimeLength;
      for (let i = 0; i < length; i++) buf[this.#pos + i] = buf[from + i]!;
      this.#pos += length;
      return;
    }
    const at = this.#pos;
    this.#number(t);
    this.#lastTime = t;
    this.#lastTimeAt = at;
    this.#lastTimeLength = this.#pos - at;
  }

  /** The decimal digits of `n` (< 10^8), left-padded with zeros to `width`. */
  #digits(n: number, width: number): void {
    let count = 1;
    for (let x = n; x >= 10; x = (x / 10) | 0) count++;
    if (count < width) count = width;
    const buf = this.#buf;
    let at = this.#pos + count;
    this.#pos = at;
    for (let i = 0; i < count; i++) {
      const next = (n / 10) | 0;
      buf[--at] = 0x30 + n - next * 10;
      n = next;
    }
  }

  #text(s: string): void {
    this.#room(3 * s.length);
    this.#pos += this.#buf.write(s, this.#pos, 'utf8');
  }

  /** A metric name as a JSON string in UTF-8. */
  #quoted(name: string): Buffer {
    let quoted = this.#names.get(name);
    if (quoted === undefined) {
      quoted = Buffer.from(JSON.stringify(name));
      if (this.#names.size < QUOTED_NAMES_MAX) this.#names.set(name, quoted);
    }
    return quoted;
  }
}

const QUOTED_NAMES_MAX = 100_000;
/** The reused frame buffer is kept up to this size. */
const KEEP_BYTES = 4 * 1024 * 1024;
const writer = new FrameWriter();

/**
 * The frame of a record, in a buffer the next call reuses: write it out (or copy it) before
 * encoding another. The journal's append path; encodeFrame gives a frame of its own.
 */
export function encodeFrameShared(r: JournalRecord): Buffer {
  return writer.frame(r);
}

export function encodeFrame(r: JournalRecord): Buffer {
  return Buffer.from(writer.frame(r));
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
