/**
 * Pure value ↔ register conversion for the register map's types and word orders.
 *
 * Word orders for 32-bit values (bytes within a word are always big-endian, as Modbus says):
 * - ABCD: high word first (big-endian, "Modicon" order),
 * - CDAB: low word first (word-swapped, common on many PLCs and power meters).
 *
 * Scale: engineering value = raw × scale. Encoding rounds integers to the nearest raw value and
 * saturates at the type's range, as a PLC would.
 */

export type RegisterTable = 'coil' | 'discrete' | 'input' | 'holding';
export type RegisterType = 'bool' | 'int16' | 'uint16' | 'int32' | 'uint32' | 'float32';
export type WordType = Exclude<RegisterType, 'bool'>;
export type WordOrder = 'ABCD' | 'CDAB';

export interface RegisterEntry {
  readonly signal: string;
  readonly table: RegisterTable;
  /** 0-based protocol address (register 40001 in 1-based "Modicon" notation is holding 0). */
  readonly address: number;
  readonly type: RegisterType;
  /** For 32-bit types; default ABCD. */
  readonly order?: WordOrder;
  /** Engineering value = raw × scale; default 1. */
  readonly scale?: number;
}

/** Registers (or bits, for bool) a type occupies. */
export function registerWidth(type: RegisterType): 1 | 2 {
  return type === 'int32' || type === 'uint32' || type === 'float32' ? 2 : 1;
}

const RANGE: Readonly<Record<Exclude<WordType, 'float32'>, readonly [number, number]>> = {
  int16: [-32768, 32767],
  uint16: [0, 65535],
  int32: [-2147483648, 2147483647],
  uint32: [0, 4294967295],
};

function toRaw(value: number, scale: number): number {
  return scale === 1 ? value : value / scale;
}

function fromRaw(raw: number, scale: number): number {
  if (scale === 1) return raw;
  // Dividing by 10 gives 230.5 where multiplying by 0.1 gives 230.50000000000003.
  const inverse = 1 / scale;
  return Number.isInteger(inverse) ? raw / inverse : raw * scale;
}

/** A value as the registers that carry it (each 0..65535). */
export function encodeRegisters(
  value: number,
  type: WordType,
  order: WordOrder = 'ABCD',
  scale = 1,
): number[] {
  const buf = Buffer.alloc(4);
  const raw = toRaw(value, scale);
  if (type === 'float32') {
    buf.writeFloatBE(raw, 0);
  } else {
    const [min, max] = RANGE[type];
    const n = Number.isFinite(raw) ? Math.min(max, Math.max(min, Math.round(raw))) : 0;
    if (type === 'int16') {
      buf.writeInt16BE(n, 0);
      return [buf.readUInt16BE(0)];
    }
    if (type === 'uint16') return [n];
    if (type === 'int32') buf.writeInt32BE(n, 0);
    else buf.writeUInt32BE(n, 0);
  }
  const hi = buf.readUInt16BE(0);
  const lo = buf.readUInt16BE(2);
  return order === 'ABCD' ? [hi, lo] : [lo, hi];
}

/** The value registers carry; `words` must hold registerWidth(type) registers. */
export function decodeRegisters(
  words: readonly number[],
  type: WordType,
  order: WordOrder = 'ABCD',
  scale = 1,
): number {
  const width = registerWidth(type);
  if (words.length < width) throw new Error(`${type} needs ${width} registers, got ${words.length}`);
  const buf = Buffer.alloc(4);
  if (width === 1) {
    buf.writeUInt16BE((words[0] ?? 0) & 0xffff, 0);
    return fromRaw(type === 'int16' ? buf.readInt16BE(0) : buf.readUInt16BE(0), scale);
  }
  const [first = 0, second = 0] = words;
  const [hi, lo] = order === 'ABCD' ? [first, second] : [second, first];
  buf.writeUInt16BE(hi & 0xffff, 0);
  buf.writeUInt16BE(lo & 0xffff, 2);
  const raw =
    type === 'float32' ? buf.readFloatBE(0) : type === 'int32' ? buf.readInt32BE(0) : buf.readUInt32BE(0);
  return fromRaw(raw, scale);
}

/** What a client decodes from an entry for a machine value (float32 rounding, scale, saturation). */
export function wireValue(entry: RegisterEntry, value: number | boolean): number | boolean {
  if (entry.type === 'bool') return Boolean(value);
  const n = typeof value === 'boolean' ? Number(value) : value;
  return decodeRegisters(
    encodeRegisters(n, entry.type, entry.order, entry.scale),
    entry.type,
    entry.order,
    entry.scale,
  );
}
