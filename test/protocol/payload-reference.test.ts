/**
 * Issue 10, "tests that would have caught these": the codec was checked against a 20-line excerpt
 * of the specification's proto (ints and strings only). Here the reference is the whole Sparkplug
 * 3.0 sparkplug_b.proto (test/fixtures/sparkplug_b.proto), loaded with protobufjs' full
 * (reflection) build, and protocol/'s encodePayload/decodePayload are held to it both ways for
 * every datatype: what Wanji writes, a generic decoder of the specification reads in the field
 * the specification names for it, with the exact value; what a generic encoder writes, Wanji
 * reads back exactly. Extremes included: Int64 min/max, UInt64 max, NaN, ±Infinity and −0,
 * empty and non-BMP strings, empty bytes.
 * DataSet, Template, arrays and property-set values are not modelled by the codec: it refuses to
 * write them, and reads them as a null value of their datatype without losing what follows.
 */
import { fileURLToPath } from 'node:url';
import protobuf from 'protobufjs';
import { describe, expect, it } from 'vitest';
import {
  DataType,
  type DataTypeName,
  decodePayload,
  encodePayload,
  type Metric,
  type MetricValue,
  PayloadEncodeError,
} from '../../protocol/index.js';

const PROTO = fileURLToPath(new URL('../fixtures/sparkplug_b.proto', import.meta.url));
const root = new protobuf.Root().loadSync(PROTO, { keepCase: true });
const Payload = root.lookupType('org.eclipse.tahu.protobuf.Payload');
const ProtoDataType = root.lookupEnum('org.eclipse.tahu.protobuf.DataType');

/** The reference's reading of a payload: 64-bit integers as exact decimal strings. */
type Obj = Record<string, unknown>;
function referenceRead(bytes: Uint8Array): Obj {
  return Payload.toObject(Payload.decode(bytes), { longs: String, oneofs: true, bytes: Array }) as Obj;
}
/** The reference's writing of a payload given in toObject's form (64-bit integers as strings). */
function referenceWrite(obj: Obj): Uint8Array {
  const message = Payload.fromObject(obj);
  const err = Payload.verify(message);
  if (err !== null) throw new Error(`reference payload invalid: ${err}`);
  return Payload.encode(message).finish();
}

type ValueField =
  | 'int_value'
  | 'long_value'
  | 'float_value'
  | 'double_value'
  | 'boolean_value'
  | 'string_value'
  | 'bytes_value';

/**
 * One value of one datatype: what Wanji is given, the field and content the reference must see
 * (64-bit integers as decimal strings, uint32 and uint64 as their two's complement), and what
 * Wanji decodes when it differs from what it was given (a Float is 32-bit).
 */
interface Case {
  readonly type: DataTypeName;
  readonly value: MetricValue;
  readonly field: ValueField;
  readonly wire: string | number | boolean | number[];
  readonly decoded?: MetricValue;
}

const u32 = (v: number) => Number(BigInt.asUintN(32, BigInt(v)));
const u64 = (v: number | bigint) => BigInt.asUintN(64, BigInt(v)).toString();
const int = (type: DataTypeName, v: number): Case => ({ type, value: v, field: 'int_value', wire: u32(v) });
const long = (type: DataTypeName, v: number | bigint): Case => ({
  type,
  value: v,
  field: 'long_value',
  wire: u64(v),
});
const float = (v: number): Case => ({
  type: 'Float',
  value: v,
  field: 'float_value',
  wire: Math.fround(v),
  decoded: Math.fround(v),
});
const double = (v: number): Case => ({ type: 'Double', value: v, field: 'double_value', wire: v });
const str = (type: DataTypeName, v: string): Case => ({ type, value: v, field: 'string_value', wire: v });
const bytes = (type: DataTypeName, v: number[]): Case => ({
  type,
  value: Uint8Array.from(v),
  field: 'bytes_value',
  wire: v,
});

const FLOAT_MAX = Math.fround(3.4028234663852886e38);
const FLOAT_MIN_SUBNORMAL = Math.fround(1.401298464324817e-45);
const NON_BMP = '𝔘𝔫𝔦𝔠𝔬𝔡𝔢 😀 数控机床 \u0000 end'; // surrogate pairs, CJK, an embedded NUL

