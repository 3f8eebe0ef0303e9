/**
 * Values to registers for writes: the inverse of decode.ts, with checks instead of silent
 * saturation — a value that does not fit the tag is refused, never written clipped.
 */
import type { MetricValue } from '../../../protocol/index.js';
import { fromBigEndian, NUMERIC_WIDTH, type NumericType } from './decode.js';
import { MODBUS_ERROR_CODES, ModbusError } from './errors.js';
import type { ResolvedTag } from './tags.js';

/** What a write puts on the wire: one coil, or registers. */
export type Encoded =
  | { readonly kind: 'coil'; readonly value: boolean }
  | { readonly kind: 'registers'; readonly words: number[] };

const INT_RANGE: Readonly<Record<string, readonly [bigint, bigint]>> = {
  int16: [-(2n ** 15n), 2n ** 15n - 1n],
  uint16: [0n, 2n ** 16n - 1n],
  int32: [-(2n ** 31n), 2n ** 31n - 1n],
  uint32: [0n, 2n ** 32n - 1n],
  int64: [-(2n ** 63n), 2n ** 63n - 1n],
  uint64: [0n, 2n ** 64n - 1n],
};

function bad(tag: ResolvedTag, message: string): ModbusError {
  return new ModbusError(MODBUS_ERROR_CODES.badValue, `tag ${tag.name}: ${message}`);
}

function toBoolean(tag: ResolvedTag, value: MetricValue): boolean {
  if (typeof value === 'boolean') return value;
  if (value === 0 || value === 1 || value === 0n || value === 1n) return Number(value) === 1;
  throw bad(tag, `a coil takes true or false (or 0/1), not ${String(value)}`);
}

/** The raw integer for an engineering value: (value − offset) / scale, rounded. */
function rawInteger(tag: ResolvedTag, value: number | bigint): bigint {
  if (typeof value === 'bigint' && tag.scale === 1 && tag.offset === 0) return value;
  const raw = (Number(value) - tag.offset) / tag.scale;
  if (!Number.isFinite(raw)) throw bad(tag, `${String(value)} is not a finite number`);
  const rounded = Math.round(raw);
  if (!Number.isSafeInteger(rounded))
    throw bad(tag, `${String(value)} cannot be written exactly; pass a bigint`);
  return BigInt(rounded);
}

function encodeNumber(tag: ResolvedTag, type: NumericType, value: MetricValue): number[] {
  let v: number | bigint;
  if (typeof value === 'number' || typeof value === 'bigint') v = value;
  else if (typeof value === 'boolean') v = value ? 1 : 0;
  else if (typeof value === 'string' && value.trim() !== '' && Number.isFinite(Number(value)))
    v = Number(value);
  else throw bad(tag, `a ${type} takes a number, not ${value === null ? 'null' : typeof value}`);
  const buf = Buffer.alloc(NUMERIC_WIDTH[type] * 2);
  if (type === 'float32' || type === 'float64') {
    const raw = (Number(v) - tag.offset) / tag.scale;
    if (Number.isNaN(raw)) throw bad(tag, 'NaN cannot be written');
    if (type === 'float32') buf.writeFloatBE(raw, 0);
    else buf.writeDoubleBE(raw, 0);
    return fromBigEndian(buf, tag.order);
  }
  const raw = rawInteger(tag, v);
  const [min, max] = INT_RANGE[type]!;
  if (raw < min || raw > max) throw bad(tag, `${String(value)} is outside the ${type} range ${min}..${max}`);
  switch (type) {
    case 'int16':
      buf.writeInt16BE(Number(raw), 0);
      break;
    case 'uint16':
      buf.writeUInt16BE(Number(raw), 0);
      break;
    case 'int32':
      buf.writeInt32BE(Number(raw), 0);
      break;
    case 'uint32':
      buf.writeUInt32BE(Number(raw), 0);
      break;
    case 'int64':
      buf.writeBigInt64BE(raw, 0);
      break;
    case 'uint64':
      buf.writeBigUInt64BE(raw, 0);
      break;
  }
  return fromBigEndian(buf, tag.order);
}

function encodeString(tag: ResolvedTag, value: MetricValue): number[] {
  if (typeof value !== 'string') throw bad(tag, `a string tag takes text, not ${typeof value}`);
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length > tag.width * 2) {
    throw bad(tag, `"${value}" takes ${bytes.length} bytes; the tag holds ${tag.width * 2}`);
  }
  const buf = Buffer.alloc(tag.width * 2); // NUL-padded
  bytes.copy(buf);
  return fromBigEndian(buf, tag.order === 'BADC' || tag.order === 'DCBA' ? 'BADC' : 'ABCD');
}

/** What to put on the wire to write `value` to `tag` (which is writable). */
export function encodeWrite(tag: ResolvedTag, value: MetricValue): Encoded {
  if (tag.table === 'coil') return { kind: 'coil', value: toBoolean(tag, value) };
  if (tag.type === 'bool') throw bad(tag, 'a bit of a register cannot be written');
  if (tag.type === 'string') return { kind: 'registers', words: encodeString(tag, value) };
  return { kind: 'registers', words: encodeNumber(tag, tag.type, value) };
}
