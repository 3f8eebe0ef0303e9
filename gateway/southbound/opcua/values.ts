/** OPC UA DataValue → sample value and quality (pure). */
import type { DataValue } from 'node-opcua';
import { DataType, type DataTypeName, type MetricValue } from '../../../protocol/index.js';
import type { Quality } from '../../../protocol/quality.js';
import { coerceValue } from '../../values.js';

interface StatusLike {
  isGood(): boolean;
  isBad(): boolean;
}

export function qualityOf(status: StatusLike): Quality {
  if (status.isGood()) return 'good';
  return status.isBad() ? 'bad' : 'uncertain';
}

/** node-opcua hands out 64-bit integers as [high, low] 32-bit halves. */
function fromHighLow(v: unknown, signed: boolean): bigint | undefined {
  if (!Array.isArray(v) || v.length !== 2 || typeof v[0] !== 'number' || typeof v[1] !== 'number')
    return undefined;
  const u = (BigInt(v[0] >>> 0) << 32n) | BigInt(v[1] >>> 0);
  return signed ? BigInt.asIntN(64, u) : u;
}

function simplify(b: bigint): number | bigint {
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

export interface Converted {
  readonly value: MetricValue;
  readonly quality: Quality;
  readonly sourceTime: number;
  /** Set when the value could not be read as the tag's datatype. */
  readonly mismatch?: string;
}

export function convertDataValue(dv: DataValue, datatype: DataTypeName, now: number): Converted {
  const quality = qualityOf(dv.statusCode);
  const sourceTime = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? now;
  if (quality === 'bad') return { value: null, quality, sourceTime };
  let raw: unknown = dv.value?.value ?? null;
  // A LocalizedText (what `wanji browse` offers as String) is published as its text.
  if (datatype === 'String' && typeof raw === 'object' && raw !== null && 'text' in raw) {
    raw = (raw as { text: unknown }).text ?? null;
  }
  if (datatype === 'Int64' || datatype === 'UInt64') {
    const b = fromHighLow(raw, datatype === 'Int64');
    if (b !== undefined) raw = simplify(b);
  }
  const value = coerceValue(raw, DataType[datatype]);
  if (value === undefined) {
    return { value: null, quality: 'bad', sourceTime, mismatch: `cannot read ${typeof raw} as ${datatype}` };
  }
  return { value, quality, sourceTime };
}