const CASES: readonly Case[] = [
  ...[0, 1, -1, -128, 127].map((v) => int('Int8', v)),
  ...[0, -1, -32768, 32767].map((v) => int('Int16', v)),
  ...[0, -1, -2147483648, 2147483647].map((v) => int('Int32', v)),
  ...[0, 255].map((v) => int('UInt8', v)),
  ...[0, 65535].map((v) => int('UInt16', v)),
  ...[0, 1, 2147483648, 4294967295].map((v) => long('UInt32', v)),
  ...[
    0,
    -1,
    Number.MAX_SAFE_INTEGER,
    Number.MIN_SAFE_INTEGER,
    2n ** 53n + 1n,
    -(2n ** 53n),
    -9007199254740993n, // the value issue 10 saw the hub round (wire exact, store not)
    2n ** 63n - 1n,
    -(2n ** 63n),
  ].map((v) => long('Int64', v)),
  ...[0, 2 ** 32, Number.MAX_SAFE_INTEGER, 2n ** 53n + 1n, 2n ** 63n, 2n ** 64n - 1n].map((v) =>
    long('UInt64', v),
  ),
  ...[0, 1_764_254_212_345, Number.MAX_SAFE_INTEGER].map((v) => long('DateTime', v)),
  ...[
    0,
    -0,
    1.5,
    0.1,
    FLOAT_MAX,
    -FLOAT_MAX,
    FLOAT_MIN_SUBNORMAL,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ].map(float),
  ...[
    0,
    -0,
    Math.PI,
    Number.MAX_VALUE,
    -Number.MAX_VALUE,
    Number.MIN_VALUE,
    Number.EPSILON,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
  ].map(double),
  { type: 'Boolean', value: true, field: 'boolean_value', wire: true },
  { type: 'Boolean', value: false, field: 'boolean_value', wire: false },
  ...['', 'running', NON_BMP, 'x'.repeat(70_000)].map((v) => str('String', v)),
  ...['', `${NON_BMP}\n第二行`].map((v) => str('Text', v)),
  str('UUID', '1b4e28ba-2fa1-11d2-883f-0016d3cca427'),
  ...[[], [0], [0, 1, 127, 128, 254, 255]].map((v) => bytes('Bytes', v)),
  bytes(
    'File',
    Array.from({ length: 256 }, (_, i) => i),
  ),
];

const DT: Readonly<Record<DataTypeName, DataType>> = DataType;
const TS = 1_764_254_212_000;

/** Node's equality for -0/NaN is Object.is (toEqual), and Uint8Array is compared by content. */
function caseName(c: Case): string {
  const v = c.value;
  const shown =
    v instanceof Uint8Array
      ? `${v.length} bytes`
      : typeof v === 'string'
        ? JSON.stringify(v.length > 40 ? `${v.slice(0, 20)}… (${v.length})` : v)
        : Object.is(v, -0)
          ? '-0'
          : String(v);
  return `${c.type} ${shown}`;
}

describe('the reference proto is the whole specification', () => {
  it('names every datatype protocol/ knows with the same number', () => {
    for (const [name, code] of Object.entries(DataType)) expect(ProtoDataType.values[name], name).toBe(code);
    expect(ProtoDataType.values.DateTimeArray).toBe(34);
    const metric = root.lookupType('org.eclipse.tahu.protobuf.Payload.Metric');
    expect(metric.oneofs.value?.fieldsArray.map((f) => `${f.name}=${f.id}`)).toEqual([
      'int_value=10',
      'long_value=11',
      'float_value=12',
      'double_value=13',
      'boolean_value=14',
      'string_value=15',
      'bytes_value=16',
      'dataset_value=17',
      'template_value=18',
      'extension_value=19',
    ]);
  });
});

describe('Wanji → reference: every datatype in the field the specification names, exactly', () => {
  for (const c of CASES) {
    it(caseName(c), () => {
      const metric: Metric = {
        name: `m/${c.type}`,
        alias: 7,
        timestamp: TS,
        datatype: DT[c.type],
        value: c.value,
      };
      const read = referenceRead(encodePayload({ timestamp: TS, seq: 3, metrics: [metric] }));
      expect(read).toMatchObject({ timestamp: String(TS), seq: '3' });
      const [m] = read.metrics as Obj[];
      expect(m).toMatchObject({
        name: `m/${c.type}`,
        alias: '7',
        timestamp: String(TS),
        datatype: DT[c.type],
      });
      // Exactly one value field, the right one; no is_null beside a value.
      expect(m!.value).toBe(c.field);
      expect(m!.is_null).toBeUndefined();
      expect(m![c.field]).toEqual(c.wire);
    });
  }
});

