import { describe, expect, it } from 'vitest';
import {
  decodeBit,
  decodeNumber,
  decodeString,
  type NumericType,
  scaled,
} from '../../gateway/southbound/modbus/decode.js';
import { encodeWrite } from '../../gateway/southbound/modbus/encode.js';
import {
  modiconNumber,
  parseModicon,
  type ResolvedTag,
  type WordOrder,
} from '../../gateway/southbound/modbus/tags.js';

// Where each order puts the value's bytes (0 = most significant), written out by hand.
const PERMUTATION: Record<number, Record<WordOrder, number[]>> = {
  2: { ABCD: [0, 1], BADC: [1, 0], CDAB: [0, 1], DCBA: [1, 0] },
  4: { ABCD: [0, 1, 2, 3], BADC: [1, 0, 3, 2], CDAB: [2, 3, 0, 1], DCBA: [3, 2, 1, 0] },
  8: {
    ABCD: [0, 1, 2, 3, 4, 5, 6, 7],
    BADC: [1, 0, 3, 2, 5, 4, 7, 6],
    CDAB: [6, 7, 4, 5, 2, 3, 0, 1],
    DCBA: [7, 6, 5, 4, 3, 2, 1, 0],
  },
};

function wire(bigEndian: Buffer, order: WordOrder): number[] {
  const bytes = PERMUTATION[bigEndian.length]![order].map((i) => bigEndian[i]!);
  const words: number[] = [];
  for (let i = 0; i < bytes.length; i += 2) words.push((bytes[i]! << 8) | bytes[i + 1]!);
  return words;
}

const be = (size: number, write: (b: Buffer) => void) => {
  const b = Buffer.alloc(size);
  write(b);
  return b;
};

const CASES: Array<[NumericType, Buffer, number | bigint]> = [
  ['int16', be(2, (b) => b.writeInt16BE(-12345)), -12345],
  ['uint16', be(2, (b) => b.writeUInt16BE(54321)), 54321],
  ['int32', be(4, (b) => b.writeInt32BE(-123456789)), -123456789],
  ['uint32', be(4, (b) => b.writeUInt32BE(0x12345678)), 0x12345678],
  ['float32', be(4, (b) => b.writeFloatBE(-5)), -5],
  ['float32', Buffer.from([0x42, 0xf6, 0xe9, 0x79]), Math.fround(123.456)],
  ['int64', be(8, (b) => b.writeBigInt64BE(-1234567890123456789n)), -1234567890123456789n],
  ['int64', be(8, (b) => b.writeBigInt64BE(-42n)), -42],
  ['uint64', be(8, (b) => b.writeBigUInt64BE(0x0102030405060708n)), 0x0102030405060708n],
  ['uint64', be(8, (b) => b.writeBigUInt64BE(2n ** 53n - 1n)), 2 ** 53 - 1],
  ['float64', be(8, (b) => b.writeDoubleBE(-98765.4321)), -98765.4321],
];

function tag(over: Partial<ResolvedTag>): ResolvedTag {
  return {
    name: 't',
    table: 'holding',
    address: 0,
    width: 1,
    type: 'uint16',
    order: 'ABCD',
    bit: undefined,
    scale: 1,
    offset: 0,
    writable: true,
    writeMultiple: false,
    ...over,
  };
}

