/** Encodes a Sparkplug B payload (see payload.ts). */
import { valueFieldOf } from './datatype.js';
import {
  JOURNAL_POSITION_FIELD,
  type Metric,
  type MetricValue,
  type Payload,
  PayloadEncodeError,
  type PropertySet,
} from './payload.js';
import { FIXED32, FIXED64, key, LEN, VARINT } from './wire.js';
import { PayloadWriter } from './writer.js';

/** Encoding is synchronous: one writer (and its buffer) serves every payload. */
const writer = new PayloadWriter();

/**
 * What is being written, for an error message: text, or a function that makes it, so that the
 * text is only built when there is an error (this runs for every metric).
 */
type Label = string | (() => string);
const text = (l: Label): string => (typeof l === 'string' ? l : l());

/** The metric writeMetric is writing (and its index), for its labels. */
let labelledMetric: Metric | undefined;
let labelledIndex = 0;
const metricLabel = (): string => `metric ${labelledMetric?.name ?? `#${labelledIndex}`}`;
const aliasLabel = (): string => `${metricLabel()} alias`;
const timestampLabel = (): string => `${metricLabel()} timestamp`;

function asNumber(v: MetricValue, what: Label): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'boolean') return v ? 1 : 0;
  throw new PayloadEncodeError(`${text(what)}: expected a number, got ${typeof v}`);
}

function asInteger(v: MetricValue, what: Label): number | bigint {
  if (typeof v === 'bigint') return v;
  const n = asNumber(v, what);
  if (!Number.isFinite(n)) throw new PayloadEncodeError(`${text(what)}: ${n} is not a finite number`);
  return Math.trunc(n);
}

/** Writes the value fields shared by Metric (10–16) and PropertyValue (3–8, no bytes). */
function writeValue(w: PayloadWriter, type: number, value: MetricValue, base: number, what: Label): void {
  // Metric: int 10, long 11, float 12, double 13, bool 14, string 15, bytes 16.
  // PropertyValue: int 3, long 4, float 5, double 6, bool 7, string 8.
  switch (valueFieldOf(type)) {
    case 'int': {
      const n = asInteger(value, what);
      // The low 32 bits, two's complement (ToUint32 is exact for any finite number).
      w.uint32(key(base, VARINT)).uint32(typeof n === 'number' ? n >>> 0 : Number(BigInt.asUintN(32, n)));
      return;
    }
    case 'long':
      w.uint32(key(base + 1, VARINT)).long(asInteger(value, what), text(what));
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
      if (typeof value !== 'string') throw new PayloadEncodeError(`${text(what)}: expected a string`);
      w.uint32(key(base + 5, LEN)).string(value);
      return;
    case 'bytes':
      if (!(value instanceof Uint8Array)) throw new PayloadEncodeError(`${text(what)}: expected bytes`);
      if (base !== 10) throw new PayloadEncodeError(`${text(what)}: a property cannot carry bytes`);
      w.uint32(key(base + 6, LEN)).bytes(value);
      return;
    case 'none':
      throw new PayloadEncodeError(`${text(what)}: datatype ${type} is not supported by Wanji's codec`);
  }
}

function writePropertySet(w: PayloadWriter, props: PropertySet, what: Label): void {
  const entries = Object.entries(props);
  for (const [k] of entries) w.uint32(key(1, LEN)).string(k);
  for (const [k, pv] of entries) {
    w.uint32(key(2, LEN)).fork();
    w.uint32(key(1, VARINT)).uint32(pv.type);
    if (pv.value === null) w.uint32(key(2, VARINT)).bool(true);
    else writeValue(w, pv.type, pv.value, 3, () => `${text(what)} property "${k}"`);
    w.ldelim();
  }
}

function writeMetric(w: PayloadWriter, m: Metric, index: number): void {
  labelledMetric = m;
  labelledIndex = index;
  const what = metricLabel;
  if (m.name !== undefined) w.uint32(key(1, LEN)).string(m.name);
  if (m.alias !== undefined) w.uint32(key(2, VARINT)).long(m.alias, aliasLabel);
  if (m.timestamp !== undefined) w.uint32(key(3, VARINT)).long(m.timestamp, timestampLabel);
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
  const w = writer.reset();
  if (p.timestamp !== undefined) w.uint32(key(1, VARINT)).long(p.timestamp, 'timestamp');
  p.metrics.forEach((m, i) => {
    w.uint32(key(2, LEN)).fork();
    writeMetric(w, m, i);
    w.ldelim();
  });
  if (p.seq !== undefined) {
    if (!Number.isInteger(p.seq) || p.seq < 0 || p.seq > 255) {
      throw new PayloadEncodeError(`seq ${p.seq} is outside 0–255`);
    }
    w.uint32(key(3, VARINT)).long(p.seq, 'seq');
  }
  if (p.uuid !== undefined) w.uint32(key(4, LEN)).string(p.uuid);
  if (p.body !== undefined) w.uint32(key(5, LEN)).bytes(p.body);
  if (p.journal !== undefined) {
    if (!Number.isSafeInteger(p.journal) || p.journal < 0) {
      throw new PayloadEncodeError(`journal position ${p.journal} is not a non-negative safe integer`);
    }
    w.uint32(key(JOURNAL_POSITION_FIELD, VARINT)).long(p.journal, 'journal position');
  }
  return w.finish();
}
