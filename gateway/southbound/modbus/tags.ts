/**
 * Modbus tags as the driver reads them: the table and 0-based address (from `table` +
 * `address`, or from a Modicon `register` number), the width, and the rules the schema cannot
 * express, reported as config issues that say which key to use.
 */
import type { ConfigIssue } from '../../config/issues.js';
import { NUMERIC_WIDTH } from './decode.js';
import type { ModbusOrder, ModbusTable, ModbusTagConfig, ModbusType } from './schema.js';

/** The four byte orders; 8-letter names are their 64-bit spellings. */
export type WordOrder = 'ABCD' | 'BADC' | 'CDAB' | 'DCBA';

const ORDER_OF: Readonly<Record<ModbusOrder, WordOrder>> = {
  ABCD: 'ABCD',
  BADC: 'BADC',
  CDAB: 'CDAB',
  DCBA: 'DCBA',
  ABCDEFGH: 'ABCD',
  BADCFEHG: 'BADC',
  GHEFCDAB: 'CDAB',
  HGFEDCBA: 'DCBA',
};

export interface ResolvedTag {
  readonly name: string;
  readonly table: ModbusTable;
  /** 0-based protocol address of the first register (or bit). */
  readonly address: number;
  /** Registers (or bits) the tag spans. */
  readonly width: number;
  readonly type: ModbusType;
  readonly order: WordOrder;
  /** For a bool read from a register: the bit, 0 = least significant. */
  readonly bit: number | undefined;
  readonly scale: number;
  readonly offset: number;
  readonly writable: boolean;
  readonly writeMultiple: boolean;
}

export function isBitTable(table: ModbusTable): boolean {
  return table === 'coil' || table === 'discrete';
}

const PREFIX_TABLE: Readonly<Record<string, ModbusTable>> = {
  '0': 'coil',
  '1': 'discrete',
  '3': 'input',
  '4': 'holding',
};
const TABLE_PREFIX: Readonly<Record<ModbusTable, string>> = {
  coil: '0',
  discrete: '1',
  input: '3',
  holding: '4',
};

export type ModiconResult = { table: ModbusTable; address: number } | { error: string };

/**
 * A Modicon register number: a table digit (0 coil, 1 discrete input, 3 input register,
 * 4 holding register) and a 1-based number, in 5 digits (40001–49999) or 6 (400001–465536).
 * Numbers below 10000 are coils (00001–09999), as YAML drops leading zeros; 6-digit coils
 * need quotes ("000001").
 */
export function parseModicon(register: number | string): ModiconResult {
  let digits = typeof register === 'number' ? String(register) : register;
  if (typeof register === 'number' && register < 10_000) digits = digits.padStart(5, '0');
  if (!/^[0-9]{5,6}$/.test(digits)) {
    return { error: `register ${register} is not a Modicon number (5 digits like 40001, or 6 like 400001)` };
  }
  const table = PREFIX_TABLE[digits[0]!];
  if (table === undefined) {
    return {
      error: `register ${register}: no Modicon table starts with ${digits[0]} (0 coil, 1 discrete input, 3 input register, 4 holding register)`,
    };
  }
  const n = Number(digits.slice(1));
  const max = digits.length === 5 ? 9999 : 65536;
  if (n < 1 || n > max) {
    const p = TABLE_PREFIX[table];
    return {
      error: `register ${register} is outside the ${table} numbers ${p}0001–${p}9999 (or ${p}00001–${p}65536): Modicon numbers start at 1`,
    };
  }
  return { table, address: n - 1 };
}

/** The Modicon number of an address, e.g. holding 10 → "40011" (6 digits when needed). */
export function modiconNumber(table: ModbusTable, address: number): string {
  const n = address + 1;
  return n <= 9999
    ? `${TABLE_PREFIX[table]}${String(n).padStart(4, '0')}`
    : `${TABLE_PREFIX[table]}${String(n).padStart(5, '0')}`;
}

/** Registers (or bits) a tag spans. */
export function tagWidth(type: ModbusType, table: ModbusTable, length: number | undefined): number {
  if (type === 'bool') return 1;
  if (type === 'string') return length ?? 1;
  return isBitTable(table) ? 1 : NUMERIC_WIDTH[type];
}

/** A validated tag config as the driver reads it (config validation has run modbusTagIssues). */
export function resolveTag(tag: ModbusTagConfig): ResolvedTag {
  let table = tag.table;
  let address = tag.address;
  if (tag.register !== undefined) {
    const m = parseModicon(tag.register);
    if ('error' in m) throw new RangeError(`tag ${tag.name}: ${m.error}`);
    ({ table, address } = m);
  }
  if (table === undefined || address === undefined) {
    throw new RangeError(`tag ${tag.name}: give table + address or register`);
  }
  return {
    name: tag.name,
    table,
    address,
    width: tagWidth(tag.type, table, tag.length),
    type: tag.type,
    order: ORDER_OF[tag.order],
    bit: tag.bit,
    scale: tag.scale,
    offset: tag.offset,
    writable: tag.writable,
    writeMultiple: tag.writeMultiple,
  };
}