describe('Modbus decoding and encoding', () => {
  for (const order of ['ABCD', 'BADC', 'CDAB', 'DCBA'] as const) {
    it(`decodes every numeric type in ${order} order, and encodes it back`, () => {
      for (const [type, bytes, value] of CASES) {
        const words = wire(bytes, order);
        expect(decodeNumber(words, type, order), `${type} ${order}`).toBe(value);
        const width = words.length;
        const encoded = encodeWrite(tag({ type, order, width }), value);
        expect(encoded, `${type} ${order} encoded`).toEqual({ kind: 'registers', words });
      }
    });
  }

  it('names 0x12345678 on the wire the way the docs do', () => {
    expect(decodeNumber([0x1234, 0x5678], 'uint32', 'ABCD')).toBe(0x12345678);
    expect(decodeNumber([0x3412, 0x7856], 'uint32', 'BADC')).toBe(0x12345678);
    expect(decodeNumber([0x5678, 0x1234], 'uint32', 'CDAB')).toBe(0x12345678);
    expect(decodeNumber([0x7856, 0x3412], 'uint32', 'DCBA')).toBe(0x12345678);
    expect(() => decodeNumber([1], 'float32', 'ABCD')).toThrow(/takes 2 registers/);
  });

  it('reads strings high byte first (ABCD) or low byte first (BADC), up to the first NUL', () => {
    expect(decodeString([0x5761, 0x6e6a, 0x6900, 0x0000], 'ABCD')).toBe('Wanji');
    expect(decodeString([0x6157, 0x6a6e, 0x0069, 0x0000], 'BADC')).toBe('Wanji');
    expect(decodeString([0x4142, 0x4344], 'ABCD')).toBe('ABCD'); // no NUL: all of it
    expect(encodeWrite(tag({ type: 'string', width: 3 }), 'AB')).toEqual({
      kind: 'registers',
      words: [0x4142, 0, 0],
    });
    expect(encodeWrite(tag({ type: 'string', width: 3, order: 'BADC' }), 'ABC')).toEqual({
      kind: 'registers',
      words: [0x4241, 0x0043, 0],
    });
  });

  it('reads bits of a register, bit 0 least significant', () => {
    expect([0, 1, 2, 13, 14, 15].map((b) => decodeBit(0xa005, b))).toEqual([
      true,
      false,
      true,
      true,
      false,
      true,
    ]);
  });

  it('applies scale and offset both ways, and refuses values that do not fit', () => {
    expect(scaled(2305, 0.1, 0)).toBe(230.5);
    expect(scaled(100, 0.5, -40)).toBe(10);
    expect(scaled(7n, 1, 0)).toBe(7n);
    const t = tag({ type: 'int16', scale: 0.1, offset: -40 });
    expect(encodeWrite(t, 190.5)).toEqual({ kind: 'registers', words: [2305] });
    expect(() => encodeWrite(tag({ type: 'uint16' }), -1)).toThrow(/outside the uint16 range/);
    expect(() => encodeWrite(tag({ type: 'int32', width: 2 }), 'x')).toThrow(/takes a number/);
    expect(() => encodeWrite(tag({ table: 'coil', type: 'bool' }), 2)).toThrow(/true or false/);
    expect(encodeWrite(tag({ table: 'coil', type: 'bool' }), 1)).toEqual({ kind: 'coil', value: true });
    expect(() => encodeWrite(tag({ type: 'string', width: 1 }), 'abc')).toThrow(/holds 2/);
  });
});

describe('Modicon register numbers', () => {
  it('turns 5- and 6-digit numbers into table and 0-based address', () => {
    expect(parseModicon(40001)).toEqual({ table: 'holding', address: 0 });
    expect(parseModicon(40011)).toEqual({ table: 'holding', address: 10 });
    expect(parseModicon('400001')).toEqual({ table: 'holding', address: 0 });
    expect(parseModicon(465536)).toEqual({ table: 'holding', address: 65535 });
    expect(parseModicon(30002)).toEqual({ table: 'input', address: 1 });
    expect(parseModicon(10001)).toEqual({ table: 'discrete', address: 0 });
    expect(parseModicon(1)).toEqual({ table: 'coil', address: 0 }); // YAML's 00001
    expect(parseModicon('000017')).toEqual({ table: 'coil', address: 16 });
    expect(modiconNumber('holding', 10)).toBe('40011');
    expect(modiconNumber('holding', 20000)).toBe('420001');
  });

  it('says what is wrong with a number that is not one', () => {
    expect(parseModicon(40000)).toMatchObject({ error: expect.stringMatching(/start at 1/) });
    expect(parseModicon(20001)).toMatchObject({
      error: expect.stringMatching(/no Modicon table starts with 2/),
    });
    expect(parseModicon(465537)).toMatchObject({
      error: expect.stringMatching(/outside the holding numbers/),
    });
    expect(parseModicon(4000001)).toMatchObject({ error: expect.stringMatching(/not a Modicon number/) });
  });
});
