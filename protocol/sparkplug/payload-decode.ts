/**
 * Decodes a Sparkplug B payload (see payload.ts). Fields Wanji does not model (DataSet,
 * Template, MetaData, extensions) are skipped, so payloads from other Sparkplug nodes still decode.
 */
import { DataType } from './datatype.js';
import {
  JOURNAL_POSITION_FIELD,
  type Metric,
  type MetricValue,
  type Payload,
  PayloadDecodeError,
  type PropertySet,
  type PropertyValue,
} from './payload.js';
import { fromWords, PayloadReader } from './reader.js';
import { VARINT } from './wire.js';

/**
 * The value fields of one metric or property value as read; a 64-bit one as its two words until
 * the datatype says signed or not. One per nesting level, reset before each use: decoding
 * allocates nothing per field.
 */
class RawValue {
  int: number | undefined = undefined;
  hasLong = false;
  lo = 0;
  hi = 0;
  float: number | undefined = undefined;
  double: number | undefined = undefined;
  boolean: boolean | undefined = undefined;
  string: string | undefined = undefined;
  bytes: Uint8Array | undefined = undefined;

  reset(): this {
    this.int = undefined;
    this.hasLong = false;
    this.float = undefined;
    this.double = undefined;
    this.boolean = undefined;
    this.string = undefined;
    this.bytes = undefined;
    return this;
  }

  /** Reads value field `offset` (0 = int_value … 6 = bytes_value); false for any other. */
  read(r: PayloadReader, offset: number): boolean {
    switch (offset) {
      case 0:
        this.int = r.uint32();
        return true;
      case 1:
        r.words();
        this.hasLong = true;
        this.lo = r.lo;
        this.hi = r.hi;
        return true;
      case 2:
        this.float = r.float();
        return true;
      case 3:
        this.double = r.double();
        return true;
      case 4:
        this.boolean = r.bool();
        return true;
      case 5:
        this.string = r.string();
        return true;
      case 6:
        this.bytes = r.bytes();
        return true;
      default:
        return false;
    }
  }
}

/** Decoding is synchronous and never nested: one reader and one RawValue per level serve all. */
const reader = new PayloadReader(new Uint8Array());
const metricRaw = new RawValue();
const propertyRaw = new RawValue();

/** valueFromRaw's answer when the datatype's value field is absent. */
const MISSING: unique symbol = Symbol('missing');

/**
 * The value `raw` holds for datatype `type`, or MISSING (the caller names what lacks it: no
 * message is built on the path of every metric).
 */
function valueFromRaw(type: number, raw: RawValue): MetricValue | typeof MISSING {
  switch (type) {
    case DataType.Int8:
      return raw.int === undefined ? MISSING : (raw.int << 24) >> 24;
    case DataType.Int16:
      return raw.int === undefined ? MISSING : (raw.int << 16) >> 16;
    case DataType.Int32:
      return raw.int === undefined ? MISSING : raw.int | 0;
    case DataType.UInt8:
      return raw.int === undefined ? MISSING : raw.int & 0xff;
    case DataType.UInt16:
      return raw.int === undefined ? MISSING : raw.int & 0xffff;
    case DataType.Int64:
      return raw.hasLong ? fromWords(raw.lo, raw.hi, true) : MISSING;
    case DataType.UInt32:
      // Tahu writes UInt32 as long; some encoders use int_value. Accept both.
      if (raw.hasLong) return raw.lo >>> 0;
      return raw.int === undefined ? MISSING : raw.int >>> 0;
    case DataType.UInt64:
    case DataType.DateTime:
      return raw.hasLong ? fromWords(raw.lo, raw.hi, false) : MISSING;
    case DataType.Float:
      return raw.float === undefined ? MISSING : raw.float;
    case DataType.Double:
      return raw.double === undefined ? MISSING : raw.double;
    case DataType.Boolean:
      return raw.boolean === undefined ? MISSING : raw.boolean;
    case DataType.String:
    case DataType.Text:
    case DataType.UUID:
      return raw.string === undefined ? MISSING : raw.string;
    case DataType.Bytes:
    case DataType.File:
      return raw.bytes === undefined ? MISSING : raw.bytes;
    default:
      // DataSet, Template, arrays: not modelled; the metric is kept, its value is not.
      return null;
  }
}

