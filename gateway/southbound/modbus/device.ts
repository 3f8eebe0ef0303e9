/**
 * One Modbus device (a machine: one unit id on a connection), polled on its own timer through
 * the shared bus, with an overlap guard: a poll still running when the next is due is counted
 * as an overrun and the next one skipped.
 *
 * Health: online while polls succeed; a failed poll (no answer after the retries) makes it
 * degraded, `offlineAfter` failed polls in a row offline. From the first failure on, polls of
 * a device that does not answer are spaced out (backoff doubling from the poll interval up to
 * backoffMaxMs), so a dead unit costs the bus one timeout now and then, not every poll. When
 * the connection itself is down the bus's reconnect backoff governs and the device is polled
 * as soon as it is back.
 *
 * Resends: only a unit whose last poll answered gets `retries` resends of a read, and they go
 * out at once, within the same turn on the bus (no other unit's read between them, so a poll
 * of another unit waits for one device's timeouts, never for two devices'). A unit that has
 * not answered yet, or failed its last poll, is asked once per poll: a dead unit costs its
 * neighbours one timeout per its poll.
 *
 * A read the device refuses (exception 1, 2 or 3) is split in halves until single tags are
 * left; the split is kept in the device's plan. A tag refused on its own is published as bad
 * quality with the reason, and tried again only every illegalRetryMs.
 */
import type { Logger } from 'pino';
import { backoffDelay } from '../../../protocol/backoff.js';
import type { Clock, TimerHandle } from '../../../protocol/clock.js';
import type { MetricValue } from '../../../protocol/index.js';
import type { Quality } from '../../../protocol/quality.js';
import type { DriverSink, MachineHealth, TagSample } from '../types.js';
import type { ModbusBus } from './bus.js';
import { encodeWrite } from './encode.js';
import { isDeviceFailure, isRefusal, MODBUS_ERROR_CODES, ModbusError } from './errors.js';
import { decodeEach, type PlanLimits, planReads, type ReadRequest, splitRequest } from './planner.js';
import { modiconHint, modiconNumber, type ResolvedTag } from './tags.js';
import type { WriteOp } from './transport.js';

export interface DeviceSettings {
  readonly id: string;
  readonly unitId: number;
  readonly pollIntervalMs: number;
  readonly timeoutMs: number;
  readonly retries: number;
  readonly offlineAfter: number;
  readonly backoffMaxMs: number;
  readonly illegalRetryMs: number;
  readonly limits: PlanLimits;
}

interface PlanEntry {
  readonly request: ReadRequest;
  /** Set while the device refuses this (single-tag) read. */
  refused?: { readonly reason: string; retryAt: number };
}

/**
 * A sample, made with `new`: V8 may move the objects of a literal's allocation site straight to
 * the old generation once it saw them outlive a young-generation GC (allocation-site
 * pretenuring; a gateway's busy start-up is enough), and then every sample, 100,000 a second,
 * becomes old-generation garbage that grows the heap. Objects made by a constructor never are.
 */
class Sample implements TagSample {
  constructor(
    readonly machineId: string,
    readonly tag: string,
    readonly value: MetricValue,
    readonly quality: Quality,
    readonly sourceTime: number,
    readonly reason?: string,
  ) {}
}

/** What a slot of the reused sample list holds once its sample was delivered. */
const DELIVERED: TagSample = Object.freeze(new Sample('', '', null, 'bad', 0));

type ReadOutcome =
  | { readonly ok: true; readonly data: Array<number | boolean>; readonly at: number }
  | { readonly ok: false; readonly err: ModbusError };

const COUNTERS = [
  'polls',
  'reads',
  'errors',
  'timeouts',
  'exceptions',
  'skipped',
  'overruns',
  'splits',
  'writes',
  'writeErrors',
] as const;
export type DeviceCounter = (typeof COUNTERS)[number];

export interface DeviceStats {
  readonly counters: Readonly<Record<DeviceCounter, number>>;
  readonly latencySumMs: number;
  readonly latencyMaxMs: number;
}

export interface DeviceContext {
  readonly settings: DeviceSettings;
  readonly tags: readonly ResolvedTag[];
  readonly bus: ModbusBus;
  readonly sink: DriverSink;
  readonly logger: Logger;
  readonly clock: Clock;
}

