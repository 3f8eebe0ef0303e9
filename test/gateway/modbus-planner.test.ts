import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../gateway/config/index.js';
import { decodeRead, planReads, splitRequest } from '../../gateway/southbound/modbus/planner.js';
import type { ModbusTagConfig } from '../../gateway/southbound/modbus/schema.js';
import { type ResolvedTag, resolveTag } from '../../gateway/southbound/modbus/tags.js';
import { modbusConfig } from './modbus-harness.js';

function tag(
  name: string,
  table: ResolvedTag['table'],
  address: number,
  type: ResolvedTag['type'],
  more = {},
) {
  return resolveTag({
    name,
    table,
    address,
    type,
    order: 'ABCD',
    scale: 1,
    offset: 0,
    writable: false,
    writeMultiple: false,
    deadband: 0,
    ...more,
  } as ModbusTagConfig);
}

const shape = (plan: ReturnType<typeof planReads>) =>
  plan.map((r) => [r.table, r.address, r.count, r.tags.map((t) => t.tag.name)]);

describe('Modbus request planner', () => {
  it('merges tags of one table into one read, per table, in address order', () => {
    const tags = [
      tag('b', 'holding', 12, 'uint32'),
      tag('a', 'holding', 10, 'int16'),
      tag('c', 'holding', 11, 'uint16'),
      tag('far', 'holding', 200, 'float32'),
      tag('lamp1', 'coil', 1, 'bool'),
      tag('lamp0', 'coil', 0, 'bool'),
      tag('in', 'input', 0, 'int16'),
      tag('bit3', 'holding', 11, 'bool', { bit: 3 }),
      tag('name', 'holding', 14, 'string', { length: 4 }),
    ];
    expect(shape(planReads(tags))).toEqual([
      ['coil', 0, 2, ['lamp0', 'lamp1']],
      ['input', 0, 1, ['in']],
      ['holding', 10, 8, ['a', 'c', 'bit3', 'b', 'name']],
      ['holding', 200, 2, ['far']],
    ]);
  });

  it('bridges gaps up to maxGap, and keeps reads within maxRegisters and maxBits', () => {
    const gapped = [tag('a', 'holding', 0, 'uint16'), tag('b', 'holding', 3, 'uint64')];
    expect(planReads(gapped, { maxRegisters: 125, maxBits: 2000, maxGap: 0 })).toHaveLength(2);
    expect(planReads(gapped, { maxRegisters: 125, maxBits: 2000, maxGap: 2 }).map((r) => r.count)).toEqual([
      7,
    ]);
    const regs = Array.from({ length: 130 }, (_, i) => tag(`r${i}`, 'holding', i, 'uint16'));
    const bits = Array.from({ length: 2001 }, (_, i) => tag(`c${i}`, 'coil', i, 'bool'));
    expect(planReads([...regs, ...bits]).map((r) => [r.table, r.address, r.count])).toEqual([
      ['coil', 0, 2000],
      ['coil', 2000, 1],
      ['holding', 0, 125],
      ['holding', 125, 5],
    ]);
    // A 32-bit value never straddles two reads; a smaller limit is honoured; 125 is the cap.
    const wide = Array.from({ length: 63 }, (_, i) => tag(`w${i}`, 'holding', i * 2, 'uint32'));
    expect(planReads(wide).map((r) => r.count)).toEqual([124, 2]);
    expect(planReads(wide, { maxRegisters: 10, maxBits: 2000, maxGap: 0 }).map((r) => r.count)).toEqual(
      Array(12).fill(10).concat([6]),
    );
    expect(planReads(regs, { maxRegisters: 500, maxBits: 9999, maxGap: 0 })[0]!.count).toBe(125);
  });

  it('splits a refused read at its widest hole, then in halves, down to single tags', () => {
    const tags = [0, 1, 2, 3, 10, 11].map((a) => tag(`t${a}`, 'holding', a, 'uint16'));
    const [read] = planReads(tags, { maxRegisters: 125, maxBits: 2000, maxGap: 8 });
    expect(read!.count).toBe(12);
    const [left, right] = splitRequest(read!)!;
    expect([left.address, left.count, right.address, right.count]).toEqual([0, 4, 10, 2]);
    const [l1, l2] = splitRequest(left)!;
    expect([l1.address, l1.count, l2.address, l2.count]).toEqual([0, 2, 2, 2]);
    const [one] = splitRequest(l1)!;
    expect(splitRequest(one)).toBeUndefined();
    // Bits of one register cannot be told apart: no split.
    const [bitsRead] = planReads([
      tag('x', 'holding', 5, 'bool', { bit: 1 }),
      tag('y', 'holding', 5, 'bool', { bit: 2 }),
    ]);
    expect(splitRequest(bitsRead!)).toBeUndefined();
  });

  it('decodes a read into tag values', () => {
    const t = tag('temp', 'holding', 5, 'int16', { scale: 0.1 });
    const u = tag('count', 'holding', 6, 'uint32', { order: 'CDAB' });
    const b = tag('flag', 'holding', 6, 'bool', { bit: 1 });
    const [req] = planReads([t, u, b]);
    expect(decodeRead(req!, [0xff9c, 0x0002, 0x0001]).map((d) => [d.tag.name, d.value])).toEqual([
      ['temp', -10],
      ['flag', true],
      ['count', 0x00010002],
    ]);
    const [bits] = planReads([tag('x', 'coil', 0, 'bool')]);
    expect(decodeRead(bits!, [true, false])[0]!.value).toBe(true);
  });
});