function missingValue(what: string, type: number): PayloadDecodeError {
  return new PayloadDecodeError(`${what}: datatype ${type} carries no matching value field`);
}

function decodePropertyValue(r: PayloadReader, end: number): PropertyValue {
  let type = 0;
  let isNull = false;
  const raw = propertyRaw.reset();
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) type = r.uint32();
    else if (field === 2) isNull = r.bool();
    else if (field < 3 || field > 8 || !raw.read(r, field - 3)) r.skip(tag & 7);
  }
  const value = isNull ? null : valueFromRaw(type, raw);
  if (value === MISSING) throw missingValue('property', type);
  return { type: type as DataType, value };
}

function decodePropertySet(r: PayloadReader, end: number): PropertySet {
  const keys: string[] = [];
  const values: PropertyValue[] = [];
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    if (field === 1) keys.push(r.string());
    else if (field === 2) values.push(decodePropertyValue(r, r.delimited()));
    else r.skip(tag & 7);
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

function decodeMetric(r: PayloadReader, end: number, index: number): Metric {
  let name: string | undefined;
  let alias: number | undefined;
  let timestamp: number | undefined;
  let datatype: number | undefined;
  let isHistorical = false;
  let isTransient = false;
  let isNull = false;
  let properties: PropertySet | undefined;
  const raw = metricRaw.reset();
  while (r.pos < end) {
    const tag = r.uint32();
    const field = tag >>> 3;
    switch (field) {
      case 1:
        name = r.string();
        break;
      case 2:
        alias = r.uint64Number();
        break;
      case 3:
        timestamp = r.uint64Number();
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
      case 9:
        properties = decodePropertySet(r, r.delimited());
        break;
      default:
        if (field < 10 || field > 16 || !raw.read(r, field - 10)) r.skip(tag & 7);
    }
  }

  if (datatype === undefined) {
    // Data messages may omit the datatype and rely on the birth; keep the raw value's shape.
    datatype = inferDatatype(raw);
  }
  const value = isNull ? null : valueFromRaw(datatype, raw);
  if (value === MISSING) {
    throw missingValue(`metric ${name ?? (alias !== undefined ? `alias ${alias}` : `#${index}`)}`, datatype);
  }
  // Every field in one literal, absent ones undefined: one shape for every metric, all of it in
  // the object (added one by one, the optional fields went to a second allocation).
  return {
    name,
    alias,
    timestamp,
    datatype: datatype as DataType,
    isHistorical: isHistorical ? true : undefined,
    isTransient: isTransient ? true : undefined,
    value,
    properties,
  };
}

function inferDatatype(raw: RawValue): number {
  if (raw.int !== undefined) return DataType.Int32;
  if (raw.hasLong) return DataType.Int64;
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
    const r = reader.reset(buf);
    let timestamp: number | undefined;
    let seq: number | undefined;
    let uuid: string | undefined;
    let body: Uint8Array | undefined;
    let journal: number | undefined;
    const metrics: Metric[] = [];
    while (r.pos < r.len) {
      const tag = r.uint32();
      const field = tag >>> 3;
      if (field === 0) throw new PayloadDecodeError('field number 0');
      switch (field) {
        case 1:
          timestamp = r.uint64Number();
          break;
        case 2: {
          const end = r.delimited();
          metrics.push(decodeMetric(r, end, metrics.length));
          if (r.pos !== end) throw new PayloadDecodeError('metric length does not match its fields');
          break;
        }
        case 3:
          seq = r.uint64Number();
          break;
        case 4:
          uuid = r.string();
          break;
        case 5:
          body = r.bytes();
          break;
        case JOURNAL_POSITION_FIELD: {
          if ((tag & 7) !== VARINT) throw new PayloadDecodeError('journal position is not a varint');
          const v = r.uint64();
          if (typeof v !== 'number') throw new PayloadDecodeError('journal position beyond 2^53');
          journal = v;
          break;
        }
        default:
          r.skip(tag & 7);
      }
    }
    return { timestamp, metrics, seq, uuid, body, journal };
  } catch (err) {
    if (err instanceof PayloadDecodeError) throw err;
    throw new PayloadDecodeError(err instanceof Error ? err.message : String(err), { cause: err });
  }
}
