/**
 * The Modbus link: one open connection (TCP, RTU on a serial port, RTU frames over TCP) that
 * reads and writes for any unit id. The only place where the transports differ; everything
 * above it (bus, devices, probe) is the same code for all three.
 *
 * Every request has its own deadline (the device's timeout), enforced here as well as by
 * modbus-serial, so a request never holds the link longer than that.
 */
import ModbusRTU from 'modbus-serial';
import type { Clock, TimerHandle } from '../../../protocol/clock.js';
import { fromModbusSerial, MODBUS_ERROR_CODES, ModbusError } from './errors.js';
import type { ModbusConnectionConfig, ModbusTable } from './schema.js';

type ModbusClient = InstanceType<typeof ModbusRTU.default>;

export type ModbusTarget =
  | { readonly kind: 'tcp' | 'rtu-over-tcp'; readonly host: string; readonly port: number }
  | {
      readonly kind: 'rtu';
      readonly path: string;
      readonly baudRate: number;
      readonly parity: 'none' | 'even' | 'odd';
      readonly dataBits: 7 | 8;
      readonly stopBits: 1 | 2;
    };

export function targetOf(conn: ModbusConnectionConfig): ModbusTarget {
  switch (conn.type) {
    case 'modbus-tcp':
      return { kind: 'tcp', host: conn.host, port: conn.port };
    case 'modbus-rtu-over-tcp':
      return { kind: 'rtu-over-tcp', host: conn.host, port: conn.port };
    case 'modbus-rtu':
      return {
        kind: 'rtu',
        path: conn.path,
        baudRate: conn.baudRate,
        parity: conn.parity,
        dataBits: conn.dataBits,
        stopBits: conn.stopBits,
      };
  }
}

/** For people: "10.0.0.5:502", "RTU over TCP 10.0.0.9:4001", "/dev/ttyUSB0 9600 8N1". */
export function describeTarget(t: ModbusTarget): string {
  if (t.kind !== 'rtu') return t.kind === 'tcp' ? `${t.host}:${t.port}` : `RTU over TCP ${t.host}:${t.port}`;
  return `${t.path} ${t.baudRate} ${t.dataBits}${t.parity[0]!.toUpperCase()}${t.stopBits}`;
}

export type WriteOp =
  | { readonly fc: 5; readonly address: number; readonly value: boolean }
  | { readonly fc: 6; readonly address: number; readonly value: number }
  | { readonly fc: 15; readonly address: number; readonly values: boolean[] }
  | { readonly fc: 16; readonly address: number; readonly values: number[] };

export interface ModbusLink {
  readonly isOpen: boolean;
  /** Registers (FC3/FC4) as numbers or bits (FC1/FC2) as booleans; exactly `count` of them. */
  read(
    unitId: number,
    table: ModbusTable,
    address: number,
    count: number,
    timeoutMs: number,
  ): Promise<Array<number | boolean>>;
  write(unitId: number, op: WriteOp, timeoutMs: number): Promise<void>;
  /** Idempotent. */
  close(): Promise<void>;
}

export interface LinkOptions {
  readonly clock: Clock;
  /** How long opening may take. */
  readonly timeoutMs: number;
  /** Called once when the link closes without close() (peer gone, cable pulled). */
  readonly onClose: () => void;
  readonly onError?: (err: unknown) => void;
}

export type LinkOpener = (target: ModbusTarget, options: LinkOptions) => Promise<ModbusLink>;

const READ_FC = { coil: 'writeFC1', discrete: 'writeFC2', holding: 'writeFC3', input: 'writeFC4' } as const;
const FC_NAME = { coil: 'FC1', discrete: 'FC2', holding: 'FC3', input: 'FC4' } as const;

/** Silence an RTU master keeps between frames: 3.5 characters, 1.75 ms above 19200 baud. */
export function rtuFrameGapMs(baudRate: number): number {
  return baudRate > 19_200 ? 1.75 : (3.5 * 11 * 1000) / baudRate;
}

/**
 * Runs `start` against a deadline; the deadline's rejection is a Modbus timeout. `context`
 * names the request in errors; it is made only for an error (a read runs 1,000 times a second
 * on a big gateway).
 */
function withDeadline<T>(
  clock: Clock,
  timeoutMs: number,
  context: () => string,
  start: (settle: (err: unknown, value?: T) => void) => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let timer: TimerHandle | undefined;
    const settle = (err: unknown, value?: T): void => {
      if (done) return;
      done = true;
      clock.clearTimeout(timer);
      if (err) reject(fromModbusSerial(err, context(), timeoutMs));
      else resolve(value as T);
    };
    timer = clock.setTimeout(
      () =>
        settle(new ModbusError(MODBUS_ERROR_CODES.timeout, `${context()}: no answer within ${timeoutMs} ms`)),
      timeoutMs,
    );
    try {
      start(settle);
    } catch (err) {
      settle(err);
    }
  });
}

