/**
 * Modbus TCP driver (modbus-serial): one TCP connection per configured connection, shared by
 * its machines (unit ids), each polled on its own timer with an overlap guard.
 *
 * Requests on the connection go one at a time: many Modbus TCP devices and serial gateways
 * cannot take more. A slow unit therefore delays the others by at most its timeout, and after
 * a timeout it is offline and left alone until its backoff has passed, so it does not keep
 * delaying them. A broken connection takes every machine offline and is reopened with backoff.
 */
import ModbusRTU from 'modbus-serial';
import type { Logger } from 'pino';
import { backoffDelay, type Clock, type TimerHandle } from '../../clock.js';
import type { MachineConfig } from '../../config/schema.js';
import { GATEWAY_ERROR_CODES, GatewayError, toError } from '../../errors.js';
import type { Driver, DriverContext, DriverSink } from '../types.js';
import { type DecodedTag, decodeRead, planReads, type ReadRequest } from './planner.js';
import type { ModbusTagConfig, ModbusTcpConnectionConfig } from './schema.js';

type ModbusClient = InstanceType<typeof ModbusRTU.default>;
type ReadResult = { data: Array<number | boolean> };

interface Poller {
  readonly config: MachineConfig;
  readonly unitId: number;
  readonly plan: readonly ReadRequest[];
  timer: TimerHandle | undefined;
  busy: boolean;
  online: boolean;
  failures: number;
  retryAt: number;
}

const FUNCTION: Record<ReadRequest['table'], 'writeFC1' | 'writeFC2' | 'writeFC3' | 'writeFC4'> = {
  coil: 'writeFC1',
  discrete: 'writeFC2',
  holding: 'writeFC3',
  input: 'writeFC4',
};

/** Classifies what modbus-serial rejects with. */
export function modbusError(err: unknown, timeoutMs: number): GatewayError {
  const e = err as { message?: string; errno?: string; modbusCode?: number; name?: string };
  if (typeof e.modbusCode === 'number') {
    return new GatewayError(
      GATEWAY_ERROR_CODES.modbusException,
      e.message ?? `Modbus exception ${e.modbusCode}`,
      { modbusCode: e.modbusCode },
      { cause: err },
    );
  }
  if (e.errno === 'ETIMEDOUT' || e.name === 'TransactionTimedOutError') {
    return new GatewayError(
      GATEWAY_ERROR_CODES.modbusTimeout,
      `no answer within ${timeoutMs} ms`,
      {},
      { cause: err },
    );
  }
  return new GatewayError(GATEWAY_ERROR_CODES.modbusConnect, e.message ?? String(err), {}, { cause: err });
}

