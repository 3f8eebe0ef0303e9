/**
 * The Modbus driver, one per connection (TCP, RTU on a serial port, RTU over TCP): a bus that
 * carries one request at a time (bus.ts), and one poller per machine (device.ts), each with its
 * unit id, poll interval, timeout, retries and request plan. Only transport.ts knows which of
 * the three transports is in use.
 */
import type { Logger } from 'pino';
import type { MetricValue } from '../../../protocol/index.js';
import type { MachineConfig } from '../../config/schema.js';
import type { Driver, DriverContext, MachineHealth } from '../types.js';
import { ModbusBus } from './bus.js';
import { type DeviceCounter, type DeviceSettings, ModbusDevice } from './device.js';
import { MODBUS_ERROR_CODES, ModbusError } from './errors.js';
import type { ReadRequest } from './planner.js';
import type { ModbusConnectionConfig, ModbusTagConfig } from './schema.js';
import { resolveTag } from './tags.js';
import { type LinkOpener, targetOf } from './transport.js';

export interface ModbusDriverOptions {
  /** Opens links; modbus-serial by default. */
  readonly open?: LinkOpener;
}

/** A device's settings: the machine's `modbus:` options over its connection's. */
export function deviceSettings(conn: ModbusConnectionConfig, m: MachineConfig): DeviceSettings {
  const own = m.modbus ?? {};
  return {
    id: m.id,
    unitId: m.unitId ?? 1,
    pollIntervalMs: m.pollIntervalMs,
    timeoutMs: own.timeoutMs ?? conn.timeoutMs,
    retries: own.retries ?? conn.retries,
    offlineAfter: own.offlineAfter ?? conn.offlineAfter,
    backoffMaxMs: conn.backoffMaxMs,
    illegalRetryMs: conn.illegalRetryMs,
    limits: {
      maxGap: own.maxGap ?? conn.maxGap,
      maxRegisters: own.maxRegisters ?? conn.maxRegisters,
      maxBits: own.maxBits ?? conn.maxBits,
    },
  };
}

export class ModbusDriver implements Driver {
  readonly connectionId: string;
  readonly #bus: ModbusBus;
  readonly #devices: ReadonlyMap<string, ModbusDevice>;
  readonly #log: Logger;
  #started = false;
  #closed = false;

  constructor(ctx: DriverContext<ModbusConnectionConfig>, options: ModbusDriverOptions = {}) {
    const conn = ctx.connection;
    this.connectionId = conn.id;
    this.#log = ctx.logger.child({ component: 'modbus', connection: conn.id });
    this.#bus = new ModbusBus({
      target: targetOf(conn),
      connectTimeoutMs: conn.timeoutMs,
      backoffMaxMs: conn.backoffMaxMs,
      clock: ctx.clock,
      logger: this.#log,
      ...(options.open ? { open: options.open } : {}),
    });
    this.#devices = new Map(
      ctx.machines.map((m) => [
        m.id,
        new ModbusDevice({
          settings: deviceSettings(conn, m),
          tags: (m.tags as ModbusTagConfig[]).map(resolveTag),
          bus: this.#bus,
          sink: ctx.sink,
          logger: this.#log,
          clock: ctx.clock,
        }),
      ]),
    );
    if (conn.type !== 'modbus-tcp') {
      for (const m of ctx.machines) {
        const unit = m.unitId ?? 1;
        if (unit < 1 || unit > 247) {
          this.#log.warn(
            { machine: m.id, unitId: unit },
            'RTU unit ids are 1–247: 0 is broadcast, nothing answers it',
          );
        }
      }
    }
  }

  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#log.info({ target: this.#bus.where, machines: this.#devices.size }, 'Modbus driver started');
    for (const d of this.#devices.values()) d.start();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    // Devices stop first (no new polls); the bus then finishes the read on the wire, whose
    // poll delivers it before the device's close resolves.
    const polls = [...this.#devices.values()].map((d) => d.close());
    await this.#bus.close();
    await Promise.all(polls);
  }

  /**
   * Connection totals, then per machine `<machineId>.<counter>`: polls, reads, errors (every
   * failed request), timeouts, exceptions, skipped (polls left out during backoff), overruns,
   * splits, writes, writeErrors, latencyAvgMs and latencyMaxMs (of answered reads); plus
   * connects, connectFailures and connectionLosses of the connection.
   */
  counters(): Readonly<Record<string, number>> {
    const out: Record<string, number> = { ...this.#bus.counters() };
    let sum = 0;
    let max = 0;
    let reads = 0;
    for (const d of this.#devices.values()) {
      const s = d.stats();
      for (const [k, v] of Object.entries(s.counters) as Array<[DeviceCounter, number]>) {
        out[k] = (out[k] ?? 0) + v;
        out[`${d.id}.${k}`] = v;
      }
      out[`${d.id}.latencyAvgMs`] = s.counters.reads > 0 ? s.latencySumMs / s.counters.reads : 0;
      out[`${d.id}.latencyMaxMs`] = s.latencyMaxMs;
      sum += s.latencySumMs;
      reads += s.counters.reads;
      max = Math.max(max, s.latencyMaxMs);
    }
    out.latencyAvgMs = reads > 0 ? sum / reads : 0;
    out.latencyMaxMs = max;
    return out;
  }

  /** Each machine's health and why; undefined before its first poll. */
  health(): Record<string, { health: MachineHealth | undefined; detail: string }> {
    return Object.fromEntries([...this.#devices].map(([id, d]) => [id, d.health()]));
  }

  /** The reads a machine's poll makes now, after any splits of refused reads. */
  plan(machineId: string): readonly ReadRequest[] {
    return this.#device(machineId).plan();
  }

  /**
   * Writes `value` to the tag `tag` of machine `machineId` (a tag with `writable: true`),
   * serialised with polling on the connection, ahead of waiting reads. FC5 (coil), FC6 (one
   * register) or FC16 (more), FC15/FC16 with `writeMultiple`. Resolves once the device
   * confirmed; rejects with a ModbusError (WANJI_E_MODBUS_UNKNOWN_TAG, _NOT_WRITABLE,
   * _BAD_VALUE, _TIMEOUT, _EXCEPTION with modbusCode, _CONNECT, _CLOSED). Never retried.
   */
  write(machineId: string, tag: string, value: MetricValue): Promise<void> {
    if (this.#closed) {
      return Promise.reject(new ModbusError(MODBUS_ERROR_CODES.closed, 'the Modbus driver is closed'));
    }
    try {
      return this.#device(machineId).write(tag, value);
    } catch (err) {
      return Promise.reject(err);
    }
  }

  #device(machineId: string): ModbusDevice {
    const d = this.#devices.get(machineId);
    if (d === undefined) {
      throw new ModbusError(
        MODBUS_ERROR_CODES.unknownTag,
        `no machine "${machineId}" on Modbus connection ${this.connectionId}`,
      );
    }
    return d;
  }
}

export function createModbusDriver(ctx: DriverContext<ModbusConnectionConfig>): Driver {
  return new ModbusDriver(ctx);
}
