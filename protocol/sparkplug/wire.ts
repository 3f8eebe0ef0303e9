/** Protobuf wire helpers shared by the payload encoder and decoder. */
import type protobuf from 'protobufjs/minimal.js';

type Long = protobuf.Long;

// Wire types.
export const VARINT = 0;
export const FIXED64 = 1;
export const LEN = 2;
export const FIXED32 = 5;

export function key(field: number, wire: number): number {
  return ((field << 3) | wire) >>> 0;
}

const TWO_32 = 2 ** 32;
/** |high word| below this keeps high × 2^32 + low within Number's exact integers. */
const SAFE_HIGH = 2 ** 21;

export function fromLong(l: Long, signed: boolean): number | bigint {
  const high = signed ? l.high | 0 : l.high >>> 0;
  if (high < SAFE_HIGH && high > -SAFE_HIGH) return high * TWO_32 + (l.low >>> 0);
  const u = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  const b = signed ? BigInt.asIntN(64, u) : u;
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}
