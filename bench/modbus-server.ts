/**
 * A synthetic Modbus TCP server for benchmarks and gateway tests: every unit id in `units`
 * answers every address of every table with a value that changes once a second (so each poll
 * has news to publish), units made silent never answer (their requests time out), and it
 * counts the TCP connections it accepted, so a test can tell whether a client reconnected.
 */
import type { AddressInfo, Server, Socket } from 'node:net';
import { type FCallbackVal, type IServiceVector, ServerTCP } from 'modbus-serial';

export interface SyntheticModbusOptions {
  /** Unit ids that answer (others time out). */
  readonly units: Iterable<number>;
  readonly host?: string;
  /** Default 0: any free port. */
  readonly port?: number;
  /** Values change every this many ms (default 1000); 0 keeps them constant. */
  readonly changeEveryMs?: number;
}

type Callback = (err: Error | null, values: number[]) => void;

export class SyntheticModbusServer {
  readonly #opts: SyntheticModbusOptions;
  readonly #units: Set<number>;
  readonly #silent = new Set<number>();
  readonly #sockets = new Set<Socket>();
  #server: ServerTCP | undefined;
  #port: number | undefined;
  /** TCP connections accepted since start. */
  connections = 0;
  /** Read requests answered. */
  requests = 0;

  constructor(opts: SyntheticModbusOptions) {
    this.#opts = opts;
    this.#units = new Set(opts.units);
  }

  get port(): number {
    if (this.#port === undefined) throw new Error('synthetic Modbus server is not started');
    return this.#port;
  }

  /** A silent unit never answers, like a slave whose cable was pulled. */
  setSilent(unit: number, silent: boolean): void {
    if (silent) this.#silent.add(unit);
    else this.#silent.delete(unit);
  }

  /** The value a register holds now: a function of the address, the unit and the time. */
  register(address: number, unit: number, now = Date.now()): number {
    const every = this.#opts.changeEveryMs ?? 1000;
    const tick = every === 0 ? 0 : Math.floor(now / every);
    return (tick * 7 + address * 13 + unit * 31) & 0x7fff;
  }

  async start(): Promise<void> {
    if (this.#server !== undefined) return;
    const read =
      (bits: boolean) =>
      (address: number, length: number, unit: number, cb: Callback): void => {
        if (!this.#units.has(unit) || this.#silent.has(unit)) return; // no answer at all
        this.requests++;
        const now = Date.now();
        const values = new Array<number>(length);
        for (let i = 0; i < length; i++) {
          const v = this.register(address + i, unit, now);
          values[i] = bits ? v & 1 : v;
        }
        cb(null, values);
      };
    const registers = read(false);
    const one =
      (bits: boolean) =>
      (address: number, unit: number, cb: FCallbackVal<number | boolean>): void => {
        if (!this.#units.has(unit) || this.#silent.has(unit)) return;
        this.requests++;
        const v = this.register(address, unit);
        cb(null, bits ? (v & 1) === 1 : v);
      };
    const vector: IServiceVector = {
      getMultipleHoldingRegisters: registers,
      getMultipleInputRegisters: registers,
      getHoldingRegister: one(false) as IServiceVector['getHoldingRegister'],
      getInputRegister: one(false) as IServiceVector['getInputRegister'],
      getCoil: one(true) as IServiceVector['getCoil'],
      getDiscreteInput: one(true) as IServiceVector['getDiscreteInput'],
    };
    // ServerTCP listens on `port || 502`: the string '0' asks for any free port.
    const port = (this.#opts.port ?? 0) === 0 ? '0' : this.#opts.port;
    const server = new ServerTCP(vector, {
      host: this.#opts.host ?? '127.0.0.1',
      port: port as number,
      unitID: 255,
    });
    this.#server = server;
    server.on('socketError', () => {});
    await new Promise<void>((resolve, reject) => {
      server.once('serverError', reject);
      server.once('initialized', () => {
        server.off('serverError', reject);
        resolve();
      });
    });
    // ServerTCP does not expose its net.Server; the port and the connections are only known from it.
    const net = (server as unknown as { _server: Server })._server;
    this.#port = (net.address() as AddressInfo).port;
    net.on('connection', (socket) => {
      this.connections++;
      this.#sockets.add(socket);
      socket.once('close', () => this.#sockets.delete(socket));
    });
  }

  async close(): Promise<void> {
    const server = this.#server;
    this.#server = undefined;
    if (server === undefined) return;
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}