export class ModbusDevice {
  readonly id: string;
  readonly #s: DeviceSettings;
  readonly #tagList: readonly ResolvedTag[];
  /** By name, for writes; made on the first write (most machines are never written to). */
  #tags: ReadonlyMap<string, ResolvedTag> | undefined;
  readonly #plan: PlanEntry[];
  readonly #bus: ModbusBus;
  readonly #sink: DriverSink;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #counters = Object.fromEntries(COUNTERS.map((c) => [c, 0])) as Record<DeviceCounter, number>;
  #latencySumMs = 0;
  #latencyMaxMs = 0;
  #health: MachineHealth | undefined;
  #healthDetail = 'not polled yet';
  /** What the sink was last told through onMachineStatus. */
  #reportedOnline = false;
  #failures = 0;
  #retryAt = 0;
  /** The unit answered at least once since the driver started. */
  #everAnswered = false;
  #timer: TimerHandle | undefined;
  /** When #timer fires (clock ms). */
  #nextTickAt = 0;
  #busy = false;
  /**
   * The samples of the poll under way, delivered when it ends; one list reused from poll to
   * poll (polls never overlap), so that a poll allocates no array.
   */
  readonly #samples: TagSample[] = [];
  #sampleCount = 0;
  /** The poll under way (or the last one), settled either way; what close() waits for. */
  #polling: Promise<void> = Promise.resolve();
  #started = false;
  #closed = false;

  constructor(ctx: DeviceContext) {
    this.id = ctx.settings.id;
    this.#s = ctx.settings;
    this.#tagList = ctx.tags;
    this.#plan = planReads(ctx.tags, ctx.settings.limits).map((request) => ({ request }));
    this.#bus = ctx.bus;
    this.#sink = ctx.sink;
    this.#clock = ctx.clock;
    this.#log = ctx.logger.child({ machine: ctx.settings.id, unitId: ctx.settings.unitId });
  }