describe('reference → Wanji: every datatype read back exactly', () => {
  for (const c of CASES) {
    it(caseName(c), () => {
      const bytes = referenceWrite({
        timestamp: String(TS),
        seq: '255',
        metrics: [{ name: 'a', alias: '9', timestamp: String(TS), datatype: DT[c.type], [c.field]: c.wire }],
      });
      const p = decodePayload(bytes);
      expect(p).toMatchObject({ timestamp: TS, seq: 255 });
      expect(p.metrics).toEqual([
        { name: 'a', alias: 9, timestamp: TS, datatype: DT[c.type], value: c.decoded ?? c.value },
      ]);
    });
  }

  it('reads the forms other encoders use: UInt32 in int_value, Int8/Int16 as unsigned 8/16 bits', () => {
    const bytes = referenceWrite({
      metrics: [
        { alias: '1', datatype: DataType.UInt32, int_value: 4294967295 },
        { alias: '2', datatype: DataType.Int8, int_value: 255 }, // Tahu's Python: value + 2**8
        { alias: '3', datatype: DataType.Int16, int_value: 32768 },
        { alias: '4', datatype: DataType.Int64, long_value: '18446744073709551615' },
      ],
    });
    expect(decodePayload(bytes).metrics.map((m) => m.value)).toEqual([4294967295, -1, -32768, -1]);
  });

  it('reads nulls of every datatype, historical and transient flags, uuid and body', () => {
    const types = Object.values(DataType);
    const bytes = referenceWrite({
      uuid: 'u-1',
      body: [1, 2, 3],
      metrics: types.map((t, i) => ({
        alias: String(i + 1),
        datatype: t,
        is_null: true,
        is_historical: i % 2 === 0,
        is_transient: i % 3 === 0,
      })),
    });
    const p = decodePayload(bytes);
    expect(p.uuid).toBe('u-1');
    expect(p.body).toEqual(Uint8Array.from([1, 2, 3]));
    expect(p.metrics).toEqual(
      types.map((t, i) => ({
        alias: i + 1,
        datatype: t,
        value: null,
        ...(i % 2 === 0 ? { isHistorical: true } : {}),
        ...(i % 3 === 0 ? { isTransient: true } : {}),
      })),
    );
  });
});

describe('properties (the Quality property) both ways', () => {
  const props = {
    Quality: { type: DataType.Int32, value: 192 },
    statusCode: { type: DataType.UInt32, value: 0x80050000 },
    engUnit: { type: DataType.String, value: '转/分' },
    low: { type: DataType.Int64, value: -(2n ** 63n) },
    high: { type: DataType.UInt64, value: 2n ** 64n - 1n },
    gain: { type: DataType.Float, value: Number.NEGATIVE_INFINITY },
    offset: { type: DataType.Double, value: Number.NaN },
    writable: { type: DataType.Boolean, value: false },
    missing: { type: DataType.Double, value: null },
  } as const;

  it('Wanji writes keys and values the reference pairs up exactly', () => {
    const metric: Metric = { name: 's', datatype: DataType.Double, value: 1, properties: props };
    const [m] = referenceRead(encodePayload({ metrics: [metric] })).metrics as Obj[];
    const ps = m!.properties as { keys: string[]; values: Obj[] };
    expect(ps.keys).toEqual(Object.keys(props));
    expect(ps.values).toEqual([
      { type: DataType.Int32, int_value: 192, value: 'int_value' },
      { type: DataType.UInt32, long_value: String(0x80050000), value: 'long_value' },
      { type: DataType.String, string_value: '转/分', value: 'string_value' },
      { type: DataType.Int64, long_value: '9223372036854775808', value: 'long_value' },
      { type: DataType.UInt64, long_value: '18446744073709551615', value: 'long_value' },
      { type: DataType.Float, float_value: Number.NEGATIVE_INFINITY, value: 'float_value' },
      { type: DataType.Double, double_value: Number.NaN, value: 'double_value' },
      { type: DataType.Boolean, boolean_value: false, value: 'boolean_value' },
      { type: DataType.Double, is_null: true },
    ]);
  });

  it('Wanji reads what the reference writes, and a nested property set as null without losing the rest', () => {
    const bytes = referenceWrite({
      metrics: [
        {
          name: 's',
          datatype: DataType.Double,
          double_value: 1,
          properties: {
            keys: [...Object.keys(props), 'nested', 'list'],
            values: [
              { type: DataType.Int32, int_value: 192 },
              { type: DataType.UInt32, long_value: String(0x80050000) },
              { type: DataType.String, string_value: '转/分' },
              { type: DataType.Int64, long_value: '9223372036854775808' },
              { type: DataType.UInt64, long_value: '18446744073709551615' },
              { type: DataType.Float, float_value: Number.NEGATIVE_INFINITY },
              { type: DataType.Double, double_value: Number.NaN },
              { type: DataType.Boolean, boolean_value: false },
              { type: DataType.Double, is_null: true },
              {
                type: DataType.PropertySet,
                propertyset_value: { keys: ['a'], values: [{ type: DataType.Int8, int_value: 1 }] },
              },
              {
                type: DataType.PropertySetList,
                propertysets_value: { propertyset: [{ keys: [], values: [] }] },
              },
            ],
          },
        },
      ],
    });
    const [m] = decodePayload(bytes).metrics;
    expect(m?.properties).toEqual({
      ...props,
      nested: { type: DataType.PropertySet, value: null },
      list: { type: DataType.PropertySetList, value: null },
    });
  });

  it('refuses a Bytes property (PropertyValue has no bytes field) with a clear error', () => {
    const metric: Metric = {
      name: 's',
      datatype: DataType.Int32,
      value: 1,
      properties: { raw: { type: DataType.Bytes, value: Uint8Array.from([1]) } },
    };
    expect(() => encodePayload({ metrics: [metric] })).toThrow(
      /property "raw": a property cannot carry bytes/,
    );
  });
});

