/**
 * The request planner: merges a device's tags into as few reads as possible, one range per
 * request and table, within the protocol's limits (125 registers or 2000 bits per read) and
 * the configured gap; splits a read the device refuses; decodes an answer into tag values.
 */
import type { MetricValue } from '../../../protocol/index.js';
import { decodeBit, decodeNumberAt, decodeString, type NumericType, scaled } from './decode.js';
import type { ModbusTable } from './schema.js';
import { isBitTable, type ResolvedTag } from './tags.js';

export interface PlanLimits {
  readonly maxRegisters: number;
  readonly maxBits: number;
  /** Unused addresses a read may span to join two tags (0 = only adjacent ones). */
  readonly maxGap: number;
}

export const DEFAULT_LIMITS: PlanLimits = { maxRegisters: 125, maxBits: 2000, maxGap: 0 };

/** The protocol's own limits: what one FC3/FC4 or FC1/FC2 answer can carry. */
export const PROTOCOL_LIMITS = { registers: 125, bits: 2000 } as const;

export interface PlannedTag {
  readonly tag: ResolvedTag;
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

/** One read covering `tags` (sorted by address, all of one table). */
export function requestFor(tags: readonly ResolvedTag[]): ReadRequest {
  const first = tags[0];
  if (first === undefined) throw new RangeError('a read needs at least one tag');
  const start = Math.min(...tags.map((t) => t.address));
  const end = Math.max(...tags.map((t) => t.address + t.width));
  return {
    table: first.table,
    address: start,
    count: end - start,
    tags: tags.map((tag) => ({ tag, offset: tag.address - start })),
  };
}

export function planReads(tags: readonly ResolvedTag[], limits: PlanLimits = DEFAULT_LIMITS): ReadRequest[] {
  const requests: ReadRequest[] = [];
  for (const table of TABLE_ORDER) {
    const limit = Math.min(
      isBitTable(table) ? limits.maxBits : limits.maxRegisters,
      isBitTable(table) ? PROTOCOL_LIMITS.bits : PROTOCOL_LIMITS.registers,
    );
    const sorted = tags
      .filter((t) => t.table === table)
      .sort((a, b) => a.address - b.address || a.width - b.width);
    let members: ResolvedTag[] = [];
    let start = 0;
    let end = 0; // exclusive
    for (const t of sorted) {
      const tEnd = t.address + t.width;
      // A tag wider than the limit (a long string) still gets a read of its own.
      if (members.length > 0 && t.address <= end + limits.maxGap && Math.max(end, tEnd) - start <= limit) {
        end = Math.max(end, tEnd);
        members.push(t);
      } else {
        if (members.length > 0) requests.push(requestFor(members));
        members = [t];
        start = t.address;
        end = tEnd;
      }
    }
    if (members.length > 0) requests.push(requestFor(members));
  }
  return requests;
}

/**
 * Splits a refused read in two, so that a binary search finds the tags the device refuses.
 * It cuts at the widest run of unused addresses (a hole in the device's map is the likeliest
 * cause), nearest the middle among equals. Undefined for a read of a single tag (or of tags
 * that share one address, as bits of one register do: they cannot be told apart).
 */
export function splitRequest(request: ReadRequest): [ReadRequest, ReadRequest] | undefined {
  const tags = [...request.tags.map((t) => t.tag)].sort((a, b) => a.address - b.address);
  let cut: number | undefined;
  let widest = -1;
  let bestDistance = Number.POSITIVE_INFINITY;
  let end = tags[0] === undefined ? 0 : tags[0].address + tags[0].width;
  const middle = request.address + request.count / 2;
  for (const t of tags) {
    if (t.address > tags[0]!.address && t.address !== cut) {
      const gap = t.address - end;
      const distance = Math.abs(t.address - middle);
      if (gap > widest || (gap === widest && distance < bestDistance)) {
        widest = gap;
        bestDistance = distance;
        cut = t.address;
      }
    }
    end = Math.max(end, t.address + t.width);
  }
  if (cut === undefined) return undefined;
  const at = cut;
  return [requestFor(tags.filter((t) => t.address < at)), requestFor(tags.filter((t) => t.address >= at))];
}

export interface DecodedTag {
  readonly tag: ResolvedTag;
  readonly value: MetricValue;
}

/** Decodes one read's answer (registers as numbers, or bits as booleans) into tag values. */
export function decodeRead(request: ReadRequest, data: readonly (number | boolean)[]): DecodedTag[] {
  const out: DecodedTag[] = [];
  decodeEach(request, data, (tag, value) => out.push({ tag, value }));
  return out;
}

/**
 * decodeRead without an object per tag (the poll loop's way): `each` gets every tag and its
 * value in turn. Throws (RangeError, ModbusDecodeError) on an answer too short for a tag;
 * `each` may have been called for the tags before it.
 */
export function decodeEach(
  request: ReadRequest,
  data: readonly (number | boolean)[],
  each: (tag: ResolvedTag, value: MetricValue) => void,
): void {
  const tags = request.tags;
  for (let i = 0; i < tags.length; i++) {
    const { tag, offset } = tags[i]!;
    each(tag, decodeTag(tag, data, offset));
  }
}

function decodeTag(tag: ResolvedTag, data: readonly (number | boolean)[], offset: number): MetricValue {
  if (isBitTable(tag.table)) return Boolean(data[offset]);
  if (offset + tag.width > data.length) {
    throw new RangeError(
      `${tag.name}: the answer has ${data.length} registers, the tag ends at ${offset + tag.width}`,
    );
  }
  if (tag.type === 'bool') return decodeBit(Number(data[offset]), tag.bit ?? 0);
  if (tag.type === 'string')
    return decodeString(data.slice(offset, offset + tag.width).map(Number), tag.order);
  return scaled(decodeNumberAt(data, offset, tag.type as NumericType, tag.order), tag.scale, tag.offset);
}