function issues(tags: Array<Record<string, unknown>>, connection: Record<string, unknown> = {}): string[] {
  try {
    modbusConfig({ type: 'modbus-tcp', host: 'h', ...connection }, [{ id: 'M', tags }]);
    return [];
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    return err.issues.map((i) => `${i.path}: ${i.message} | ${i.fix}`);
  }
}

describe('Modbus tag config', () => {
  it('accepts a Modicon register instead of table + address, and resolves it', () => {
    const config = modbusConfig({ type: 'modbus-rtu', path: '/dev/ttyUSB0' }, [
      {
        id: 'M',
        tags: [
          { name: 'a', register: 40011, type: 'uint16' },
          { name: 'b', register: '300001', type: 'int16' },
        ],
      },
    ]);
    const tags = config.machines[0]!.tags as ModbusTagConfig[];
    expect(tags.map(resolveTag).map((t) => [t.table, t.address])).toEqual([
      ['holding', 10],
      ['input', 0],
    ]);
    expect(config.connections[0]).toMatchObject({ baudRate: 9600, parity: 'none', dataBits: 8, stopBits: 1 });
  });

  it('never takes both, and says which key to use', () => {
    const both = issues([{ name: 'a', register: 40011, table: 'holding', address: 10, type: 'uint16' }]);
    expect(both).toEqual([
      expect.stringMatching(
        /^\/machines\/0\/tags\/0\/address: both register and address are given \| use either register .*40011.* or table \+ address/,
      ),
    ]);
    expect(issues([{ name: 'a', type: 'uint16' }])[0]).toMatch(
      /missing required key "address" \(or "register"\) \| give table \+ address .* or register/,
    );
    expect(issues([{ name: 'a', address: 3, type: 'uint16' }])[0]).toMatch(
      /tags\/0\/table: missing required key "table"/,
    );
    expect(issues([{ name: 'a', register: 40000, type: 'uint16' }])[0]).toMatch(
      /tags\/0\/register: .*start at 1/,
    );
    expect(issues([{ name: 'a', register: 20001, type: 'uint16' }])[0]).toMatch(
      /no Modicon table starts with 2/,
    );
  });

  it('checks types against tables, bits, strings, orders, widths and writability', () => {
    const cases: Array<[Record<string, unknown>, RegExp]> = [
      [{ table: 'coil', address: 0, type: 'int16' }, /type int16 cannot be read from the coil table/],
      [{ table: 'holding', address: 0, type: 'bool' }, /needs a bit \| give bit: 0–15/],
      [{ table: 'holding', address: 0, type: 'uint16', bit: 3 }, /bit applies to type bool/],
      [{ table: 'holding', address: 0, type: 'string' }, /a string needs a length/],
      [{ table: 'holding', address: 0, type: 'int32', length: 2 }, /length applies to type string only/],
      [{ table: 'holding', address: 0, type: 'int32', order: 'GHEFCDAB' }, /64-bit byte order/],
      [
        { table: 'holding', address: 0, type: 'string', length: 2, order: 'CDAB' },
        /strings are read ABCD or BADC/,
      ],
      [
        { table: 'holding', address: 65535, type: 'float32' },
        /takes 2 registers .* start it at address 65534/,
      ],
      [{ register: 465535, type: 'uint64' }, /takes 4 registers/],
      [{ table: 'input', address: 0, type: 'int16', writable: true }, /read-only in Modbus/],
      [
        { table: 'holding', address: 0, type: 'bool', bit: 1, writable: true },
        /cannot be written on its own/,
      ],
      [
        { table: 'holding', address: 0, type: 'string', length: 2, scale: 2 },
        /scale and offset apply to numbers/,
      ],
    ];
    for (const [t, want] of cases) {
      expect(issues([{ name: 'a', ...t }]), JSON.stringify(t)).toEqual([expect.stringMatching(want)]);
    }
    expect(issues([{ name: 'a', table: 'holding', address: 0, type: 'uint64', order: 'GHEFCDAB' }])).toEqual(
      [],
    );
  });

  it('validates connection and machine poll options', () => {
    expect(
      issues([{ name: 'a', table: 'coil', address: 0, type: 'bool' }], { maxRegisters: 126 })[0],
    ).toMatch(/maxRegisters/);
    const config = modbusConfig({ type: 'modbus-rtu-over-tcp', host: 'h', port: 4001, timeoutMs: 300 }, [
      {
        id: 'M',
        modbus: { timeoutMs: 800, retries: 0 },
        tags: [{ name: 'a', table: 'coil', address: 0, type: 'bool' }],
      },
    ]);
    expect(config.machines[0]!.modbus).toEqual({ timeoutMs: 800, retries: 0 });
  });
});
