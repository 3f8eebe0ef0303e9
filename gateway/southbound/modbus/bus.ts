/**
 * The bus: one link shared by every device on a connection, used by one request at a time
 * (a serial line carries one frame at a time, and many TCP devices and serial gateways cannot
 * take more). Reads and writes queue here; writes go ahead of waiting reads. A request holds
 * the bus for at most its own timeout, so a dead unit delays the others by at most that.
 *
 * The link is opened on demand and reopened after a loss, with capped exponential backoff;
 * while it is down, requests fail at once with WANJI_E_MODBUS_CONNECT instead of waiting.
 */
import type { Logger } from 'pino';
import { backoffDelay } from '../../../protocol/backoff.js';
import type { Clock } from '../../../protocol/clock.js';
import { toError } from '../../errors.js';
import { MODBUS_ERROR_CODES, ModbusError } from './errors.js';
import {
  describeTarget,
  type LinkOpener,
  type ModbusLink,
  type ModbusTarget,
  openModbusLink,
} from './transport.js';

export interface BusOptions {
  readonly target: ModbusTarget;
  /** How long opening the link may take. */
  readonly connectTimeoutMs: number;
  readonly backoffMaxMs: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Opens the link; modbus-serial by default (tests pass their own). */
  readonly open?: LinkOpener;
}

interface Job {
  readonly run: (link: ModbusLink) => Promise<unknown>;
  readonly resolve: (value: unknown) => void;
  readonly reject: (err: unknown) => void;
}

const FIRST_RECONNECT_MS = 500;

export class ModbusBus {
  readonly #target: ModbusTarget;
  readonly #opts: BusOptions;
  readonly #open: LinkOpener;
  readonly #log: Logger;
  readonly #reads: Job[] = [];
  readonly #writes: Job[] = [];
  #link: ModbusLink | undefined;
  #pumping = false;
  /** The job on the wire now, settled either way; what close() waits for. */
  #running: Promise<void> = Promise.resolve();
  #closed = false;
  #connectFailures = 0;
  #retryAt = 0;
  #lastError = '';
  readonly #counters = { connects: 0, connectFailures: 0, connectionLosses: 0 };

  constructor(options: BusOptions) {
    this.#opts = options;
    this.#target = options.target;
    this.#open = options.open ?? openModbusLink;
    this.#log = options.logger;
  }

  get where(): string {
    return describeTarget(this.#target);
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.#counters };
  }

  /** Runs `job` on the link once it is this job's turn; rejects with a ModbusError. */
  run<T>(job: (link: ModbusLink) => Promise<T>, urgent = false): Promise<T> {
    if (this.#closed) return Promise.reject(closedError());
    return new Promise<T>((resolve, reject) => {
      (urgent ? this.#writes : this.#reads).push({
        run: job,
        resolve: resolve as (v: unknown) => void,
        reject,
      });
      void this.#pump();
    });
  }

  /**
   * Refuses the waiting jobs, lets the one on the wire finish (its answer is a value the
   * machine gave, which the gateway keeps; bounded by the request's timeout), then closes the
   * link.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    for (const job of [...this.#writes.splice(0), ...this.#reads.splice(0)]) job.reject(closedError());
    await this.#running;
    const link = this.#link;
    this.#link = undefined;
    await link?.close();
  }

  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    try {
      for (;;) {
        const job = this.#writes.shift() ?? this.#reads.shift();
        if (job === undefined) return;
        if (this.#closed) {
          job.reject(closedError());
          continue;
        }
        const running = this.#connected().then((link) => job.run(link));
        this.#running = running.then(
          () => undefined,
          () => undefined,
        );
        try {
          job.resolve(await running);
        } catch (err) {
          job.reject(err);
        }
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #connected(): Promise<ModbusLink> {
    if (this.#link?.isOpen) return this.#link;
    const now = this.#opts.clock.now();
    if (now < this.#retryAt) {
      throw new ModbusError(
        MODBUS_ERROR_CODES.connect,
        `${this.#lastError} (next attempt in ${this.#retryAt - now} ms)`,
      );
    }
    const stale = this.#link;
    this.#link = undefined;
    await stale?.close();
    try {
      const link = await this.#open(this.#target, {
        clock: this.#opts.clock,
        timeoutMs: this.#opts.connectTimeoutMs,
        onClose: () => this.#onClose(link),
        onError: (err) => this.#log.debug({ err: toError(err) }, 'Modbus link error'),
      });
      if (this.#closed) {
        await link.close();
        throw closedError();
      }
      this.#link = link;
      this.#connectFailures = 0;
      this.#counters.connects++;
      this.#log.info({ target: this.where }, 'Modbus connected');
      return link;
    } catch (err) {
      if (err instanceof ModbusError && err.code === MODBUS_ERROR_CODES.closed) throw err;
      const delay = backoffDelay(this.#connectFailures++, FIRST_RECONNECT_MS, this.#opts.backoffMaxMs);
      this.#retryAt = this.#opts.clock.now() + delay;
      this.#counters.connectFailures++;
      this.#lastError = toError(err).message;
      this.#log.warn({ err: toError(err), retryInMs: delay }, 'Modbus connect failed');
      throw err instanceof ModbusError
        ? err
        : new ModbusError(MODBUS_ERROR_CODES.connect, this.#lastError, {}, { cause: err });
    }
  }

  #onClose(link: ModbusLink): void {
    if (link !== this.#link || this.#closed) return;
    this.#link = undefined;
    this.#counters.connectionLosses++;
    this.#log.warn({ target: this.where }, 'Modbus connection closed');
  }
}

function closedError(): ModbusError {
  return new ModbusError(MODBUS_ERROR_CODES.closed, 'the Modbus driver is closed');
}