/** A hint for a tag whose address looks like a Modicon number put into `address`. */
export function modiconHint(tag: ResolvedTag): string {
  const prefix = TABLE_PREFIX[tag.table];
  const digits = String(tag.address);
  if (digits.length < 5 || digits[0] !== prefix) return '';
  const m = parseModicon(digits);
  return 'error' in m
    ? ''
    : `; address ${tag.address} looks like a Modicon number: if that is what it is, write register: ${digits} (= address ${m.address})`;
}

const WORD_ORDERS = new Set<unknown>(['ABCD', 'BADC', 'CDAB', 'DCBA']);
const NUMERIC_REGISTER_TYPES = 'int16, uint16, int32, uint32, int64, uint64, float32, float64 or string';

/** Problems of one Modbus tag the schema cannot see; `tag` may be malformed. */
export function modbusTagIssues(tag: Record<string, unknown>, path: string): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const add = (key: string, message: string, fix: string) =>
    issues.push({ path: `${path}/${key}`, message, fix });
  const { type, bit, length, order } = tag;
  let table = typeof tag.table === 'string' ? (tag.table as ModbusTable) : undefined;
  let address = typeof tag.address === 'number' ? tag.address : undefined;

  if (tag.register !== undefined) {
    if (tag.address !== undefined || tag.table !== undefined) {
      const both = tag.address !== undefined ? 'address' : 'table';
      add(
        both,
        `both register and ${both} are given`,
        `use either register (a Modicon number such as 40011, which sets table and address) or table + address (0-based, e.g. table: holding, address: 10), not both`,
      );
      return issues;
    }
    if (typeof tag.register === 'number' || typeof tag.register === 'string') {
      const m = parseModicon(tag.register);
      if ('error' in m) {
        add(
          'register',
          m.error,
          'write e.g. register: 40001 for the first holding register, or use table + address',
        );
        return issues;
      }
      ({ table, address } = m);
    }
  } else if (tag.address === undefined && tag.table === undefined) {
    add(
      'address',
      'missing required key "address" (or "register")',
      'give table + address (0-based protocol address, e.g. table: holding, address: 10) or register (Modicon number, e.g. 40011)',
    );
    return issues;
  } else if (tag.table === undefined) {
    add(
      'table',
      'missing required key "table": an address needs its table',
      'add table: coil, discrete, input or holding (or use register: 40001-style numbers instead)',
    );
    return issues;
  } else if (tag.address === undefined) {
    add(
      'address',
      'missing required key "address"',
      'add address: the 0-based protocol address in the table (or use register: 40001-style numbers instead)',
    );
    return issues;
  }
  if (table === undefined || typeof type !== 'string') return issues;

  const bitTable = isBitTable(table);
  if (bitTable && type !== 'bool') {
    add(
      'type',
      `type ${type} cannot be read from the ${table} table`,
      'coils and discrete inputs are bits: use type bool',
    );
  }
  if (!bitTable && type === 'bool' && bit === undefined) {
    add(
      'bit',
      `type bool on the ${table} table needs a bit`,
      `give bit: 0–15 to read one bit of the register, or use a coil/discrete table; registers hold ${NUMERIC_REGISTER_TYPES}`,
    );
  }
  if (bit !== undefined && (type !== 'bool' || bitTable)) {
    add(
      'bit',
      'bit applies to type bool on a holding or input register',
      'remove bit, or use type bool on table holding or input',
    );
  }
  if (type === 'string' && length === undefined) {
    add('length', 'a string needs a length', 'give length: its size in registers (2 characters each, 1–125)');
  }
  if (type !== 'string' && length !== undefined) {
    add('length', 'length applies to type string only', 'remove length');
  }
  if (
    typeof order === 'string' &&
    !WORD_ORDERS.has(order) &&
    type !== 'int64' &&
    type !== 'uint64' &&
    type !== 'float64'
  ) {
    add('order', `${order} is a 64-bit byte order, and this is a ${type}`, 'use ABCD, BADC, CDAB or DCBA');
  }
  if (type === 'string' && order !== undefined && order !== 'ABCD' && order !== 'BADC') {
    add(
      'order',
      `strings are read ABCD or BADC, not ${String(order)}`,
      'use ABCD (first character in the high byte) or BADC (in the low byte)',
    );
  }
  const numeric = type !== 'bool' && type !== 'string';
  if (
    !numeric &&
    ((tag.scale !== undefined && tag.scale !== 1) || (tag.offset !== undefined && tag.offset !== 0))
  ) {
    add(
      tag.scale !== 1 ? 'scale' : 'offset',
      `scale and offset apply to numbers, not to ${type}`,
      'remove them',
    );
  }
  if (tag.scale === 0)
    add('scale', 'scale 0 makes every value the offset', 'use a scale other than 0 (1 = none)');
  const width = tagWidth(type as ModbusType, table, typeof length === 'number' ? length : undefined);
  if (address !== undefined && address + width > 65536) {
    add(
      tag.register !== undefined ? 'register' : 'address',
      `a ${type} takes ${width} registers and would run past the last address 65535`,
      `start it at address ${65536 - width} or lower`,
    );
  }
  if (tag.writable === true) {
    if (table === 'discrete' || table === 'input') {
      add(
        'writable',
        `the ${table} table is read-only in Modbus`,
        'only coil and holding tags can be writable',
      );
    } else if (bit !== undefined) {
      add(
        'writable',
        'one bit of a register cannot be written on its own (the write would set the other 15 bits)',
        'remove writable, or map the bit to a coil',
      );
    }
  }
  return issues;
}