  start(): void {
    if (this.#started || this.#closed) return;
    this.#started = true;
    this.#schedule(0);
  }

  /**
   * Stops polling. A poll under way ends after the read on the wire and still delivers what
   * it read: a value the machine gave before the gateway stopped is kept (journalled), not
   * dropped. Resolves when that poll has ended.
   */
  close(): Promise<void> {
    this.#closed = true;
    this.#clock.clearTimeout(this.#timer);
    return this.#polling;
  }

  /** The reads each poll makes now (after any splits). */
  plan(): readonly ReadRequest[] {
    return this.#plan.map((e) => e.request);
  }

  health(): { health: MachineHealth | undefined; detail: string } {
    return { health: this.#health, detail: this.#healthDetail };
  }

  stats(): DeviceStats {
    return {
      counters: { ...this.#counters },
      latencySumMs: this.#latencySumMs,
      latencyMaxMs: this.#latencyMaxMs,
    };
  }

  /** Writes `value` to a `writable` tag, ahead of waiting reads. Rejects with a ModbusError. */
  async write(tagName: string, value: MetricValue): Promise<void> {
    this.#tags ??= new Map(this.#tagList.map((t) => [t.name, t]));
    const tag = this.#tags.get(tagName);
    if (tag === undefined) {
      throw new ModbusError(MODBUS_ERROR_CODES.unknownTag, `machine ${this.id} has no tag "${tagName}"`);
    }
    if (!tag.writable) {
      throw new ModbusError(
        MODBUS_ERROR_CODES.notWritable,
        `tag ${tagName} of ${this.id} is read-only; set writable: true on it to allow writes`,
      );
    }
    const op = writeOp(tag, value);
    try {
      await this.#bus.run((link) => link.write(this.#s.unitId, op, this.#s.timeoutMs), true);
      this.#counters.writes++;
      this.#log.info({ tag: tagName, fc: op.fc, address: op.address }, 'Modbus write');
    } catch (err) {
      this.#counters.writeErrors++;
      throw err;
    }
  }

  #schedule(delay: number): void {
    if (this.#closed) return;
    this.#nextTickAt = this.#clock.now() + delay;
    this.#timer = this.#clock.setTimeout(() => this.#tick(), delay);
  }

  #tick(): void {
    // Fixed rate: the next poll is due one interval after this one started.
    this.#schedule(this.#s.pollIntervalMs);
    if (this.#busy) {
      this.#counters.overruns++;
      return;
    }
    if (this.#clock.now() < this.#retryAt) {
      this.#counters.skipped++;
      return;
    }
    this.#busy = true;
    this.#polling = this.#poll()
      .catch((err: unknown) => this.#log.error({ err }, 'Modbus poll failed'))
      .finally(() => {
        this.#busy = false;
      });
  }

  /** Adds a sample to this poll's: good, or bad (null) with the reason. */
  #sample(tag: string, value: MetricValue, at: number, reason?: string): void {
    this.#samples[this.#sampleCount++] =
      reason === undefined
        ? new Sample(this.id, tag, value, 'good', at)
        : new Sample(this.id, tag, null, 'bad', at, reason);
  }

  /** Hands this poll's samples (all, or only the good ones) to the sink, and forgets them. */
  #deliver(onlyGood: boolean): void {
    const samples = this.#samples;
    const count = this.#sampleCount;
    this.#sampleCount = 0;
    for (let i = 0; i < count; i++) {
      const s = samples[i]!;
      samples[i] = DELIVERED;
      if (!onlyGood || s.quality === 'good') this.#sink.onSample(s);
    }
  }

  async #poll(): Promise<void> {
    this.#counters.polls++;
    this.#sampleCount = 0;
    const sample = (tag: string, value: MetricValue, at: number, reason?: string): void =>
      this.#sample(tag, value, at, reason);
    const work = [...this.#plan];
    for (let entry = work.shift(); entry !== undefined; entry = work.shift()) {
      const { request } = entry;
      const refused = entry.refused;
      if (refused !== undefined && this.#clock.now() < refused.retryAt) {
        for (const t of request.tags) sample(t.tag.name, null, this.#clock.now(), refused.reason);
        continue;
      }
      const outcome = await this.#read(request);
      if (outcome.ok) {
        if (refused !== undefined) this.#log.info({ read: describe(request) }, 'refused read answers again');
        entry.refused = undefined;
        const before = this.#sampleCount;
        try {
          decodeEach(request, outcome.data, (tag, value) => sample(tag.name, value, outcome.at));
        } catch (err) {
          // modbus-serial checks lengths, so this is a device that answers nonsense: none of
          // this read's values is taken.
          this.#samples.fill(DELIVERED, before, this.#sampleCount);
          this.#sampleCount = before;
          this.#counters.errors++;
          const reason = `${describe(request)}: ${err instanceof Error ? err.message : String(err)}`;
          for (const t of request.tags) sample(t.tag.name, null, outcome.at, reason);
        }
      }
      if (this.#closed) {
        // Stopping: what the machine answered is kept (journalled), nothing more is read, and
        // a read cut short by the stop says nothing about the machine.
        this.#deliver(true);
        return;
      }
      if (outcome.ok) continue;
      const { err } = outcome;
      if (isRefusal(err)) {
        const halves = splitRequest(request);
        if (halves !== undefined) {
          const parts: PlanEntry[] = halves.map((r) => ({ request: r }));
          this.#plan.splice(this.#plan.indexOf(entry), 1, ...parts);
          work.unshift(...parts);
          this.#counters.splits++;
          this.#log.debug(
            { read: describe(request), modbusCode: err.modbusCode },
            'read refused: splitting it',
          );
          continue;
        }
        const reason = `${err.message}${request.tags.length === 1 ? modiconHint(request.tags[0]!.tag) : ''}`;
        if (refused === undefined)
          this.#log.warn({ err, read: describe(request) }, 'device refuses this tag');
        entry.refused = { reason, retryAt: this.#clock.now() + this.#s.illegalRetryMs };
        for (const t of request.tags) sample(t.tag.name, null, this.#clock.now(), reason);
        continue;
      }
      if (err.code === MODBUS_ERROR_CODES.exception && !isDeviceFailure(err)) {
        // Busy, device failure, …: the device is there; these values are bad this time.
        for (const t of request.tags) sample(t.tag.name, null, this.#clock.now(), err.message);
        continue;
      }
      this.#failed(err);
      return;
    }
    this.#answered();
    this.#deliver(false);
  }

  /**
   * One read, sent again up to `retries` times while the device does not answer: all in one
   * turn on the bus, so no other read goes between a read and its resend. Resends only for a
   * unit whose last poll answered (see the file comment).
   */
  async #read(request: ReadRequest): Promise<ReadOutcome> {
    const { unitId, timeoutMs } = this.#s;
    const retries = this.#everAnswered && this.#failures === 0 ? this.#s.retries : 0;
    let sentAt = 0;
    try {
      const data = await this.#bus.run(async (link) => {
        for (let attempt = 0; ; attempt++) {
          sentAt = this.#clock.now();
          try {
            return await link.read(unitId, request.table, request.address, request.count, timeoutMs);
          } catch (raw) {
            const err = asModbusError(raw);
            if (!isDeviceFailure(err) || attempt >= retries || this.#closed || !link.isOpen) throw err;
            this.#countFailure(err);
          }
        }
      });
      const at = this.#clock.now();
      this.#counters.reads++;
      this.#latencySumMs += at - sentAt;
      this.#latencyMaxMs = Math.max(this.#latencyMaxMs, at - sentAt);
      return { ok: true, data, at };
    } catch (raw) {
      const err = asModbusError(raw);
      if (err.code !== MODBUS_ERROR_CODES.closed) this.#countFailure(err);
      return { ok: false, err };
    }
  }

  #countFailure(err: ModbusError): void {
    this.#counters.errors++;
    if (err.code === MODBUS_ERROR_CODES.timeout) this.#counters.timeouts++;
    if (err.code === MODBUS_ERROR_CODES.exception) this.#counters.exceptions++;
  }

  #answered(): void {
    this.#failures = 0;
    this.#retryAt = 0;
    this.#everAnswered = true;
    const detail = `unit ${this.#s.unitId} answered`;
    if (!this.#reportedOnline) {
      this.#reportedOnline = true;
      this.#sink.onMachineStatus(this.id, 'online', detail);
    }
    this.#setHealth('online', detail);
  }

