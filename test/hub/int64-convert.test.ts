/**
 * Issue 10: `toSampleValue`/`unsignedFix` returned `Number(bigint)`, so Int64 −9007199254740993
 * became −9007199254740992 before it reached any store; Template and DataSet values became
 * null samples. How a decoded Sparkplug value becomes a sample value, by the birth's datatype.
 */
import { describe, expect, it } from 'vitest';
import { reinterpret, toNodeMetricValue, toSampleValue } from '../../hub/host/convert.js';
import { jsonSampleValue, parseExactInteger } from '../../hub/store/values.js';
import { DataType } from '../../protocol/index.js';

describe('sample values from Sparkplug', () => {
  it('keeps Int64 and UInt64 exact: a bigint beyond ±(2^53−1), a number within', () => {
    expect(toSampleValue(-(2n ** 53n) - 1n, DataType.Int64)).toBe(-(2n ** 53n) - 1n);
    expect(toSampleValue(-(2n ** 63n), DataType.Int64)).toBe(-(2n ** 63n));
    expect(toSampleValue(2n ** 63n - 1n, DataType.Int64)).toBe(2n ** 63n - 1n);
    expect(toSampleValue(2n ** 64n - 1n, DataType.UInt64)).toBe(2n ** 64n - 1n);
    expect(toSampleValue(2n ** 63n, DataType.UInt64)).toBe(2n ** 63n);
    expect(toSampleValue(Number.MAX_SAFE_INTEGER, DataType.Int64)).toBe(Number.MAX_SAFE_INTEGER);
    expect(toSampleValue(BigInt(Number.MIN_SAFE_INTEGER), DataType.Int64)).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('reads a long decoded as signed (a data message without datatype) by the birth: UInt64', () => {
    // UInt64 max on the wire, decoded without its datatype as Int64 −1.
    const decoded = reinterpret(-1, DataType.Int64, DataType.UInt64);
    expect(toSampleValue(decoded, DataType.UInt64)).toBe(2n ** 64n - 1n);
    // 2^63 decoded as Int64 min, a bigint.
    expect(toSampleValue(-(2n ** 63n), DataType.UInt64)).toBe(2n ** 63n);
    // A fraction where an integer was born stays what it is (no BigInt of a fraction).
    expect(reinterpret(-1.5, DataType.Double, DataType.UInt64)).toBe(-1.5);
  });

  it('counts Template, DataSet, Bytes, arrays and Unknown as unsupported, never as null', () => {
    for (const t of [DataType.Template, DataType.DataSet, DataType.Bytes, DataType.File, 22, 34, 0]) {
      expect(toSampleValue(null, t), `datatype ${t}`).toBeUndefined();
    }
    expect(toSampleValue(new Uint8Array([1]), DataType.Bytes)).toBeUndefined();
    // A null of a scalar (is_null) is a real null sample.
    expect(toSampleValue(null, DataType.Double)).toBeNull();
  });

  it('gives node metrics (registry) the digits of a big integer as a string', () => {
    expect(toNodeMetricValue(2n ** 64n - 1n, DataType.UInt64)).toBe('18446744073709551615');
    expect(toNodeMetricValue(42, DataType.UInt64)).toBe(42);
    expect(toNodeMetricValue(null, DataType.Template)).toBeUndefined();
  });

  it('writes JSON digits and reads stored digits back exactly', () => {
    expect(jsonSampleValue(-(2n ** 53n) - 1n)).toBe('-9007199254740993');
    expect(jsonSampleValue(5)).toBe(5);
    expect(parseExactInteger('18446744073709551615')).toBe(2n ** 64n - 1n);
    expect(parseExactInteger('9007199254740991')).toBe(Number.MAX_SAFE_INTEGER);
    expect(parseExactInteger('1e5')).toBeUndefined();
  });
});
