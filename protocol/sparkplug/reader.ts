/**
 * The protobuf reader the payload decoder reads with: the wire format writer.ts writes, read
 * without allocating per field or per payload (reset() takes the next one). protobufjs' Reader
 * made a Long object per 64-bit value (every metric's timestamp and alias); the hub decodes every
 * DDATA of the fleet, and decoding was a tenth of its time at 100,000 samples/s.
 * Every read is bounds-checked: running past the end throws a PayloadDecodeError.
 */
import { PayloadDecodeError } from './payload.js';
import { FIXED32, FIXED64, LEN, VARINT } from './wire.js';

const TWO_32 = 2 ** 32;
/** |high word| below this keeps high × 2^32 + low within Number's exact integers. */
const SAFE_HIGH = 2 ** 21;
/** Strings up to this long are decoded in JS when all ASCII (cheaper than a call into C++). */
const SHORT_STRING = 32;
const END_GROUP = 4;
const START_GROUP = 3;

function truncated(): never {
  throw new PayloadDecodeError('field runs past the end of the payload');
}

/** A 64-bit two's complement value (two 32-bit words) as a number when exact, else a bigint. */
export function fromWords(lo: number, hi: number, signed: boolean): number | bigint {
  const high = signed ? hi | 0 : hi >>> 0;
  if (high < SAFE_HIGH && high > -SAFE_HIGH) return high * TWO_32 + (lo >>> 0);
  const u = (BigInt(hi >>> 0) << 32n) | BigInt(lo >>> 0);
  const b = signed ? BigInt.asIntN(64, u) : u;
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

/** Scratch for reading floats: the bytes are copied in and read as the number (no DataView). */
const F64 = new Float64Array(1);
const F64_BYTES = new Uint8Array(F64.buffer);
const F32 = new Float32Array(1);
const F32_BYTES = new Uint8Array(F32.buffer);
/** Protobuf is little-endian; so is nearly every host, but not all. */
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export class PayloadReader {
  pos = 0;
  len = 0;
  #buf: Uint8Array;
  /** The words of the last 64-bit varint read (words()). */
  #lo = 0;
  #hi = 0;

  constructor(buf: Uint8Array) {
    this.#buf = buf;
    this.len = buf.length;
  }

  /** Starts reading `buf` from its beginning (one reader serves payload after payload). */
  reset(buf: Uint8Array): this {
    this.#buf = buf;
    this.len = buf.length;
    this.pos = 0;
    return this;
  }

  /** A varint truncated to 32 bits, unsigned (tags, lengths, enums, int_value). */
  uint32(): number {
    const pos = this.pos;
    if (pos < this.len) {
      const b = this.#buf[pos]!;
      if (b < 0x80) {
        this.pos = pos + 1;
        return b;
      }
    }
    this.#varint64();
    return this.#lo >>> 0;
  }

  /** A uint64 field: a number when exact, else a bigint. */
  uint64(): number | bigint {
    this.#varint64();
    return fromWords(this.#lo, this.#hi, false);
  }

  /** Reads a 64-bit varint whose meaning (signed or not) is known later: see lo and hi. */
  words(): void {
    this.#varint64();
  }

  /** Low and high 32-bit words of the last words(). */
  get lo(): number {
    return this.#lo;
  }

  get hi(): number {
    return this.#hi;
  }

  /** A uint64 field where only a number makes sense (times, aliases, seq): beyond 2^53, rounded. */
  uint64Number(): number {
    this.#varint64();
    return (this.#hi >>> 0) * TWO_32 + (this.#lo >>> 0);
  }

  bool(): boolean {
    return this.uint32() !== 0;
  }

  float(): number {
    this.#little(F32_BYTES);
    return F32[0]!;
  }

  double(): number {
    this.#little(F64_BYTES);
    return F64[0]!;
  }

  /** Moves past the next `into.length` bytes, copied into `into` in the host's byte order. */
  #little(into: Uint8Array): void {
    const n = into.length;
    const pos = this.#advance(n);
    const b = this.#buf;
    if (HOST_LE) for (let i = 0; i < n; i++) into[i] = b[pos + i]!;
    else for (let i = 0; i < n; i++) into[n - 1 - i] = b[pos + i]!;
  }

  /** Length-delimited UTF-8 (malformed sequences become U+FFFD). */
  string(): string {
    const length = this.uint32();
    const start = this.#advance(length);
    const buf = this.#buf;
    if (length <= SHORT_STRING) {
      let s = '';
      let i = start;
      const end = start + length;
      for (; i < end; i++) {
        const c = buf[i]!;
        if (c >= 0x80) break;
        s += String.fromCharCode(c);
      }
      if (i === end) return s;
    }
    return Buffer.from(buf.buffer, buf.byteOffset + start, length).toString('utf8');
  }

  /** Length-delimited bytes, copied into an array of their own. */
  bytes(): Uint8Array {
    const length = this.uint32();
    const start = this.#advance(length);
    return new Uint8Array(this.#buf.subarray(start, start + length));
  }

  /** The end of a length-delimited field whose length comes next (checked against the payload's). */
  delimited(): number {
    const length = this.uint32();
    const end = this.pos + length;
    if (end > this.len) truncated();
    return end;
  }

  /** Skips a field of the given wire type (groups included, to their end-group tag). */
  skip(wireType: number): void {
    switch (wireType) {
      case VARINT:
        this.#varint64();
        return;
      case FIXED64:
        this.#advance(8);
        return;
      case LEN:
        this.pos = this.delimited();
        return;
      case START_GROUP:
        for (;;) {
          const tag = this.uint32();
          if ((tag & 7) === END_GROUP) return;
          this.skip(tag & 7);
        }
      case FIXED32:
        this.#advance(4);
        return;
      default:
        throw new PayloadDecodeError(`invalid wire type ${wireType} at offset ${this.pos}`);
    }
  }

  /** Moves past `bytes` bytes; returns where they start. */
  #advance(bytes: number): number {
    const pos = this.pos;
    if (pos + bytes > this.len) truncated();
    this.pos = pos + bytes;
    return pos;
  }

  /** Reads a varint of up to 10 bytes into #lo/#hi (bits past 64 are dropped, as protobuf does). */
  #varint64(): void {
    const buf = this.#buf;
    const len = this.len;
    let pos = this.pos;
    let lo = 0;
    let hi = 0;
    let b = 0x80;
    // Bits 0–27: four bytes into the low word.
    for (let shift = 0; shift < 28 && b >= 0x80; shift += 7) {
      if (pos >= len) truncated();
      b = buf[pos++]!;
      lo |= (b & 0x7f) << shift;
    }
    if (b >= 0x80) {
      // Bits 28–34: the fifth byte straddles the words.
      if (pos >= len) truncated();
      b = buf[pos++]!;
      lo |= (b & 0x7f) << 28;
      hi = (b & 0x7f) >> 4;
      // Bits 35–63: up to five more bytes into the high word.
      for (let shift = 3; shift < 32 && b >= 0x80; shift += 7) {
        if (pos >= len) truncated();
        b = buf[pos++]!;
        hi |= (b & 0x7f) << shift;
      }
      if (b >= 0x80) throw new PayloadDecodeError('varint longer than 10 bytes');
    }
    this.pos = pos;
    this.#lo = lo;
    this.#hi = hi;
  }
}