  #failed(err: ModbusError): void {
    if (err.code === MODBUS_ERROR_CODES.closed) return;
    this.#failures++;
    const deviceFault = isDeviceFailure(err);
    const delay = deviceFault
      ? backoffDelay(this.#failures - 1, this.#s.pollIntervalMs, this.#s.backoffMaxMs)
      : 0;
    const now = this.#clock.now();
    this.#retryAt = deviceFault ? now + delay : 0;
    if (deviceFault) this.#backOff(now + delay);
    const offline = this.#failures >= this.#s.offlineAfter;
    const polls = this.#failures === 1 ? '1 failed poll' : `${this.#failures} failed polls in a row`;
    const detail = `${err.message} (${polls}${deviceFault ? `; next poll in ${delay} ms` : ''})`;
    if (offline && this.#reportedOnline) {
      this.#reportedOnline = false;
      this.#sink.onMachineStatus(this.id, 'offline', err.message);
    }
    this.#setHealth(offline ? 'offline' : 'degraded', detail, err);
  }

  /**
   * Moves the next poll to `at`, the end of the backoff, so that the "next poll in" of the
   * health detail is when it really happens; the polls the fixed-rate timer would have made
   * before then are counted as skipped.
   */
  #backOff(at: number): void {
    if (this.#closed) return;
    const interval = this.#s.pollIntervalMs;
    if (at > this.#nextTickAt) this.#counters.skipped += Math.ceil((at - this.#nextTickAt) / interval);
    this.#clock.clearTimeout(this.#timer);
    this.#schedule(at - this.#clock.now());
  }

  #setHealth(health: MachineHealth, detail: string, err?: ModbusError): void {
    if (health === this.#health && detail === this.#healthDetail) return;
    this.#healthDetail = detail;
    const was = this.#health;
    this.#health = health;
    if (health === was) {
      // Same health, new detail (the failed-poll count and the next poll): kept current for
      // whoever shows the reason, logged only at debug level.
      this.#log.debug(`machine still ${health}: ${detail}`);
    } else if (health === 'online') this.#log.info({ was }, `machine online: ${detail}`);
    else this.#log.warn({ err, was }, `machine ${health}: ${detail}`);
    this.#sink.onMachineHealth?.(this.id, health, detail);
  }
}

function asModbusError(raw: unknown): ModbusError {
  return raw instanceof ModbusError
    ? raw
    : new ModbusError(MODBUS_ERROR_CODES.connect, String(raw), {}, { cause: raw });
}

function describe(r: ReadRequest): string {
  return `${r.table} ${r.address}+${r.count} (${modiconNumber(r.table, r.address)})`;
}

function writeOp(tag: ResolvedTag, value: MetricValue): WriteOp {
  const encoded = encodeWrite(tag, value);
  if (encoded.kind === 'coil') {
    return tag.writeMultiple
      ? { fc: 15, address: tag.address, values: [encoded.value] }
      : { fc: 5, address: tag.address, value: encoded.value };
  }
  const [only] = encoded.words;
  return encoded.words.length === 1 && only !== undefined && !tag.writeMultiple
    ? { fc: 6, address: tag.address, value: only }
    : { fc: 16, address: tag.address, values: encoded.words };
}