export class ModbusTcpDriver implements Driver {
  readonly connectionId: string;
  readonly #conn: ModbusTcpConnectionConfig;
  readonly #sink: DriverSink;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #pollers: Poller[];
  #client: ModbusClient | undefined;
  #connecting: Promise<ModbusClient | undefined> | undefined;
  #connectFailures = 0;
  #connectRetryAt = 0;
  #lastConnectError = '';
  /** Serialises requests on the shared connection. */
  #chain: Promise<unknown> = Promise.resolve();
  #started = false;
  #closed = false;
  readonly #counters = {
    polls: 0,
    reads: 0,
    timeouts: 0,
    exceptions: 0,
    errors: 0,
    connects: 0,
    overruns: 0,
  };

  constructor(ctx: DriverContext<ModbusTcpConnectionConfig>) {
    this.connectionId = ctx.connection.id;
    this.#conn = ctx.connection;
    this.#sink = ctx.sink;
    this.#clock = ctx.clock;
    this.#log = ctx.logger.child({ component: 'modbus', connection: ctx.connection.id });
    this.#pollers = ctx.machines.map((config) => ({
      config,
      unitId: config.unitId ?? 1,
      plan: planReads(config.tags as ModbusTagConfig[]),
      timer: undefined,
      busy: false,
      online: false,
      failures: 0,
      retryAt: 0,
    }));
  }

  async start(): Promise<void> {
    if (this.#started || this.#closed) return;
    this.#started = true;
    for (const p of this.#pollers) this.#schedule(p, 0);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const p of this.#pollers) this.#clock.clearTimeout(p.timer);
    const client = this.#client ?? (await this.#connecting?.catch(() => undefined));
    this.#client = undefined;
    if (client?.isOpen) await new Promise<void>((resolve) => client.close(() => resolve()));
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.#counters };
  }

  #schedule(p: Poller, delay: number): void {
    if (this.#closed) return;
    p.timer = this.#clock.setTimeout(() => this.#tick(p), delay);
  }

  #tick(p: Poller): void {
    // Fixed rate: the next poll is due one interval after this one started.
    this.#schedule(p, p.config.pollIntervalMs);
    if (p.busy) {
      this.#counters.overruns++;
      return;
    }
    if (!p.online && this.#clock.now() < p.retryAt) return;
    p.busy = true;
    this.#poll(p)
      .catch((err: unknown) => this.#log.error({ err: toError(err), machine: p.config.id }, 'poll failed'))
      .finally(() => {
        p.busy = false;
      });
  }

  async #poll(p: Poller): Promise<void> {
    this.#counters.polls++;
    const client = await this.#connected();
    if (client === undefined) {
      this.#machineDown(
        p,
        `cannot connect to ${this.#conn.host}:${this.#conn.port}: ${this.#lastConnectError}`,
        undefined,
        true,
      );
      return;
    }
    const good: DecodedTag[] = [];
    const bad: ModbusTagConfig[] = [];
    for (const request of p.plan) {
      try {
        const result = await this.#serial(() => this.#read(client, p.unitId, request));
        this.#counters.reads++;
        good.push(...decodeRead(request, result.data));
      } catch (raw) {
        if (this.#closed) return;
        const err = modbusError(raw, this.#conn.timeoutMs);
        if (err.code === GATEWAY_ERROR_CODES.modbusException) {
          // The unit answered: it is there, these registers are not readable.
          this.#counters.exceptions++;
          this.#log.debug(
            { err, machine: p.config.id, table: request.table, address: request.address },
            'read refused',
          );
          bad.push(...request.tags.map((t) => t.tag));
          continue;
        }
        const timeout = err.code === GATEWAY_ERROR_CODES.modbusTimeout;
        if (timeout) this.#counters.timeouts++;
        else this.#counters.errors++;
        this.#machineDown(p, err.message, err, !timeout);
        return;
      }
    }
    if (this.#closed) return;
    if (!p.online) {
      p.online = true;
      p.failures = 0;
      this.#sink.onMachineStatus(p.config.id, 'online', `unit ${p.unitId} answered`);
    }
    const now = this.#clock.now();
    for (const { tag, value } of good) {
      this.#sink.onSample({ machineId: p.config.id, tag: tag.name, value, quality: 'good', sourceTime: now });
    }
    for (const tag of bad) {
      this.#sink.onSample({
        machineId: p.config.id,
        tag: tag.name,
        value: null,
        quality: 'bad',
        sourceTime: now,
      });
    }
  }

  /**
   * A machine that failed on its own (timeout) waits out its backoff before the next poll; when
   * the connection failed, the connection's backoff governs and the machine is polled as soon
   * as it is back.
   */
  #machineDown(p: Poller, reason: string, err?: Error, connectionFailed = false): void {
    p.retryAt = connectionFailed
      ? 0
      : this.#clock.now() + backoffDelay(p.failures++, p.config.pollIntervalMs, this.#conn.backoffMaxMs);
    if (!p.online) return;
    p.online = false;
    this.#log.warn({ err, machine: p.config.id, unitId: p.unitId }, `machine offline: ${reason}`);
    this.#sink.onMachineStatus(p.config.id, 'offline', reason);
  }

  #read(client: ModbusClient, unitId: number, r: ReadRequest): Promise<ReadResult> {
    return new Promise((resolve, reject) => {
      const done = (err: Error | null, res: ReadResult) => (err ? reject(err) : resolve(res));
      client[FUNCTION[r.table]](unitId, r.address, r.count, done as never);
    });
  }

  #serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  /** The open connection, opening it if its backoff allows; undefined when there is none. */
  #connected(): Promise<ModbusClient | undefined> {
    if (this.#client?.isOpen) return Promise.resolve(this.#client);
    if (this.#connecting !== undefined) return this.#connecting;
    if (this.#clock.now() < this.#connectRetryAt) return Promise.resolve(undefined);
    this.#connecting = this.#open().finally(() => {
      this.#connecting = undefined;
    });
    return this.#connecting;
  }

  async #open(): Promise<ModbusClient | undefined> {
    const client = new ModbusRTU.default();
    client.setTimeout(this.#conn.timeoutMs);
    const { host, port, timeoutMs } = this.#conn;
    let timer: TimerHandle | undefined;
    try {
      await Promise.race([
        client.connectTCP(host, { port }),
        new Promise<never>((_, reject) => {
          timer = this.#clock.setTimeout(
            () => reject(new Error(`connect timed out after ${timeoutMs} ms`)),
            timeoutMs,
          );
        }),
      ]);
    } catch (err) {
      client.destroy(() => {});
      this.#lastConnectError = toError(err).message;
      const delay = backoffDelay(this.#connectFailures++, 500, this.#conn.backoffMaxMs);
      this.#connectRetryAt = this.#clock.now() + delay;
      this.#log.warn({ err: toError(err), retryInMs: delay }, 'Modbus connect failed');
      return undefined;
    } finally {
      this.#clock.clearTimeout(timer);
    }
    if (this.#closed) {
      client.close(() => {});
      return undefined;
    }
    this.#connectFailures = 0;
    this.#counters.connects++;
    this.#log.info({ host, port }, 'Modbus connected');
    client.on('error', (err: unknown) => this.#log.debug({ err: toError(err) }, 'Modbus socket error'));
    client.on('close', () => this.#onClose(client));
    this.#client = client;
    return client;
  }

  #onClose(client: ModbusClient): void {
    if (client !== this.#client || this.#closed) return;
    this.#client = undefined;
    this.#log.warn('Modbus connection closed');
    for (const p of this.#pollers) this.#machineDown(p, 'connection closed', undefined, true);
  }
}

export function createModbusTcpDriver(ctx: DriverContext<ModbusTcpConnectionConfig>): Driver {
  return new ModbusTcpDriver(ctx);
}
