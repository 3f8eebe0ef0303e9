/**
 * The request planner: merges a machine's tags into as few reads as possible, one range per
 * request and table, within the protocol's limits (125 registers or 2000 bits per read).
 */
import { decodeRegisters, REGISTER_COUNT, type RegisterType, scaled } from './decode.js';
import type { ModbusTable, ModbusTagConfig } from './schema.js';

export interface PlanLimits {
  readonly maxRegisters: number;
  readonly maxBits: number;
  /** Unused addresses a read may span to join two ranges (0 = only contiguous ranges). */
  readonly maxGap: number;
}

export const DEFAULT_LIMITS: PlanLimits = { maxRegisters: 125, maxBits: 2000, maxGap: 0 };

export interface PlannedTag {
  readonly tag: ModbusTagConfig;
  /** Position of the tag's first register (or bit) within the read. */
  readonly offset: number;
}

export interface ReadRequest {
  readonly table: ModbusTable;
  readonly address: number;
  readonly count: number;
  readonly tags: readonly PlannedTag[];
}

const TABLE_ORDER: readonly ModbusTable[] = ['coil', 'discrete', 'input', 'holding'];

export function isBitTable(table: ModbusTable): boolean {
  return table === 'coil' || table === 'discrete';
}

export function planReads(
  tags: readonly ModbusTagConfig[],
  limits: PlanLimits = DEFAULT_LIMITS,
): ReadRequest[] {
  const requests: ReadRequest[] = [];
  for (const table of TABLE_ORDER) {
    const limit = isBitTable(table) ? limits.maxBits : limits.maxRegisters;
    const sorted = tags.filter((t) => t.table === table).sort((a, b) => a.address - b.address);
    let start = 0;
    let end = 0; // exclusive
    let members: ModbusTagConfig[] = [];
    const flush = () => {
      if (members.length === 0) return;
      requests.push({
        table,
        address: start,
        count: end - start,
        tags: members.map((tag) => ({ tag, offset: tag.address - start })),
      });
      members = [];
    };
    for (const t of sorted) {
      const tEnd = t.address + REGISTER_COUNT[t.type];
      if (members.length > 0 && t.address <= end + limits.maxGap && Math.max(end, tEnd) - start <= limit) {
        end = Math.max(end, tEnd);
        members.push(t);
      } else {
        flush();
        start = t.address;
        end = tEnd;
        members = [t];
      }
    }
    flush();
  }
  return requests;
}

export interface DecodedTag {
  readonly tag: ModbusTagConfig;
  readonly value: number | boolean;
}

/** Decodes one read's answer (registers as numbers, or bits as booleans) into tag values. */
export function decodeRead(request: ReadRequest, data: readonly (number | boolean)[]): DecodedTag[] {
  return request.tags.map(({ tag, offset }) => {
    if (tag.type === 'bool') return { tag, value: Boolean(data[offset]) };
    const n = REGISTER_COUNT[tag.type];
    const words = data.slice(offset, offset + n).map(Number);
    return { tag, value: scaled(decodeRegisters(words, tag.type as RegisterType, tag.order), tag.scale) };
  });
}
