/** Fitting values from the field to the Sparkplug datatype a metric was born with. */
import { DataType, type MetricValue } from '../protocol/index.js';

const INT_RANGES: Partial<Record<DataType, readonly [number, number]>> = {
  [DataType.Int8]: [-128, 127],
  [DataType.Int16]: [-32768, 32767],
  [DataType.Int32]: [-2147483648, 2147483647],
  [DataType.UInt8]: [0, 255],
  [DataType.UInt16]: [0, 65535],
  [DataType.UInt32]: [0, 4294967295],
};

function toNumber(v: unknown): number | undefined {
  if (typeof v === 'number') return v;
  if (typeof v === 'boolean') return v ? 1 : 0;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.getTime();
  return undefined;
}

/**
 * `value` as `datatype`, or undefined when it does not fit (the caller reports it as bad
 * quality rather than publishing a wrong value).
 */
export function coerceValue(value: unknown, datatype: DataType): MetricValue | undefined {
  if (value === null || value === undefined) return null;
  switch (datatype) {
    case DataType.Boolean:
      if (typeof value === 'boolean') return value;
      return typeof value === 'number' ? value !== 0 : undefined;
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      return typeof value === 'string' ? value : typeof value === 'object' ? undefined : String(value);
    case DataType.Float:
    case DataType.Double: {
      const n = toNumber(value);
      return n === undefined ? undefined : n;
    }
    case DataType.Int64:
    case DataType.UInt64:
    case DataType.DateTime: {
      if (typeof value === 'bigint') return value;
      const n = toNumber(value);
      return n === undefined || !Number.isFinite(n) ? undefined : Math.trunc(n);
    }
    default: {
      const range = INT_RANGES[datatype];
      const n = toNumber(value);
      if (range === undefined || n === undefined || !Number.isFinite(n)) return undefined;
      const i = Math.trunc(n);
      return i < range[0] || i > range[1] ? undefined : i;
    }
  }
}
