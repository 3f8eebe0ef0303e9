/**
 * Pure Modbus decoding: registers (16-bit words, as they arrive) to values, per type and byte
 * order. Orders are named by where the value's bytes (A most significant) arrive:
 * CDAB and DCBA reverse the order of the words, BADC and DCBA swap the two bytes of each
 * word. For 64-bit values that gives ABCDEFGH, BADCFEHG, GHEFCDAB and HGFEDCBA.
 */
import type { ModbusType } from './schema.js';
import type { WordOrder } from './tags.js';

export type NumericType = Exclude<ModbusType, 'bool' | 'string'>;
export type NumericValue = number | bigint;

function wordSwapped(order: WordOrder): boolean {
  return order === 'CDAB' || order === 'DCBA';
}

function byteSwapped(order: WordOrder): boolean {
  return order === 'BADC' || order === 'DCBA';
}

const swapBytes = (w: number): number => ((w & 0xff) << 8) | ((w >> 8) & 0xff);

/** The value's bytes, most significant first, from the words as they arrived. */
export function toBigEndian(words: readonly number[], order: WordOrder): Buffer {
  const ordered = wordSwapped(order) ? [...words].reverse() : words;
  const buf = Buffer.alloc(ordered.length * 2);
  ordered.forEach((w, i) => {
    buf.writeUInt16BE(byteSwapped(order) ? swapBytes(w & 0xffff) : w & 0xffff, i * 2);
  });
  return buf;
}

/** The words that carry big-endian bytes `buf` in `order` (the inverse of toBigEndian). */
export function fromBigEndian(buf: Buffer, order: WordOrder): number[] {
  const words: number[] = [];
  for (let i = 0; i + 1 < buf.length; i += 2) {
    const w = buf.readUInt16BE(i);
    words.push(byteSwapped(order) ? swapBytes(w) : w);
  }
  return wordSwapped(order) ? words.reverse() : words;
}

export const NUMERIC_WIDTH: Readonly<Record<NumericType, number>> = {
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
  int64: 4,
  uint64: 4,
  float64: 4,
};

export class ModbusDecodeError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'ModbusDecodeError';
  }
}

/** A 64-bit integer as a number when it is exact, else as a bigint. */
function exact(n: bigint): NumericValue {
  return n >= BigInt(Number.MIN_SAFE_INTEGER) && n <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(n) : n;
}

/** Reused by decodeNumberAt: decoding allocates nothing per value. */
const scratch = Buffer.alloc(8);

/**
 * The raw value of the NUMERIC_WIDTH[type] registers at `data[offset]` as `type`. Works on
 * the answer as it came, without copying it (the poll loop decodes every tag this way).
 */
export function decodeNumberAt(
  data: ArrayLike<number | boolean>,
  offset: number,
  type: NumericType,
  order: WordOrder,
): NumericValue {
  const n = NUMERIC_WIDTH[type];
  if (offset + n > data.length) {
    throw new ModbusDecodeError(`${type} takes ${n} registers, got ${Math.max(0, data.length - offset)}`);
  }
  const reverse = wordSwapped(order);
  const swap = byteSwapped(order);
  for (let i = 0; i < n; i++) {
    const w = Number(data[offset + (reverse ? n - 1 - i : i)]) & 0xffff;
    scratch.writeUInt16BE(swap ? swapBytes(w) : w, i * 2);
  }
  switch (type) {
    case 'int16':
      return scratch.readInt16BE(0);
    case 'uint16':
      return scratch.readUInt16BE(0);
    case 'int32':
      return scratch.readInt32BE(0);
    case 'uint32':
      return scratch.readUInt32BE(0);
    case 'float32':
      return scratch.readFloatBE(0);
    case 'int64':
      return exact(scratch.readBigInt64BE(0));
    case 'uint64':
      return exact(scratch.readBigUInt64BE(0));
    case 'float64':
      return scratch.readDoubleBE(0);
  }
}

/** The raw value of `words` (exactly NUMERIC_WIDTH[type] of them) as `type`. */
export function decodeNumber(words: readonly number[], type: NumericType, order: WordOrder): NumericValue {
  if (words.length !== NUMERIC_WIDTH[type]) {
    throw new ModbusDecodeError(`${type} takes ${NUMERIC_WIDTH[type]} registers, got ${words.length}`);
  }
  return decodeNumberAt(words, 0, type, order);
}

/**
 * Text from registers, two bytes each: ABCD puts the first character in the high byte, BADC
 * in the low byte. Read as UTF-8 up to the first NUL; trailing spaces stay.
 */
export function decodeString(words: readonly number[], order: WordOrder): string {
  const buf = toBigEndian(words, byteSwapped(order) ? 'BADC' : 'ABCD');
  const end = buf.indexOf(0);
  return buf.subarray(0, end < 0 ? buf.length : end).toString('utf8');
}

/** Bit `bit` (0 = least significant) of a register. */
export function decodeBit(word: number, bit: number): boolean {
  return ((word >> bit) & 1) === 1;
}

/**
 * value = raw × scale + offset. Without scale and offset the raw value (and its integer type)
 * stays. A scale whose inverse is an integer divides, so 2305 × 0.1 gives 230.5, not
 * 230.50000000000003.
 */
export function scaled(raw: NumericValue, scale: number, offset: number): NumericValue {
  if (scale === 1 && offset === 0) return raw;
  const n = Number(raw);
  const inverse = 1 / scale;
  return (Number.isInteger(inverse) ? n / inverse : n * scale) + offset;
}
