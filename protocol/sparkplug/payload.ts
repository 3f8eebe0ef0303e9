/**
 * Sparkplug B payload codec, written from the specification's sparkplug_b.proto
 * (proto2, package org.eclipse.tahu.protobuf) on protobufjs' wire reader and writer.
 * Fields Wanji does not model (DataSet, Template, MetaData, extensions) are skipped on
 * decode, so payloads from other Sparkplug nodes still decode.
 */
import protobuf from 'protobufjs/minimal.js';
import { DataType, valueFieldOf } from './datatype.js';

const { Reader, Writer } = protobuf;
type Long = protobuf.Long;

/** A metric value as Wanji holds it. 64-bit integers beyond 2^53 come back as bigint. */
export type MetricValue = number | bigint | boolean | string | Uint8Array | null;

export interface PropertyValue {
  readonly type: DataType;
  readonly value: MetricValue;
}

export type PropertySet = Readonly<Record<string, PropertyValue>>;

export interface Metric {
  /** Present in births; data messages may use `alias` alone. */
  readonly name?: string;
  readonly alias?: number;
  /** Milliseconds since the epoch when the value was sampled. */
  readonly timestamp?: number;
  readonly datatype: DataType;
  readonly isHistorical?: boolean;
  readonly isTransient?: boolean;
  /** `value` is `null` exactly when the metric is null. */
  readonly value: MetricValue;
  readonly properties?: PropertySet;
}

export interface Payload {
  /** Send time, milliseconds since the epoch. */
  readonly timestamp?: number;
  readonly metrics: readonly Metric[];
  /** 0–255; absent in NDEATH and STATE-independent payloads. */
  readonly seq?: number;
  readonly uuid?: string;
  readonly body?: Uint8Array;
}

export class PayloadDecodeError extends Error {
  readonly code = 'WANJI_E_SPARKPLUG_PAYLOAD';
  constructor(message: string, options?: ErrorOptions) {
    super(`malformed Sparkplug payload: ${message}`, options);
    this.name = 'PayloadDecodeError';
  }
}

export class PayloadEncodeError extends Error {
  readonly code = 'WANJI_E_SPARKPLUG_ENCODE';
  constructor(message: string) {
    super(message);
    this.name = 'PayloadEncodeError';
  }
}

// Wire types.
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

function key(field: number, wire: number): number {
  return ((field << 3) | wire) >>> 0;
}

const TWO_32 = 2 ** 32;
/** |high word| below this keeps high × 2^32 + low within Number's exact integers. */
const SAFE_HIGH = 2 ** 21;

function toLong(v: number | bigint, what: string): Long {
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

function fromLong(l: Long, signed: boolean): number | bigint {
  const high = signed ? l.high | 0 : l.high >>> 0;
  if (high < SAFE_HIGH && high > -SAFE_HIGH) return high * TWO_32 + (l.low >>> 0);
  const u = (BigInt(l.high >>> 0) << 32n) | BigInt(l.low >>> 0);
  const b = signed ? BigInt.asIntN(64, u) : u;
  return b >= BigInt(Number.MIN_SAFE_INTEGER) && b <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(b) : b;
}

function asNumber(v: MetricValue, what: string): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new PayloadEncodeError(`${what}: expected a number, got ${typeof v}`);
}

function asInteger(v: MetricValue, what: string): number | bigint {
  if (typeof v === 'bigint') return v;
  const n = asNumber(v, what);
  if (!Number.isFinite(n)) throw new PayloadEncodeError(`${what}: ${n} is not a finite number`);
  return Math.trunc(n);
}

/** Writes the value fields shared by Metric (10–16) and PropertyValue (3–8, no bytes). */
function writeValue(w: protobuf.Writer, type: number, value: MetricValue, base: number, what: string): void {
  // Metric: int 10, long 11, float 12, double 13, bool 14, string 15, bytes 16.
  // PropertyValue: int 3, long 4, float 5, double 6, bool 7, string 8.
  switch (valueFieldOf(type)) {
    case 'int': {
      const n = asInteger(value, what);
      w.uint32(key(base, VARINT)).uint32(Number(BigInt.asUintN(32, BigInt(n))));
      return;
    }
    case 'long':
      w.uint32(key(base + 1, VARINT)).uint64(toLong(asInteger(value, what), what));
      return;
    case 'float':
      w.uint32(key(base + 2, FIXED32)).float(asNumber(value, what));
      return;
    case 'double':
      w.uint32(key(base + 3, FIXED64)).double(asNumber(value, what));
      return;
    case 'boolean':
      w.uint32(key(base + 4, VARINT)).bool(Boolean(value));
      return;
    case 'string':
      if (typeof value !== 'string') throw new PayloadEncodeError(`${what}: expected a string`);
      w.uint32(key(base + 5, LEN)).string(value);
      return;
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw new PayloadEncodeError(`${what}: expected bytes`);
      if (base !== 10) throw new PayloadEncodeError(`${what}: a property cannot carry bytes`);
      w.uint32(key(base + 6, LEN)).bytes(value);
      return;
    case 'none':
      throw new PayloadEncodeError(`${what}: datatype ${type} is not supported by Wanji's codec`);
  }
}

