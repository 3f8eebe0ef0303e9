/** Protobuf wire helpers shared by the payload encoder and decoder. */
import type protobuf from 'protobufjs/minimal.js';
import { PayloadEncodeError } from './payload.js';

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

export function toLong(v: number | bigint, what: string): Long {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new PayloadEncodeError(`${what} is not finite`);
    const n = Math.trunc(v);
    // Timestamps, aliases and seq are all safe integers: split them without BigInt (hot path).
    if (Number.isSafeInteger(n)) {
      const high = Math.floor(n / TWO_32);
      return { low: (n - high * TWO_32) | 0, high: high | 0, unsigned: true };
    }
    v = BigInt(n);
  }
  const u = BigInt.asUintN(64, v);
  return { low: Number(u & 0xffffffffn) | 0, high: Number(u >> 32n) | 0, unsigned: true };
}

export function fromLong(l: Long, signed: boolean): number | bigint {
  const high = signed ? l.high | 0 : l.high >>> 0;
  if (high < SAFE_HIGH && high > -SAFE_HIGH) return high * TWO_32 + (l.low >>> 0);
  const u = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  const b = signed ? BigInt.asIntN(64, u) : u;
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}