class SerialLibLink implements ModbusLink {
  readonly #client: ModbusClient;
  readonly #clock: Clock;
  readonly #gapMs: number;
  #lastAnswerAt = 0;
  #closed = false;

  constructor(client: ModbusClient, target: ModbusTarget, clock: Clock) {
    this.#client = client;
    this.#clock = clock;
    this.#gapMs = target.kind === 'rtu' ? rtuFrameGapMs(target.baudRate) : 0;
  }

  get isOpen(): boolean {
    return !this.#closed && this.#client.isOpen;
  }

  async read(unitId: number, table: ModbusTable, address: number, count: number, timeoutMs: number) {
    if (this.#gapMs !== 0) await this.#frameGap();
    const context = () => `unit ${unitId} ${FC_NAME[table]} ${table} ${address}+${count}`;
    const result = await withDeadline<{ data: Array<number | boolean> }>(
      this.#clock,
      timeoutMs,
      context,
      (settle) => {
        this.#client.setTimeout(timeoutMs);
        this.#client[READ_FC[table]](unitId, address, count, (err, res) => settle(err, res));
      },
    );
    this.#lastAnswerAt = this.#clock.now();
    // FC1/FC2 answers are whole bytes: drop the padding bits (a register answer is exact).
    return result.data.length === count ? result.data : result.data.slice(0, count);
  }

  async write(unitId: number, op: WriteOp, timeoutMs: number): Promise<void> {
    await this.#frameGap();
    const context = () => `unit ${unitId} FC${op.fc} write ${op.address}`;
    await withDeadline<unknown>(this.#clock, timeoutMs, context, (settle) => {
      this.#client.setTimeout(timeoutMs);
      const cb = (err: unknown, res: unknown) => settle(err, res);
      if (op.fc === 5) this.#client.writeFC5(unitId, op.address, op.value, cb);
      else if (op.fc === 6) this.#client.writeFC6(unitId, op.address, op.value, cb);
      else if (op.fc === 15) this.#client.writeFC15(unitId, op.address, op.values, cb);
      else this.#client.writeFC16(unitId, op.address, op.values, cb);
    });
    this.#lastAnswerAt = this.#clock.now();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const client = this.#client;
    if (!client.isOpen) {
      client.destroy(() => {});
      return;
    }
    await new Promise<void>((resolve) => {
      // modbus-serial does not always call back (e.g. a serial port already gone): don't wait long.
      const timer = this.#clock.setTimeout(resolve, 1000);
      client.close(() => {
        this.#clock.clearTimeout(timer);
        resolve();
      });
    });
  }

  /** RTU: the slaves need a silent line between a reply and the next request. */
  async #frameGap(): Promise<void> {
    if (this.#gapMs === 0) return;
    const wait = this.#lastAnswerAt + this.#gapMs - this.#clock.now();
    if (wait > 0) await new Promise<void>((resolve) => this.#clock.setTimeout(resolve, Math.ceil(wait)));
  }
}

function connect(client: ModbusClient, t: ModbusTarget): Promise<void> {
  switch (t.kind) {
    case 'tcp':
      return client.connectTCP(t.host, { port: t.port });
    case 'rtu-over-tcp':
      // modbus-serial's "telnet" port is plain RTU framing over a TCP socket.
      return client.connectTelnet(t.host, { port: t.port });
    case 'rtu':
      return client.connectRTUBuffered(t.path, {
        baudRate: t.baudRate,
        parity: t.parity,
        dataBits: t.dataBits,
        stopBits: t.stopBits,
      });
  }
}

/** Opens a link with modbus-serial; rejects with WANJI_E_MODBUS_CONNECT. */
export const openModbusLink: LinkOpener = async (target, options) => {
  const client = new ModbusRTU.default();
  const where = describeTarget(target);
  let timer: TimerHandle | undefined;
  try {
    await Promise.race([
      connect(client, target),
      new Promise<never>((_, reject) => {
        timer = options.clock.setTimeout(
          () => reject(new Error(`no connection within ${options.timeoutMs} ms`)),
          options.timeoutMs,
        );
      }),
    ]);
  } catch (err) {
    client.destroy(() => {});
    const message = err instanceof Error ? err.message : String(err);
    throw new ModbusError(
      MODBUS_ERROR_CODES.connect,
      `cannot connect to ${where}: ${message}`,
      {},
      { cause: err },
    );
  } finally {
    options.clock.clearTimeout(timer);
  }
  const link = new SerialLibLink(client, target, options.clock);
  client.on('error', (err: unknown) => options.onError?.(err));
  client.on('close', () => options.onClose());
  return link;
};