describe('what the codec does not model: DataSet, Template, arrays, property-set metrics', () => {
  const UNMODELLED: readonly DataTypeName[] = [
    'DataSet',
    'Template',
    'PropertySet',
    'PropertySetList',
    'Unknown',
  ];

  it('refuses to write them, naming the metric and the datatype', () => {
    for (const t of UNMODELLED) {
      expect(() => encodePayload({ metrics: [{ name: `x/${t}`, datatype: DT[t], value: 1 }] }), t).toThrow(
        PayloadEncodeError,
      );
    }
    for (let t = 22; t <= 34; t++) {
      const metric = { name: 'arr', datatype: t as DataType, value: Uint8Array.from([1, 0, 0, 0]) };
      expect(() => encodePayload({ metrics: [metric] })).toThrow(
        `metric arr: datatype ${t} is not supported`,
      );
    }
  });

  it('reads them from a reference payload as a null of their datatype, with metadata, and keeps their neighbours', () => {
    // protocol/'s DataType stops at PropertySetList (21); the arrays' numbers come from the proto.
    const INT32_ARRAY = ProtoDataType.values.Int32Array as DataType;
    const STRING_ARRAY = ProtoDataType.values.StringArray as DataType;
    const le32 = (xs: number[]) => {
      const b = new Uint8Array(xs.length * 4);
      const v = new DataView(b.buffer);
      xs.forEach((x, i) => {
        v.setInt32(i * 4, x, true);
      });
      return Array.from(b);
    };
    const bytes = referenceWrite({
      metrics: [
        {
          name: 'alarms',
          datatype: DataType.DataSet,
          dataset_value: {
            num_of_columns: '2',
            columns: ['code', 'text'],
            types: [DataType.Int32, DataType.String],
            rows: [{ elements: [{ int_value: 7 }, { string_value: 'door open' }] }],
          },
        },
        {
          name: 'recipe',
          datatype: DataType.Template,
          template_value: {
            version: 'v1',
            template_ref: 'Recipe',
            is_definition: false,
            parameters: [{ name: 'p', type: DataType.Int64, long_value: '9223372036854775807' }],
            metrics: [{ name: 'speed', datatype: DataType.Int32, int_value: 5 }],
          },
        },
        { name: 'ints', datatype: INT32_ARRAY, bytes_value: le32([1, -1, 2147483647]) },
        { name: 'names', datatype: STRING_ARRAY, bytes_value: Array.from(Buffer.from('a\0b\0')) },
        {
          name: 'file',
          datatype: DataType.File,
          bytes_value: [1, 2],
          metadata: { is_multi_part: false, file_name: 'prog.nc', size: '2', md5: 'x' },
        },
        { name: 'after', datatype: DataType.UInt64, long_value: '18446744073709551615' },
      ],
    });
    expect(decodePayload(bytes).metrics).toEqual([
      { name: 'alarms', datatype: DataType.DataSet, value: null },
      { name: 'recipe', datatype: DataType.Template, value: null },
      { name: 'ints', datatype: INT32_ARRAY, value: null },
      { name: 'names', datatype: STRING_ARRAY, value: null },
      { name: 'file', datatype: DataType.File, value: Uint8Array.from([1, 2]) },
      { name: 'after', datatype: DataType.UInt64, value: 2n ** 64n - 1n },
    ]);
  });
});
