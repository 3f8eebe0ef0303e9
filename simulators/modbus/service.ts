/**
 * What a simulated Modbus server answers: the modbus-serial service vector over several
 * simulated machines, one unit id each. Shared by the TCP server (server.ts) and the RTU
 * serial server (serial-server.ts), so both transports answer exactly alike.
 *
 * - A request for a disconnected machine's unit, or for a unit nobody has, gets no reply:
 *   the client times out, as it would behind a real gateway whose serial device is gone.
 * - An address outside a kind's map is exception 02 (illegal data address); a gap inside the
 *   map, and a signal the machine's data depth hides, reads 0.
 * - Writes (FC5/6/15/16) to a coil or to whole holding entries pin the signal on the machine
 *   (SimMachine.setSignal); anything else is exception 02, a value the signal rejects 03.
 */
import type { FCallback, FCallbackVal, IServiceVector } from 'modbus-serial';
import type { Logger } from 'pino';
import type { SimMachine } from '../machine.js';
import { decodeRegisters, encodeRegisters, registerWidth } from './codec.js';
import {
  MAX_UNIT_ID,
  MIN_UNIT_ID,
  type RegisterLayout,
  type RegisterTable,
  registerLayout,
} from './register-map.js';

export interface ModbusUnit {
  readonly unitId: number;
  readonly machine: SimMachine;
}

/** modbus-serial answers an error carrying modbusErrorCode with that exception code. */
class ModbusException extends Error {
  constructor(
    readonly modbusErrorCode: number,
    message: string,
  ) {
    super(message);
  }
}

const ILLEGAL_DATA_ADDRESS = new ModbusException(0x02, 'illegal data address');
const ILLEGAL_DATA_VALUE = new ModbusException(0x03, 'illegal data value');

/** Checks the unit ids (1..247, each once) and indexes the machines by them. */
export function unitMap(units: readonly ModbusUnit[]): ReadonlyMap<number, SimMachine> {
  const map = new Map<number, SimMachine>();
  for (const { unitId, machine } of units) {
    if (!Number.isInteger(unitId) || unitId < MIN_UNIT_ID || unitId > MAX_UNIT_ID) {
      throw new Error(`Modbus unit id must be ${MIN_UNIT_ID}..${MAX_UNIT_ID}; ${machine.id} has ${unitId}`);
    }
    if (map.has(unitId)) throw new Error(`Modbus unit id ${unitId} is used twice`);
    map.set(unitId, machine);
  }
  return map;
}

/**
 * What the TCP and the RTU simulators share: their units, and a server started once (start()
 * again waits for the same start) and closed once.
 */
export abstract class ModbusSimEndpoint<S extends { close(cb: () => void): void }> {
  protected readonly units: ReadonlyMap<number, SimMachine>;
  protected server: S | undefined;
  private starting: Promise<void> | undefined;

  constructor(
    units: readonly ModbusUnit[],
    protected readonly logger: Logger,
  ) {
    this.units = unitMap(units);
  }

  unitList(): { unitId: number; machineId: string }[] {
    return [...this.units].map(([unitId, m]) => ({ unitId, machineId: m.id }));
  }

  start(): Promise<void> {
    this.starting ??= this.open();
    return this.starting;
  }

  /** Opens the server and sets `server`; resolves once it answers. */
  protected abstract open(): Promise<void>;

