/**
 * The Modbus register map of each simulated machine kind, as data: the gateway's tests and the
 * demo build their Modbus configs from it. docs/modbus-register-map.md shows the same tables.
 *
 * Common to every kind: coils 0/1/2 = stack light red/yellow/green, holding 0 = state code
 * (see state-code.ts). Counters and codes are holding registers, process values input registers.
 * Each kind mixes int16, uint32 and float32 in both word orders. String signals (mode, mouldId,
 * alarmText, ...) are OPC UA only.
 */
import type { SimKind } from '../profiles/index.js';
import { STATE_SIGNAL } from '../state-code.js';
import { type RegisterEntry, type RegisterTable, registerWidth } from './codec.js';

export type { RegisterEntry, RegisterTable, RegisterType, WordOrder } from './codec.js';

/** Unit ids a Modbus server can give its machines (0 is broadcast, 248..255 reserved). */
export const MIN_UNIT_ID = 1;
export const MAX_UNIT_ID = 247;

const COMMON: readonly RegisterEntry[] = [
  { signal: 'lampRed', table: 'coil', address: 0, type: 'bool' },
  { signal: 'lampYellow', table: 'coil', address: 1, type: 'bool' },
  { signal: 'lampGreen', table: 'coil', address: 2, type: 'bool' },
  { signal: STATE_SIGNAL, table: 'holding', address: 0, type: 'int16' },
];

export const REGISTER_MAPS: Readonly<Record<SimKind, readonly RegisterEntry[]>> = {
  cnc: [
    ...COMMON,
    { signal: 'runState', table: 'holding', address: 1, type: 'int16' },
    { signal: 'feedOverride', table: 'holding', address: 2, type: 'uint16' },
    { signal: 'programNumber', table: 'holding', address: 3, type: 'uint16' },
    { signal: 'partCount', table: 'holding', address: 4, type: 'uint32', order: 'ABCD' },
    { signal: 'powerOnTime', table: 'holding', address: 6, type: 'uint32', order: 'CDAB' },
    { signal: 'cuttingTime', table: 'holding', address: 8, type: 'uint32', order: 'CDAB' },
    { signal: 'alarmNumber', table: 'holding', address: 10, type: 'int32', order: 'CDAB' },
    { signal: 'spindleSpeed', table: 'input', address: 0, type: 'float32', order: 'ABCD' },
    { signal: 'spindleLoad', table: 'input', address: 2, type: 'float32', order: 'CDAB' },
    { signal: 'feedRate', table: 'input', address: 4, type: 'float32', order: 'ABCD' },
  ],
  injection: [
    ...COMMON,
    { signal: 'machineStatus', table: 'holding', address: 1, type: 'int16' },
    { signal: 'shotCount', table: 'holding', address: 2, type: 'uint32', order: 'CDAB' },
    { signal: 'alarmNumber', table: 'holding', address: 4, type: 'int16' },
    { signal: 'barrelTemp1', table: 'input', address: 0, type: 'int16', scale: 0.1 },
    { signal: 'barrelTemp2', table: 'input', address: 1, type: 'int16', scale: 0.1 },
    { signal: 'barrelTemp3', table: 'input', address: 2, type: 'int16', scale: 0.1 },
    { signal: 'cycleTime', table: 'input', address: 3, type: 'float32', order: 'CDAB' },
    { signal: 'injectionPressure', table: 'input', address: 5, type: 'float32', order: 'ABCD' },
  ],
  press: [
    ...COMMON,
    { signal: 'strokes', table: 'holding', address: 1, type: 'uint32', order: 'ABCD' },
    { signal: 'alarmNumber', table: 'holding', address: 3, type: 'int16' },
    { signal: 'strokeRate', table: 'input', address: 0, type: 'float32', order: 'CDAB' },
    { signal: 'tonnage', table: 'input', address: 2, type: 'float32', order: 'ABCD' },
  ],
  loom: [
    ...COMMON,
    { signal: 'stopCause', table: 'holding', address: 1, type: 'int16' },
    { signal: 'picks', table: 'holding', address: 2, type: 'uint32', order: 'CDAB' },
    { signal: 'alarmNumber', table: 'holding', address: 4, type: 'int16' },
    { signal: 'rpm', table: 'input', address: 0, type: 'uint16' },
    { signal: 'efficiency', table: 'input', address: 1, type: 'float32', order: 'ABCD' },
    { signal: 'beamRemaining', table: 'input', address: 3, type: 'float32', order: 'CDAB' },
  ],
  robot: [
    ...COMMON,
    { signal: 'cycleCount', table: 'holding', address: 1, type: 'uint32', order: 'ABCD' },
    { signal: 'alarmNumber', table: 'holding', address: 3, type: 'int16' },
    { signal: 'weldCurrent', table: 'input', address: 0, type: 'float32', order: 'CDAB' },
    { signal: 'weldVoltage', table: 'input', address: 2, type: 'float32', order: 'ABCD' },
  ],
};

/** Where an address falls: the entry covering it and which of its registers it is. */
export interface RegisterSlot {
  readonly entry: RegisterEntry;
  readonly word: number;
}

/** A kind's map indexed by table and address; addresses ≥ size are outside the map. */
export interface RegisterLayout {
  readonly size: Readonly<Record<RegisterTable, number>>;
  slot(table: RegisterTable, address: number): RegisterSlot | undefined;
}

const layouts = new Map<SimKind, RegisterLayout>();

export function registerLayout(kind: SimKind): RegisterLayout {
  let layout = layouts.get(kind);
  if (layout === undefined) {
    layout = buildLayout(REGISTER_MAPS[kind]);
    layouts.set(kind, layout);
  }
  return layout;
}

/** Builds the address index, rejecting overlapping entries. */
export function buildLayout(entries: readonly RegisterEntry[]): RegisterLayout {
  const tables: Record<RegisterTable, (RegisterSlot | undefined)[]> = {
    coil: [],
    discrete: [],
    input: [],
    holding: [],
  };
  for (const entry of entries) {
    const width = entry.type === 'bool' ? 1 : registerWidth(entry.type);
    const bitTable = entry.table === 'coil' || entry.table === 'discrete';
    if (bitTable !== (entry.type === 'bool')) {
      throw new Error(`${entry.signal}: type ${entry.type} does not fit the ${entry.table} table`);
    }
    for (let word = 0; word < width; word++) {
      const at = entry.address + word;
      const taken = tables[entry.table][at];
      if (taken !== undefined) {
        throw new Error(`${entry.signal} overlaps ${taken.entry.signal} at ${entry.table} ${at}`);
      }
      tables[entry.table][at] = { entry, word };
    }
  }
  return {
    size: {
      coil: tables.coil.length,
      discrete: tables.discrete.length,
      input: tables.input.length,
      holding: tables.holding.length,
    },
    slot: (table, address) => tables[table][address],
  };
}
