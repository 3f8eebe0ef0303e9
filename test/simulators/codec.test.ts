import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { decodeRegisters, encodeRegisters, registerWidth, wireValue } from '../../simulators/modbus/codec.js';
import { registerTableMarkdown } from '../../simulators/modbus/register-doc.js';
import { buildLayout, REGISTER_MAPS } from '../../simulators/modbus/register-map.js';
import { PROFILES, SIM_KINDS } from '../../simulators/profiles/index.js';

describe('register encoding', () => {
  it('encodes 16-bit types', () => {
    expect(encodeRegisters(1234, 'int16')).toEqual([1234]);
    expect(encodeRegisters(-2, 'int16')).toEqual([0xfffe]);
    expect(encodeRegisters(65535, 'uint16')).toEqual([0xffff]);
    expect(decodeRegisters([0xfffe], 'int16')).toBe(-2);
    expect(decodeRegisters([0xfffe], 'uint16')).toBe(0xfffe);
  });

  it('encodes 32-bit integers in ABCD and CDAB', () => {
    expect(encodeRegisters(0x12345678, 'uint32', 'ABCD')).toEqual([0x1234, 0x5678]);
    expect(encodeRegisters(0x12345678, 'uint32', 'CDAB')).toEqual([0x5678, 0x1234]);
    expect(encodeRegisters(-2, 'int32', 'ABCD')).toEqual([0xffff, 0xfffe]);
    expect(encodeRegisters(-2, 'int32', 'CDAB')).toEqual([0xfffe, 0xffff]);
    expect(decodeRegisters([0x5678, 0x1234], 'uint32', 'CDAB')).toBe(0x12345678);
    expect(decodeRegisters([0xffff, 0xfffe], 'int32', 'ABCD')).toBe(-2);
    expect(registerWidth('uint32')).toBe(2);
  });

  it('encodes float32 in ABCD and CDAB', () => {
    // 1.5f = 0x3FC00000
    expect(encodeRegisters(1.5, 'float32', 'ABCD')).toEqual([0x3fc0, 0x0000]);
    expect(encodeRegisters(1.5, 'float32', 'CDAB')).toEqual([0x0000, 0x3fc0]);
    // 123.456f = 0x42F6E979
    expect(encodeRegisters(123.456, 'float32', 'ABCD')).toEqual([0x42f6, 0xe979]);
    expect(encodeRegisters(123.456, 'float32', 'CDAB')).toEqual([0xe979, 0x42f6]);
    expect(decodeRegisters([0xe979, 0x42f6], 'float32', 'CDAB')).toBe(Math.fround(123.456));
  });

  it('applies scale and saturates at the type range', () => {
    expect(encodeRegisters(230.5, 'int16', 'ABCD', 0.1)).toEqual([2305]);
    expect(decodeRegisters([2305], 'int16', 'ABCD', 0.1)).toBe(230.5);
    expect(encodeRegisters(-12.34, 'int16', 'ABCD', 0.01)).toEqual([0x10000 - 1234]);
    expect(decodeRegisters([0x10000 - 1234], 'int16', 'ABCD', 0.01)).toBe(-12.34);
    expect(encodeRegisters(70_000, 'int16')).toEqual([32767]);
    expect(encodeRegisters(-1, 'uint32', 'ABCD')).toEqual([0, 0]);
    expect(encodeRegisters(Number.NaN, 'uint16')).toEqual([0]);
  });

  it('round-trips every type and order', () => {
    const cases = [
      ['int16', -32768],
      ['int16', 32767],
      ['uint16', 0],
      ['int32', -2147483648],
      ['int32', 2147483647],
      ['uint32', 4294967295],
      ['float32', -0.25],
    ] as const;
    for (const [type, v] of cases) {
      for (const order of ['ABCD', 'CDAB'] as const) {
        expect(decodeRegisters(encodeRegisters(v, type, order), type, order), `${type} ${order}`).toBe(v);
      }
    }
    expect(wireValue({ signal: 'x', table: 'input', address: 0, type: 'float32' }, 0.1)).toBe(
      Math.fround(0.1),
    );
    expect(wireValue({ signal: 'x', table: 'coil', address: 0, type: 'bool' }, true)).toBe(true);
  });
});

describe('register maps', () => {
  it('cover existing signals of matching type, without overlaps, with the common layout', () => {
    for (const kind of SIM_KINDS) {
      const map = REGISTER_MAPS[kind];
      const specs = new Map(PROFILES[kind].signals.map((s) => [s.name, s]));
      expect(() => buildLayout(map)).not.toThrow();
      for (const e of map) {
        const spec = specs.get(e.signal);
        expect(spec, `${kind}.${e.signal}`).toBeDefined();
        expect(spec?.type === 'Boolean', `${kind}.${e.signal}`).toBe(e.type === 'bool');
        expect(spec?.type, `${kind}.${e.signal}`).not.toBe('String');
      }
      const at = (table: string, address: number) =>
        map.find((e) => e.table === table && e.address === address)?.signal;
      expect([at('coil', 0), at('coil', 1), at('coil', 2), at('holding', 0)]).toEqual([
        'lampRed',
        'lampYellow',
        'lampGreen',
        'state',
      ]);
      const types = new Set(map.map((e) => `${e.type}${e.order ? `/${e.order}` : ''}`));
      expect(types.has('float32/ABCD') && types.has('float32/CDAB'), kind).toBe(true);
      expect(
        [...types].some((t) => t.startsWith('uint32')),
        kind,
      ).toBe(true);
      expect(types.has('int16'), kind).toBe(true);
    }
  });

  it('rejects overlapping entries', () => {
    expect(() =>
      buildLayout([
        { signal: 'a', table: 'holding', address: 0, type: 'uint32' },
        { signal: 'b', table: 'holding', address: 1, type: 'int16' },
      ]),
    ).toThrow(/overlaps/);
  });
});

describe('docs/modbus-register-map.md', () => {
  it('shows the register maps as they are in code', () => {
    const doc = readFileSync(new URL('../../docs/modbus-register-map.md', import.meta.url), 'utf8');
    for (const kind of SIM_KINDS) expect(doc, kind).toContain(registerTableMarkdown(kind));
  });
});
