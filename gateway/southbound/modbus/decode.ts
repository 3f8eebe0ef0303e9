/**
 * Pure Modbus decoding: registers (16-bit words, as they arrive) to numbers, per type and
 * byte order. Written for any width so 64-bit types only need a table entry.
 */
import type { ModbusOrder, ModbusType } from './schema.js';

export type RegisterType = Exclude<ModbusType, 'bool'>;

/** Registers each type occupies; bool lives in the bit tables and takes one coil. */
export const REGISTER_COUNT: Readonly<Record<ModbusType, number>> = {
  bool: 1,
  int16: 1,
  uint16: 1,
  int32: 2,
  uint32: 2,
  float32: 2,
};

/** Low word first (CDAB, DCBA): the word order is reversed. */
function wordSwapped(order: ModbusOrder): boolean {
  return order === 'CDAB' || order === 'DCBA';
}

/** Low byte first within each word (BADC, DCBA). */
function byteSwapped(order: ModbusOrder): boolean {
  return order === 'BADC' || order === 'DCBA';
}

/** Puts the words into a big-endian (ABCD…) buffer. */
export function toBigEndian(words: readonly number[], order: ModbusOrder): Buffer {
  const ordered = wordSwapped(order) ? [...words].reverse() : words;
  const buf = Buffer.alloc(ordered.length * 2);
  ordered.forEach((w, i) => {
    const v = w & 0xffff;
    buf.writeUInt16BE(byteSwapped(order) ? ((v & 0xff) << 8) | (v >> 8) : v, i * 2);
  });
  return buf;
}

export class ModbusDecodeError extends RangeError {
  constructor(message: string) {
    super(message);
    this.name = 'ModbusDecodeError';
  }
}

/** The raw value of `words` (exactly REGISTER_COUNT[type] of them) as `type`. */
export function decodeRegisters(words: readonly number[], type: RegisterType, order: ModbusOrder): number {
  if (words.length !== REGISTER_COUNT[type]) {
    throw new ModbusDecodeError(`${type} takes ${REGISTER_COUNT[type]} registers, got ${words.length}`);
  }
  const b = toBigEndian(words, order);
  switch (type) {
    case 'int16':
      return b.readInt16BE(0);
    case 'uint16':
      return b.readUInt16BE(0);
    case 'int32':
      return b.readInt32BE(0);
    case 'uint32':
      return b.readUInt32BE(0);
    case 'float32':
      return b.readFloatBE(0);
  }
}

/** Applies the tag's scale; a scale of 1 leaves the raw value (and its integer type) alone. */
export function scaled(raw: number, scale: number): number {
  return scale === 1 ? raw : raw * scale;
}
