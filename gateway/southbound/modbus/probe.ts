/**
 * The Modbus probe: reads one range once and shows it decoded in every type and byte order,
 * so that a user finds the right type and order for a device in one look (`wanji probe modbus`).
 */
import type { Clock } from '../../../protocol/clock.js';
import { decodeNumber, type NumericType, type NumericValue, toBigEndian } from './decode.js';
import type { ModbusTable } from './schema.js';
import { isBitTable, modiconNumber, type WordOrder } from './tags.js';
import { describeTarget, type LinkOpener, type ModbusTarget, openModbusLink } from './transport.js';

export interface ProbeRequest {
  readonly target: ModbusTarget;
  readonly unitId: number;
  readonly table: ModbusTable;
  readonly address: number;
  readonly count: number;
  readonly timeoutMs: number;
}

/** Opens a link, reads the range once, closes. Rejects with a ModbusError. */
export async function probeRead(
  req: ProbeRequest,
  clock: Clock,
  open: LinkOpener = openModbusLink,
): Promise<Array<number | boolean>> {
  const link = await open(req.target, { clock, timeoutMs: req.timeoutMs, onClose: () => {} });
  try {
    return await link.read(req.unitId, req.table, req.address, req.count, req.timeoutMs);
  } finally {
    await link.close();
  }
}

const ORDERS: readonly WordOrder[] = ['ABCD', 'BADC', 'CDAB', 'DCBA'];
const FC = { coil: 1, discrete: 2, input: 4, holding: 3 } as const;
const TABLE_NAME = {
  coil: 'coils',
  discrete: 'discrete inputs',
  input: 'input registers',
  holding: 'holding registers',
} as const;

function float(v: NumericValue, digits: number): string {
  const n = Number(v);
  return Number.isFinite(n) ? String(Number(n.toPrecision(digits))) : String(n);
}

function hex(buf: Buffer): string {
  return `0x${buf.toString('hex')}`;
}

function table(
  header: readonly string[],
  rows: readonly (readonly string[])[],
  right: ReadonlySet<number>,
): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: readonly string[]) =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].join('\n');
}

function printable(buf: Buffer): string {
  return [...buf].map((b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : '.')).join('');
}

function wide(words: readonly number[], width: 2 | 4, digits: number): string[][] {
  const types: NumericType[] = width === 2 ? ['int32', 'uint32', 'float32'] : ['int64', 'uint64', 'float64'];
  const rows: string[][] = [];
  for (let i = 0; i + width <= words.length; i++) {
    const slice = words.slice(i, i + width);
    ORDERS.forEach((order, k) => {
      const [int, uint, flt] = types.map((t) => decodeNumber(slice, t, order));
      rows.push([
        k === 0 ? String(i) : '',
        width === 4 ? `${order} (${ORDER_64[order]})` : order,
        hex(toBigEndian(slice, order)),
        String(int),
        String(uint),
        float(flt!, digits),
      ]);
    });
  }
  return rows;
}

const ORDER_64: Readonly<Record<WordOrder, string>> = {
  ABCD: 'ABCDEFGH',
  BADC: 'BADCFEHG',
  CDAB: 'GHEFCDAB',
  DCBA: 'HGFEDCBA',
};

/** The probe's report: the range in every type and byte order. */
export function formatProbe(req: ProbeRequest, data: readonly (number | boolean)[]): string {
  const last = req.address + req.count - 1;
  const title = `unit ${req.unitId}, ${TABLE_NAME[req.table]} ${req.address}–${last} (${modiconNumber(req.table, req.address)}–${modiconNumber(req.table, last)}), FC${FC[req.table]}, ${describeTarget(req.target)}`;
  const where = (i: number) => [
    String(i),
    String(req.address + i),
    modiconNumber(req.table, req.address + i),
  ];
  if (isBitTable(req.table)) {
    const rows = data.map((v, i) => [...where(i), v ? '1' : '0']);
    return `${title}\n\n${table(['offset', 'address', 'Modicon', 'value'], rows, new Set([0, 1]))}\n`;
  }
  const words = data.map(Number);
  const regs = words.map((w, i) => {
    const b = toBigEndian([w], 'ABCD');
    return [
      ...where(i),
      hex(b),
      String(b.readInt16BE(0)),
      String(w),
      w.toString(2).padStart(16, '0'),
      printable(b),
    ];
  });
  const parts = [
    title,
    '',
    '16-bit registers (bits: 15 … 0)',
    table(
      ['offset', 'address', 'Modicon', 'hex', 'int16', 'uint16', 'bits', 'chars'],
      regs,
      new Set([0, 1, 4, 5]),
    ),
  ];
  const wideTables = [
    [
      2,
      7,
      '32-bit values starting at each offset; the order names where the bytes A (most significant) … D arrive',
    ],
    [4, 15, '64-bit values starting at each offset'],
  ] as const;
  for (const [registers, digits, caption] of wideTables) {
    if (words.length < registers) continue;
    const bits = registers * 16;
    parts.push(
      '',
      caption,
      table(
        ['offset', 'order', 'hex', `int${bits}`, `uint${bits}`, `float${bits}`],
        wide(words, registers, digits),
        new Set([0, 3, 4, 5]),
      ),
    );
  }
  // As text (type string), with . for what is not printable ASCII: ABCD has the first
  // character in the high byte of each register, BADC in the low byte.
  parts.push(
    '',
    `text ABCD: "${printable(toBigEndian(words, 'ABCD'))}"`,
    `text BADC: "${printable(toBigEndian(words, 'BADC'))}"`,
  );
  return `${parts.join('\n')}\n`;
}