function writePropertySet(w: protobuf.Writer, props: PropertySet, what: string): void {
  const entries = Object.entries(props);
  for (const [k] of entries) w.uint32(key(1, LEN)).string(k);
  for (const [k, pv] of entries) {
    w.uint32(key(2, LEN)).fork();
    w.uint32(key(1, VARINT)).uint32(pv.type);
    if (pv.value === null) w.uint32(key(2, VARINT)).bool(true);
    else writeValue(w, pv.type, pv.value, 3, `${what} property "${k}"`);
    w.ldelim();
  }
}

function writeMetric(w: protobuf.Writer, m: Metric, index: number): void {
  const what = `metric ${m.name ?? `#${index}`}`;
  if (m.name !== undefined) w.uint32(key(1, LEN)).string(m.name);
  if (m.alias !== undefined) w.uint32(key(2, VARINT)).uint64(toLong(m.alias, `${what} alias`));
  if (m.timestamp !== undefined) w.uint32(key(3, VARINT)).uint64(toLong(m.timestamp, `${what} timestamp`));
  w.uint32(key(4, VARINT)).uint32(m.datatype);
  if (m.isHistorical) w.uint32(key(5, VARINT)).bool(true);
  if (m.isTransient) w.uint32(key(6, VARINT)).bool(true);
  if (m.value === null) w.uint32(key(7, VARINT)).bool(true);
  if (m.properties !== undefined) {
    w.uint32(key(9, LEN)).fork();
    writePropertySet(w, m.properties, what);
    w.ldelim();
  }
  if (m.value !== null) writeValue(w, m.datatype, m.value, 10, what);
}

export function encodePayload(p: Payload): Uint8Array {
  const w = Writer.create();
  if (p.timestamp !== undefined) w.uint32(key(1, VARINT)).uint64(toLong(p.timestamp, 'timestamp'));
  p.metrics.forEach((m, i) => {
    w.uint32(key(2, LEN)).fork();
    writeMetric(w, m, i);
    w.ldelim();
  });
  if (p.seq !== undefined) {
    if (!Number.isInteger(p.seq) || p.seq < 0 || p.seq > 255) {
      throw new PayloadEncodeError(`seq ${p.seq} is outside 0–255`);
    }
    w.uint32(key(3, VARINT)).uint64(toLong(p.seq, 'seq'));
  }
  if (p.uuid !== undefined) w.uint32(key(4, LEN)).string(p.uuid);
  if (p.body !== undefined) w.uint32(key(5, LEN)).bytes(p.body);
  return w.finish();
}

interface RawValue {
  int?: number;
  long?: Long;
  float?: number;
  double?: number;
  boolean?: boolean;
  string?: string;
  bytes?: Uint8Array;
}

function readValueField(r: protobuf.Reader, offset: number, raw: RawValue): boolean {
  switch (offset) {
    case 0:
      raw.int = r.uint32();
      return true;
    case 1:
      raw.long = r.uint64();
      return true;
    case 2:
      raw.float = r.float();
      return true;
    case 3:
      raw.double = r.double();
      return true;
    case 4:
      raw.boolean = r.bool();
      return true;
    case 5:
      raw.string = r.string();
      return true;
    case 6:
      // protobufjs hands out a Buffer view on Node; callers get a plain, owned Uint8Array.
      raw.bytes = Uint8Array.from(r.bytes());
      return true;
    default:
      return false;
  }
}

function valueFromRaw(type: number, raw: RawValue, what: string): MetricValue {
  const missing = (): never => {
    throw new PayloadDecodeError(`${what}: datatype ${type} carries no matching value field`);
  };
  switch (type) {
    case DataType.Int8:
      return raw.int === undefined ? missing() : (raw.int << 24) >> 24;
    case DataType.Int16:
      return raw.int === undefined ? missing() : (raw.int << 16) >> 16;
    case DataType.Int32:
      return raw.int === undefined ? missing() : raw.int | 0;
    case DataType.UInt8:
      return raw.int === undefined ? missing() : raw.int & 0xff;
    case DataType.UInt16:
      return raw.int === undefined ? missing() : raw.int & 0xffff;
    case DataType.Int64:
      return raw.long === undefined ? missing() : fromLong(raw.long, true);
    case DataType.UInt32:
      // Tahu writes UInt32 as long; some encoders use int_value. Accept both.
      if (raw.long !== undefined) return Number(BigInt.asUintN(32, BigInt(fromLong(raw.long, false))));
      return raw.int === undefined ? missing() : raw.int >>> 0;
    case DataType.UInt64:
    case DataType.DateTime:
      return raw.long === undefined ? missing() : fromLong(raw.long, false);
    case DataType.Float:
      return raw.float === undefined ? missing() : raw.float;
    case DataType.Double:
      return raw.double === undefined ? missing() : raw.double;
    case DataType.Boolean:
      return raw.boolean === undefined ? missing() : raw.boolean;
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      return raw.string === undefined ? missing() : raw.string;
    case DataType.Bytes:
    case DataType.File:
      return raw.bytes === undefined ? missing() : raw.bytes;
    default:
      // DataSet, Template, arrays: not modelled; the metric is kept, its value is not.
      return null;
  }
}

