/**
 * The protobuf writer the payload encoder writes with: the wire format protobufjs' Writer
 * writes (same bytes), into one buffer that is reused from payload to payload. protobufjs'
 * Writer allocates an operation object per field and a Long per 64-bit value; a gateway
 * publishing 100,000 metrics a second made about 500 bytes of garbage per metric with it.
 * Each payload is copied out of the reused buffer once, at `finish()`.
 */
import { PayloadEncodeError } from './payload.js';

const TWO_32 = 2 ** 32;
/** The reused buffer is kept up to this size between payloads. */
const KEEP_BYTES = 1024 * 1024;

export class PayloadWriter {
  #buf: Buffer;
  #pos = 0;
  /** Where each open fork's body starts (after the one byte reserved for its length). */
  readonly #forks: number[] = [];

  constructor(initialBytes = 4096) {
    this.#buf = Buffer.allocUnsafe(initialBytes);
  }

  /** Starts a payload (a buffer grown past KEEP_BYTES by a big one is let go). */
  reset(): this {
    if (this.#buf.length > KEEP_BYTES) this.#buf = Buffer.allocUnsafe(4096);
    this.#pos = 0;
    this.#forks.length = 0;
    return this;
  }

  uint32(value: number): this {
    this.#room(5);
    let v = value >>> 0;
    const buf = this.#buf;
    let pos = this.#pos;
    while (v > 127) {
      buf[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[pos++] = v;
    this.#pos = pos;
    return this;
  }

  /**
   * A 64-bit varint (uint64 and int64 fields alike: two's complement). Numbers are truncated;
   * `what` names the field in the error for a non-finite one.
   */
  long(value: number | bigint, what: string | (() => string)): this {
    let lo: number;
    let hi: number;
    if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        throw new PayloadEncodeError(`${typeof what === 'string' ? what : what()} is not finite`);
      }
      const n = Math.trunc(value);
      if (Number.isSafeInteger(n)) {
        // Timestamps, aliases, seq and positions: split without BigInt (the hot path).
        const high = Math.floor(n / TWO_32);
        lo = (n - high * TWO_32) >>> 0;
        hi = high >>> 0;
        return this.#varint64(lo, hi);
      }
      value = BigInt(n);
    }
    const u = BigInt.asUintN(64, value);
    lo = Number(u & 0xffffffffn) >>> 0;
    hi = Number(u >> 32n) >>> 0;
    return this.#varint64(lo, hi);
  }

  bool(value: boolean): this {
    this.#room(1);
    this.#buf[this.#pos++] = value ? 1 : 0;
    return this;
  }

  float(value: number): this {
    this.#room(4);
    this.#buf.writeFloatLE(value, this.#pos);
    this.#pos += 4;
    return this;
  }

  double(value: number): this {
    this.#room(8);
    this.#buf.writeDoubleLE(value, this.#pos);
    this.#pos += 8;
    return this;
  }

  /** Length-delimited UTF-8. */
  string(value: string): this {
    const length = Buffer.byteLength(value);
    this.uint32(length);
    this.#room(length);
    this.#pos += this.#buf.write(value, this.#pos, length, 'utf8');
    return this;
  }

  bytes(value: Uint8Array): this {
    this.uint32(value.length);
    this.#room(value.length);
    this.#buf.set(value, this.#pos);
    this.#pos += value.length;
    return this;
  }

  /** Starts a length-delimited submessage; ldelim() ends it. */
  fork(): this {
    this.#room(1);
    this.#forks.push(++this.#pos);
    return this;
  }

  /** Ends the submessage fork() started: its length goes before it. */
  ldelim(): this {
    const start = this.#forks.pop();
    if (start === undefined) throw new Error('PayloadWriter: ldelim() without fork()');
    const length = this.#pos - start;
    let width = 1;
    for (let v = length >>> 7; v > 0; v >>>= 7) width++;
    if (width > 1) {
      // The length takes more than the one byte reserved: move the body up.
      this.#room(width - 1);
      this.#buf.copyWithin(start + width - 1, start, this.#pos);
      this.#pos += width - 1;
    }
    let v = length;
    let pos = start - 1;
    const buf = this.#buf;
    while (v > 127) {
      buf[pos++] = (v & 127) | 128;
      v >>>= 7;
    }
    buf[pos] = v;
    return this;
  }

  /** The payload written since reset(), as a buffer of its own. */
  finish(): Buffer {
    const out = Buffer.allocUnsafe(this.#pos);
    this.#buf.copy(out, 0, 0, this.#pos);
    return out;
  }

  #varint64(lo: number, hi: number): this {
    this.#room(10);
    const buf = this.#buf;
    let pos = this.#pos;
    while (hi !== 0) {
      buf[pos++] = (lo & 127) | 128;
      lo = ((lo >>> 7) | (hi << 25)) >>> 0;
      hi >>>= 7;
    }
    while (lo > 127) {
      buf[pos++] = (lo & 127) | 128;
      lo >>>= 7;
    }
    buf[pos++] = lo;
    this.#pos = pos;
    return this;
  }

  #room(bytes: number): void {
    const need = this.#pos + bytes;
    if (need <= this.#buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(need, this.#buf.length * 2));
    this.#buf.copy(grown, 0, 0, this.#pos);
    this.#buf = grown;
  }
}
