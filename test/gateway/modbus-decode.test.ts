import { describe, expect, it } from 'vitest';
import { decodeRegisters, REGISTER_COUNT } from '../../gateway/southbound/modbus/decode.js';
import { decodeRead, planReads } from '../../gateway/southbound/modbus/planner.js';
import type { ModbusTagConfig } from '../../gateway/southbound/modbus/schema.js';

// 0x12345678 as the four orders put it on the wire.
const WIRE = {
  ABCD: [0x1234, 0x5678],
  CDAB: [0x5678, 0x1234],
  BADC: [0x3412, 0x7856],
  DCBA: [0x7856, 0x3412],
} as const;

function reorder(abcd: [number, number], order: keyof typeof WIRE): number[] {
  const [hi, lo] = abcd;
  const swap = (w: number) => ((w & 0xff) << 8) | (w >> 8);
  switch (order) {
    case 'ABCD':
      return [hi, lo];
    case 'CDAB':
      return [lo, hi];
    case 'BADC':
      return [swap(hi), swap(lo)];
    case 'DCBA':
      return [swap(lo), swap(hi)];
  }
}

describe('Modbus decoding', () => {
  for (const order of ['ABCD', 'CDAB', 'BADC', 'DCBA'] as const) {
    it(`decodes 32-bit types in ${order} order`, () => {
      expect(decodeRegisters(WIRE[order], 'uint32', order)).toBe(0x12345678);
      expect(decodeRegisters(WIRE[order], 'int32', order)).toBe(0x12345678);
      expect(decodeRegisters(reorder([0xffff, 0xfffe], order), 'int32', order)).toBe(-2);
      expect(decodeRegisters(reorder([0xffff, 0xfffe], order), 'uint32', order)).toBe(0xfffffffe);
      expect(decodeRegisters(reorder([0x8000, 0x0000], order), 'int32', order)).toBe(-2147483648);
      // 123.456f = 0x42F6E979
      expect(decodeRegisters(reorder([0x42f6, 0xe979], order), 'float32', order)).toBeCloseTo(123.456, 3);
      expect(decodeRegisters(reorder([0xc0a0, 0x0000], order), 'float32', order)).toBe(-5);
    });
  }

  it('decodes 16-bit types; byte-swapped orders swap the bytes of one word too', () => {
    expect(decodeRegisters([0xfffe], 'int16', 'ABCD')).toBe(-2);
    expect(decodeRegisters([0xfffe], 'uint16', 'ABCD')).toBe(65534);
    expect(decodeRegisters([0x7fff], 'int16', 'CDAB')).toBe(32767);
    expect(decodeRegisters([0x0080], 'int16', 'BADC')).toBe(-32768);
    expect(decodeRegisters([0x3412], 'uint16', 'DCBA')).toBe(0x1234);
  });

  it('rejects a wrong number of registers', () => {
    expect(() => decodeRegisters([1], 'float32', 'ABCD')).toThrow(/takes 2 registers/);
  });
});

function tag(name: string, table: ModbusTagConfig['table'], address: number, type: ModbusTagConfig['type']) {
  return { name, table, address, type, order: 'ABCD', scale: 1, deadband: 0 } as ModbusTagConfig;
}

describe('Modbus request planner', () => {
  it('reads contiguous ranges of one table in one request, and splits at gaps and tables', () => {
    const tags = [
      tag('b', 'holding', 12, 'uint32'),
      tag('a', 'holding', 10, 'int16'),
      tag('c', 'holding', 11, 'uint16'),
      tag('far', 'holding', 200, 'float32'),
      tag('lamp1', 'coil', 1, 'bool'),
      tag('lamp0', 'coil', 0, 'bool'),
      tag('in', 'input', 0, 'int16'),
    ];
    const plan = planReads(tags);
    expect(plan.map((r) => [r.table, r.address, r.count, r.tags.map((t) => t.tag.name)])).toEqual([
      ['coil', 0, 2, ['lamp0', 'lamp1']],
      ['input', 0, 1, ['in']],
      ['holding', 10, 4, ['a', 'c', 'b']],
      ['holding', 200, 2, ['far']],
    ]);
  });

  it('keeps each read within 125 registers and 2000 bits', () => {
    const regs = Array.from({ length: 130 }, (_, i) => tag(`r${i}`, 'holding', i, 'uint16'));
    const bits = Array.from({ length: 2001 }, (_, i) => tag(`c${i}`, 'coil', i, 'bool'));
    const plan = planReads([...regs, ...bits]);
    expect(plan.map((r) => [r.table, r.address, r.count])).toEqual([
      ['coil', 0, 2000],
      ['coil', 2000, 1],
      ['holding', 0, 125],
      ['holding', 125, 5],
    ]);
    // A 32-bit value never straddles two reads.
    const wide = planReads(Array.from({ length: 63 }, (_, i) => tag(`w${i}`, 'holding', i * 2, 'uint32')));
    expect(wide.map((r) => r.count)).toEqual([124, 2]);
  });

  it('bridges gaps only when allowed', () => {
    const tags = [tag('a', 'holding', 0, 'uint16'), tag('b', 'holding', 3, 'uint16')];
    expect(planReads(tags)).toHaveLength(2);
    expect(planReads(tags, { maxRegisters: 125, maxBits: 2000, maxGap: 2 })).toHaveLength(1);
  });

  it('decodes a read into tag values with scale', () => {
    const t = { ...tag('temp', 'holding', 5, 'int16'), scale: 0.1 };
    const u = { ...tag('count', 'holding', 6, 'uint32'), order: 'CDAB' as const };
    const [req] = planReads([t, u]);
    expect(REGISTER_COUNT.uint32).toBe(2);
    const values = decodeRead(req!, [0xff9c, 0x0002, 0x0001]);
    expect(values[0]!.value).toBeCloseTo(-10);
    expect(values[1]!.value).toBe(0x00010002);
    const [bits] = planReads([tag('x', 'coil', 0, 'bool')]);
    expect(decodeRead(bits!, [true])[0]!.value).toBe(true);
  });
});