function decodePropertyValue(r: protobuf.Reader, end: number): PropertyValue {
  let type = 0;
  let isNull = false;
  const raw: RawValue = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) type = r.uint32();
    else if (field === 2) isNull = r.bool();
    else if (field < 3 || field > 8 || !readValueField(r, field - 3, raw)) r.skipType(tag & 7);
  }
  return { type: type as DataType, value: isNull ? null : valueFromRaw(type, raw, 'property') };
}

function decodePropertySet(r: protobuf.Reader, end: number): PropertySet {
  const keys: string[] = [];
  const values: PropertyValue[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) keys.push(r.string());
    else if (field === 2) {
      const len = r.uint32();
      values.push(decodePropertyValue(r, r.pos + len));
    } else r.skipType(tag & 7);
  }
  if (keys.length !== values.length) {
    throw new PayloadDecodeError(`property set has ${keys.length} keys but ${values.length} values`);
  }
  const out: Record<string, PropertyValue> = {};
  keys.forEach((k, i) => {
    out[k] = values[i]!;
  });
  return out;
}

function decodeMetric(r: protobuf.Reader, end: number, index: number): Metric {
  let name: string | undefined;
  let alias: number | undefined;
  let timestamp: number | undefined;
  let datatype: number | undefined;
  let isHistorical = false;
  let isTransient = false;
  let isNull = false;
  let properties: PropertySet | undefined;
  const raw: RawValue = {};
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    switch (field) {
      case 1:
        name = r.string();
        break;
      case 2:
        alias = Number(fromLong(r.uint64(), false));
        break;
      case 3:
        timestamp = Number(fromLong(r.uint64(), false));
        break;
      case 4:
        datatype = r.uint32();
        break;
      case 5:
        isHistorical = r.bool();
        break;
      case 6:
        isTransient = r.bool();
        break;
      case 7:
        isNull = r.bool();
        break;
      case 9: {
        const len = r.uint32();
        properties = decodePropertySet(r, r.pos + len);
        break;
      }
      default:
        if (field < 10 || field > 16 || !readValueField(r, field - 10, raw)) r.skipType(tag & 7);
    }
  }
  const what = `metric ${name ?? (alias !== undefined ? `alias ${alias}` : `#${index}`)}`;
  if (datatype === undefined) {
    // Data messages may omit the datatype and rely on the birth; keep the raw value's shape.
    datatype = inferDatatype(raw);
  }
  const metric: {
    -readonly [K in keyof Metric]: Metric[K];
  } = { datatype: datatype as DataType, value: isNull ? null : valueFromRaw(datatype, raw, what) };
  if (name !== undefined) metric.name = name;
  if (alias !== undefined) metric.alias = alias;
  if (timestamp !== undefined) metric.timestamp = timestamp;
  if (isHistorical) metric.isHistorical = true;
  if (isTransient) metric.isTransient = true;
  if (properties !== undefined) metric.properties = properties;
  return metric;
}

function inferDatatype(raw: RawValue): number {
  if (raw.int !== undefined) return DataType.Int32;
  if (raw.long !== undefined) return DataType.Int64;
  if (raw.float !== undefined) return DataType.Float;
  if (raw.double !== undefined) return DataType.Double;
  if (raw.boolean !== undefined) return DataType.Boolean;
  if (raw.string !== undefined) return DataType.String;
  if (raw.bytes !== undefined) return DataType.Bytes;
  return DataType.Unknown;
}

/** Decodes a payload; throws PayloadDecodeError (never anything else) on malformed input. */
export function decodePayload(buf: Uint8Array): Payload {
  try {
    const r = Reader.create(buf);
    let timestamp: number | undefined;
    let seq: number | undefined;
    let uuid: string | undefined;
    let body: Uint8Array | undefined;
    const metrics: Metric[] = [];
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 0) throw new PayloadDecodeError('field number 0');
      switch (field) {
        case 1:
          timestamp = Number(fromLong(r.uint64(), false));
          break;
        case 2: {
          const len = r.uint32();
          const end = r.pos + len;
          if (end > r.len) throw new PayloadDecodeError('metric runs past the end of the payload');
          metrics.push(decodeMetric(r, end, metrics.length));
          if (r.pos !== end) throw new PayloadDecodeError('metric length does not match its fields');
          break;
        }
        case 3:
          seq = Number(fromLong(r.uint64(), false));
          break;
        case 4:
          uuid = r.string();
          break;
        case 5:
          body = Uint8Array.from(r.bytes());
          break;
        default:
          r.skipType(tag & 7);
      }
    }
    const p: { -readonly [K in keyof Payload]: Payload[K] } = { metrics };
    if (timestamp !== undefined) p.timestamp = timestamp;
    if (seq !== undefined) p.seq = seq;
    if (uuid !== undefined) p.uuid = uuid;
    if (body !== undefined) p.body = body;
    return p;
  } catch (err) {
    if (err instanceof PayloadDecodeError) throw err;
    throw new PayloadDecodeError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}
