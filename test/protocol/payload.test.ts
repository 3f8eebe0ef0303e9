import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  DataType,
  decodePayload,
  encodePayload,
  type Metric,
  type MetricValue,
  PayloadDecodeError,
  PayloadEncodeError,
} from '../../protocol/index.js';

/** The part of the specification's sparkplug_b.proto a host without Wanji's extension knows. */
const SPEC_PROTO = `syntax = "proto2";
package org.eclipse.tahu.protobuf;
message Payload {
  message Metric {
    optional string name = 1;
    optional uint64 alias = 2;
    optional uint64 timestamp = 3;
    optional uint32 datatype = 4;
    optional bool is_historical = 5;
    optional uint32 int_value = 10;
    optional string string_value = 15;
  }
  optional uint64 timestamp = 1;
  repeated Metric metrics = 2;
  optional uint64 seq = 3;
  optional string uuid = 4;
  optional bytes body = 5;
  extensions 6 to max;
}`;

const cases: Array<[keyof typeof DataType, MetricValue[]]> = [
  ['Int8', [0, -128, 127, -1]],
  ['Int16', [0, -32768, 32767, -2]],
  ['Int32', [0, -2147483648, 2147483647, -5]],
  [
    'Int64',
    [
      0,
      -1,
      2 ** 32,
      -(2 ** 32) - 1,
      Number.MAX_SAFE_INTEGER,
      Number.MIN_SAFE_INTEGER,
      -(2n ** 53n),
      2n ** 53n,
      -(2n ** 63n),
      2n ** 63n - 1n,
    ],
  ],
  ['UInt8', [0, 255]],
  ['UInt16', [0, 65535]],
  ['UInt32', [0, 4294967295, 123456]],
  ['UInt64', [0, 2 ** 32 - 1, 2 ** 32, Number.MAX_SAFE_INTEGER, 2n ** 53n, 2n ** 64n - 1n]],
  ['Float', [0, 1.5, -3.25, Math.fround(1e30)]],
  ['Double', [0, Math.PI, -1e-300, Number.MAX_VALUE]],
  ['Boolean', [true, false]],
  ['String', ['', 'running', '数控机床 报警 #1021']],
  ['DateTime', [0, 1_764_254_212_345]],
  ['Text', ['long text']],
  ['UUID', ['1b4e28ba-2fa1-11d2-883f-0016d3cca427']],
  ['Bytes', [new Uint8Array([0, 1, 254, 255])]],
];

describe('Sparkplug payload codec', () => {
  for (const [name, values] of cases) {
    it(`round-trips every ${name} value, with its datatype, alias and timestamp`, () => {
      const metrics: Metric[] = values.map((value, i) => ({
        name: `m/${name}/${i}`,
        alias: 1000 + i,
        timestamp: 1_764_254_212_000 + i,
        datatype: DataType[name],
        value,
      }));
      const decoded = decodePayload(encodePayload({ timestamp: 42, seq: 7, metrics }));
      expect(decoded.seq).toBe(7);
      expect(decoded.timestamp).toBe(42);
      expect(decoded.metrics).toEqual(metrics);
    });
  }

  it('keeps nulls, historical and transient flags, uuid, body and property sets', () => {
    const metrics: Metric[] = [
      { alias: 3, datatype: DataType.Double, value: null, isHistorical: true },
      { name: 'x', datatype: DataType.Int32, value: -7, isTransient: true },
      {
        name: 'withProps',
        datatype: DataType.Float,
        value: 2.5,
        properties: {
          engUnit: { type: DataType.String, value: 'rpm' },
          quality: { type: DataType.Int32, value: 192 },
          big: { type: DataType.Int64, value: -(2n ** 60n) },
          missing: { type: DataType.Double, value: null },
        },
      },
    ];
    const body = new Uint8Array([9, 8, 7]);
    const decoded = decodePayload(encodePayload({ metrics, uuid: 'u-1', body }));
    expect(decoded.metrics).toEqual(metrics);
    expect(decoded.uuid).toBe('u-1');
    expect(decoded.body).toEqual(body);
    expect(decoded.seq).toBeUndefined();
  });

  it('decodes an empty payload to no metrics', () => {
    expect(decodePayload(new Uint8Array())).toEqual({ metrics: [] });
  });

  it('rejects malformed bytes with a PayloadDecodeError, never another exception', () => {
    const good = encodePayload({
      seq: 1,
      metrics: [{ name: 'a', datatype: DataType.String, value: 'hello' }],
    });
    const inputs = [
      new Uint8Array([0x12, 0x50, 0x01]), // metric longer than the buffer
      good.subarray(0, 6), // truncated inside the metric
      new Uint8Array([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), // endless varint
      new Uint8Array([0x00]), // field 0
      new Uint8Array([0x12, 0x02, 0x20, 0x03]), // Int32 metric with no value field
    ];
    for (const input of inputs) {
      expect(() => decodePayload(input)).toThrow(PayloadDecodeError);
    }
  });

  it('refuses to encode values that do not fit their datatype or a seq outside 0–255', () => {
    expect(() => encodePayload({ metrics: [{ name: 's', datatype: DataType.String, value: 5 }] })).toThrow(
      PayloadEncodeError,
    );
    expect(() => encodePayload({ seq: 256, metrics: [] })).toThrow(/outside 0–255/);
    expect(() => encodePayload({ timestamp: Number.NaN, metrics: [] })).toThrow(PayloadEncodeError);
    expect(() => encodePayload({ metrics: [{ name: 'd', datatype: DataType.DataSet, value: 1 }] })).toThrow(
      /not supported/,
    );
  });

  it('carries the journal position in an extension field that a spec-only decoder skips', () => {
    const metrics: Metric[] = [
      { alias: 3, timestamp: 1_764_254_212_000, datatype: DataType.Int32, value: 42, isHistorical: true },
    ];
    for (const journal of [0, 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER]) {
      const bytes = encodePayload({ timestamp: 7, seq: 9, metrics, journal });
      expect(decodePayload(bytes).journal).toBe(journal);
      const spec = protobuf
        .parse(SPEC_PROTO, { keepCase: true })
        .root.lookupType('org.eclipse.tahu.protobuf.Payload');
      const read = spec.toObject(spec.decode(bytes), { longs: Number }) as {
        seq: number;
        timestamp: number;
        metrics: { alias: number; int_value: number; is_historical: boolean }[];
      };
      expect(read.seq).toBe(9);
      expect(read.timestamp).toBe(7);
      expect(read.metrics).toEqual([
        {
          alias: 3,
          timestamp: 1_764_254_212_000,
          datatype: DataType.Int32,
          int_value: 42,
          is_historical: true,
        },
      ]);
    }
    expect(decodePayload(encodePayload({ metrics })).journal).toBeUndefined();
    expect(() => encodePayload({ metrics, journal: -1 })).toThrow(PayloadEncodeError);
    expect(() => encodePayload({ metrics, journal: 1.5 })).toThrow(PayloadEncodeError);
  });
});
