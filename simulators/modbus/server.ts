/**
 * A Modbus TCP server (modbus-serial ServerTCP) hosting several simulated machines, one unit id
 * each, like a serial-to-Ethernet gateway in front of a line of PLCs.
 *
 * - A request for a disconnected machine's unit, or for a unit nobody has, gets no reply:
 *   the client times out, as it would behind a real gateway whose serial device is gone.
 * - An address outside a kind's map is exception 02 (illegal data address); a gap inside the
 *   map, and a signal the machine's data depth hides, reads 0.
 * - Writes (FC5/6/15/16) to a coil or to whole holding entries pin the signal on the machine
 *   (SimMachine.setSignal); anything else is exception 02, a value the signal rejects 03.
 */
import type { AddressInfo, Server } from 'node:net';
import { type FCallback, type FCallbackVal, type IServiceVector, ServerTCP } from 'modbus-serial';
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

export interface ModbusSimServerOptions {
  readonly logger: Logger;
  readonly units: readonly ModbusUnit[];
  /** Default 127.0.0.1. */
  readonly host?: string;
  /** Default 0: any free port (read `port` after start). */
  readonly port?: number;
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

export class ModbusSimServer {
  private readonly logger: Logger;
  private readonly host: string;
  private readonly requestedPort: number;
  private readonly units: ReadonlyMap<number, SimMachine>;
  private server: ServerTCP | undefined;
  private listeningPort: number | undefined;
  private starting: Promise<void> | undefined;

  constructor(options: ModbusSimServerOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.requestedPort = options.port ?? 0;
    const units = new Map<number, SimMachine>();
    for (const { unitId, machine } of options.units) {
      if (!Number.isInteger(unitId) || unitId < MIN_UNIT_ID || unitId > MAX_UNIT_ID) {
        throw new Error(`Modbus unit id must be ${MIN_UNIT_ID}..${MAX_UNIT_ID}; ${machine.id} has ${unitId}`);
      }
      if (units.has(unitId)) throw new Error(`Modbus unit id ${unitId} is used twice`);
      units.set(unitId, machine);
    }
    this.units = units;
    this.logger = options.logger.child({ component: 'sim-modbus' });
  }

  /** The port listened on; throws before start. */
  get port(): number {
    if (this.listeningPort === undefined) throw new Error('Modbus simulator is not started');
    return this.listeningPort;
  }

  get address(): string {
    return this.host;
  }

  unitList(): { unitId: number; machineId: string }[] {
    return [...this.units].map(([unitId, m]) => ({ unitId, machineId: m.id }));
  }

  start(): Promise<void> {
    this.starting ??= this.listen();
    return this.starting;
  }

  private listen(): Promise<void> {
    return new Promise((resolve, reject) => {
      // ServerTCP listens on `options.port || 502`, so a numeric 0 would become 502; net.listen
      // accepts the string '0' and it is truthy.
      const port = (this.requestedPort === 0 ? '0' : this.requestedPort) as number;
      const server = new ServerTCP(this.vector(), { host: this.host, port, unitID: 255 });
      this.server = server;
      const onError = (err: Error): void => {
        this.logger.error({ err }, 'Modbus simulator could not listen');
        reject(err);
      };
      server.once('serverError', onError);
      server.on('socketError', (err: Error | null) =>
        this.logger.debug({ err }, 'Modbus client socket error'),
      );
      server.on('error', (err: Error | null) => this.logger.warn({ err }, 'Modbus simulator error'));
      server.once('initialized', () => {
        server.off('serverError', onError);
        server.on('serverError', (err: Error | null) => this.logger.error({ err }, 'Modbus simulator error'));
        // ServerTCP does not expose its net.Server; the port is only known from it.
        const net = (server as unknown as { _server: Server })._server;
        this.listeningPort = (net.address() as AddressInfo).port;
        this.logger.info(
          { host: this.host, port: this.listeningPort, units: this.units.size },
          'Modbus simulator up',
        );
        resolve();
      });
    });
  }

  async close(): Promise<void> {
    const server = this.server;
    const starting = this.starting;
    this.server = undefined;
    this.starting = undefined;
    if (server === undefined) return;
    await starting?.catch(() => undefined);
    await new Promise<void>((resolve) => server.close(() => resolve()));
    this.listeningPort = undefined;
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

  private vector(): IServiceVector {
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