  async close(): Promise<void> {
    const server = this.server;
    const starting = this.starting;
    this.server = undefined;
    this.starting = undefined;
    if (server === undefined) return;
    await starting?.catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

export class ModbusSimService {
  private readonly units: ReadonlyMap<number, SimMachine>;
  private readonly logger: Logger;

  constructor(units: ReadonlyMap<number, SimMachine>, logger: Logger) {
    this.units = units;
    this.logger = logger;
  }

  /** The machine answering for a unit, or undefined when the request must go unanswered. */
  private answering(unitId: number): SimMachine | undefined {
    const m = this.units.get(unitId);
    return m?.connected ? m : undefined;
  }

  private readWords(
    m: SimMachine,
    table: RegisterTable,
    address: number,
    length: number,
  ): number[] | undefined {
    const layout = registerLayout(m.kind);
    if (length < 1 || address + length > layout.size[table]) return undefined;
    const words: number[] = [];
    let cached: { signal: string; words: number[] } | undefined;
    for (let a = address; a < address + length; a++) {
      const slot = layout.slot(table, a);
      const type = slot?.entry.type;
      if (slot === undefined || type === undefined || type === 'bool') {
        words.push(0);
        continue;
      }
      const { entry } = slot;
      if (cached?.signal !== entry.signal) {
        const v = m.value(entry.signal);
        const n = typeof v === 'number' ? v : typeof v === 'boolean' ? Number(v) : 0;
        cached = { signal: entry.signal, words: encodeRegisters(n, type, entry.order, entry.scale) };
      }
      words.push(cached.words[slot.word] ?? 0);
    }
    return words;
  }

  private readBit(m: SimMachine, table: RegisterTable, address: number): boolean | undefined {
    const layout = registerLayout(m.kind);
    if (address >= layout.size[table]) return undefined;
    const slot = layout.slot(table, address);
    return slot === undefined ? false : m.value(slot.entry.signal) === true;
  }

  /** Pins the signals a holding-register write covers; false if it does not cover whole entries. */
  private writeWords(
    m: SimMachine,
    layout: RegisterLayout,
    address: number,
    values: readonly number[],
  ): boolean {
    const writes: [string, number][] = [];
    let a = address;
    while (a < address + values.length) {
      const slot = layout.slot('holding', a);
      const type = slot?.entry.type;
      if (slot === undefined || type === undefined || type === 'bool' || slot.word !== 0) return false;
      const { entry } = slot;
      const width = registerWidth(type);
      const words = values.slice(a - address, a - address + width);
      if (words.length < width) return false;
      writes.push([entry.signal, decodeRegisters(words, type, entry.order, entry.scale)]);
      a += width;
    }
    for (const [signal, value] of writes) m.setSignal(signal, value);
    return true;
  }

  vector(): IServiceVector {
    // modbus-serial picks the callback form by each function's arity: keep the parameter lists.
    const bit =
      (table: RegisterTable) =>
      (addr: number, unitID: number, cb: FCallbackVal<boolean>): void => {
        const m = this.answering(unitID);
        if (m === undefined) return;
        const v = this.readBit(m, table, addr);
        if (v === undefined) cb(ILLEGAL_DATA_ADDRESS, false);
        else cb(null, v);
      };
    const words =
      (table: RegisterTable) =>
      (addr: number, length: number, unitID: number, cb: FCallbackVal<number[]>): void => {
        const m = this.answering(unitID);
        if (m === undefined) return;
        const v = this.readWords(m, table, addr, length);
        if (v === undefined) cb(ILLEGAL_DATA_ADDRESS, []);
        else cb(null, v);
      };
    const word =
      (table: RegisterTable) =>
      (addr: number, unitID: number, cb: FCallbackVal<number>): void => {
        words(table)(addr, 1, unitID, (err, v) => cb(err, v[0] ?? 0));
      };
    const write = (unitID: number, cb: FCallback, apply: (m: SimMachine) => boolean): void => {
      const m = this.answering(unitID);
      if (m === undefined) return;
      try {
        if (apply(m)) cb(null);
        else cb(ILLEGAL_DATA_ADDRESS);
      } catch (err) {
        this.logger.debug({ err, unitID }, 'Modbus write rejected');
        cb(ILLEGAL_DATA_VALUE);
      }
    };
    return {
      getCoil: bit('coil'),
      getDiscreteInput: bit('discrete'),
      getHoldingRegister: word('holding'),
      getInputRegister: word('input'),
      getMultipleHoldingRegisters: words('holding'),
      getMultipleInputRegisters: words('input'),
      setCoil: (addr: number, value: boolean, unitID: number, cb: FCallback): void =>
        write(unitID, cb, (m) => {
          const slot = registerLayout(m.kind).slot('coil', addr);
          if (slot === undefined) return false;
          m.setSignal(slot.entry.signal, value);
          return true;
        }),
      setRegister: (addr: number, value: number, unitID: number, cb: FCallback): void =>
        write(unitID, cb, (m) => this.writeWords(m, registerLayout(m.kind), addr, [value])),
      setRegisterArray: (addr: number, values: number[], unitID: number, cb: FCallback): void =>
        write(unitID, cb, (m) => this.writeWords(m, registerLayout(m.kind), addr, values)),
    };
  }
}
