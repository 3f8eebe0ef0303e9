/** Encodes a Sparkplug B payload (see payload.ts). */
import protobuf from 'protobufjs/minimal.js';
import { valueFieldOf } from './datatype.js';
import {
  JOURNAL_POSITION_FIELD,
  type Metric,
  type MetricValue,
  type Payload,
  PayloadEncodeError,
  type PropertySet,
} from './payload.js';
import { FIXED32, FIXED64, key, LEN, toLong, VARINT } from './wire.js';

const { Writer } = protobuf;

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
  if (p.journal !== undefined) {
    if (!Number.isSafeInteger(p.journal) || p.journal < 0) {
      throw new PayloadEncodeError(`journal position ${p.journal} is not a non-negative safe integer`);
    }
    w.uint32(key(JOURNAL_POSITION_FIELD, VARINT)).uint64(toLong(p.journal, 'journal position'));
  }
  return w.finish();
}
