/**
 * Between the host and the durable parts: buffers samples and registry news and flushes
 * them every `flushIntervalMs` (or sooner when `maxBatchSamples` pile up), one store write
 * and one registry transaction per flush. "Last seen" news is coalesced per machine and
 * per gateway, so 10,000 machines at 1 Hz cost a few thousand row updates per flush, not
 * a transaction per message.
 */
import type { Logger } from 'pino';
import type { HostSink, Timers } from '../host/types.js';
import { REAL_TIMERS } from '../host/types.js';
import type { Registry } from '../registry/registry.js';
import type { DeviceActivity, GatewayActivity, RegistryEvent } from '../registry/types.js';
import type { Sample, SampleStore } from '../store/types.js';

export interface IngestOptions {
  readonly store: SampleStore;
  readonly registry: Registry;
  readonly logger: Logger;
  readonly timers?: Timers;
  /** Default 250 ms. */
  readonly flushIntervalMs?: number;
  /** Flush early once this many samples wait; default 10 000. */
  readonly maxBatchSamples?: number;
  /** While the store is failing, keep at most this many samples (oldest dropped); default 500 000. */
  readonly maxBufferedSamples?: number;
}

export interface IngestCounters {
  flushes: number;
  samplesWritten: number;
  samplesDropped: number;
  storeErrors: number;
  registryErrors: number;
  nodeDeaths: number;
  staleNodeDeaths: number;
}

function mergeDevice(a: DeviceActivity, b: DeviceActivity): DeviceActivity {
  const sampleAt = Math.max(a.sampleAt ?? Number.NEGATIVE_INFINITY, b.sampleAt ?? Number.NEGATIVE_INFINITY);
  const newer = (b.stateAt ?? Number.NEGATIVE_INFINITY) >= (a.stateAt ?? Number.NEGATIVE_INFINITY) ? b : a;
  const stateSource = b.state === undefined ? a : a.state === undefined ? b : newer;
  return {
    enterprise: b.enterprise,
    machine: b.machine,
    gateway: b.gateway,
    seenAt: Math.max(a.seenAt, b.seenAt),
    ...(Number.isFinite(sampleAt) ? { sampleAt } : {}),
    ...(stateSource.state === undefined ? {} : { state: stateSource.state, stateAt: stateSource.stateAt }),
  };
}

export class Ingest implements HostSink {
  readonly counters: IngestCounters = {
    flushes: 0,
    samplesWritten: 0,
    samplesDropped: 0,
    storeErrors: 0,
    registryErrors: 0,
    nodeDeaths: 0,
    staleNodeDeaths: 0,
  };
  readonly #o: IngestOptions;
  readonly #log: Logger;
  readonly #timers: Timers;
  readonly #interval: number;
  readonly #maxBatch: number;
  readonly #maxBuffered: number;
  #samples: Sample[] = [];
  #events: RegistryEvent[] = [];
  #devices = new Map<string, DeviceActivity>();
  #gateways = new Map<string, GatewayActivity>();
  #timer: unknown;
  #earlyFlushQueued = false;
  #chain: Promise<void> = Promise.resolve();
  #running = false;

  constructor(opts: IngestOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'ingest' });
    this.#timers = opts.timers ?? REAL_TIMERS;
    this.#interval = opts.flushIntervalMs ?? 250;
    this.#maxBatch = opts.maxBatchSamples ?? 10_000;
    this.#maxBuffered = opts.maxBufferedSamples ?? 500_000;
  }

  async start(): Promise<void> {
    this.#running = true;
  }

  /** Flushes what is buffered; later calls to the sink are not accepted. */
  async close(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.flush();
  }

  get pendingSamples(): number {
    return this.#samples.length;
  }

  samples(samples: readonly Sample[]): void {
    if (!this.#running) return;
    for (const s of samples) this.#samples.push(s);
    if (this.#samples.length < this.#maxBatch) this.#schedule();
    else if (!this.#earlyFlushQueued) {
      this.#earlyFlushQueued = true;
      void this.flush();
    }
  }

  event(e: RegistryEvent): void {
    if (!this.#running) return;
    this.#events.push(e);
    this.#schedule();
  }

  deviceActivity(a: DeviceActivity): void {
    if (!this.#running) return;
    const key = `${a.enterprise}\u0000${a.machine}`;
    const prev = this.#devices.get(key);
    this.#devices.set(key, prev === undefined ? a : mergeDevice(prev, a));
    this.#schedule();
  }

  gatewayActivity(a: GatewayActivity): void {
    if (!this.#running) return;
    const key = `${a.group}\u0000${a.edgeNode}`;
    const prev = this.#gateways.get(key);
    if (prev === undefined || prev.seenAt < a.seenAt) this.#gateways.set(key, a);
    this.#schedule();
  }

  /** Writes everything buffered so far; resolves when it is in the store and registry. Never rejects. */
  flush(): Promise<void> {
    this.#chain = this.#chain.then(() => this.#flushOnce());
    return this.#chain;
  }

  #schedule(): void {
    if (this.#timer !== undefined) return;
    this.#timer = this.#timers.setTimeout(() => {
      this.#timer = undefined;
      void this.flush();
    }, this.#interval);
  }

  async #flushOnce(): Promise<void> {
    this.#earlyFlushQueued = false;
    const samples = this.#samples;
    const batch = {
      events: this.#events,
      devices: [...this.#devices.values()],
      gateways: [...this.#gateways.values()],
    };
    this.#samples = [];
    this.#events = [];
    this.#devices = new Map();
    this.#gateways = new Map();
    if (
      samples.length === 0 &&
      batch.events.length === 0 &&
      batch.devices.length === 0 &&
      batch.gateways.length === 0
    ) {
      return;
    }
    this.counters.flushes++;
    // Registry first: births and deaths must not wait for a slow store.
    if (batch.events.length + batch.devices.length + batch.gateways.length > 0) {
      try {
        const r = this.#o.registry.applyIngest(batch);
        this.counters.nodeDeaths += r.nodeDeaths;
        this.counters.staleNodeDeaths += r.staleNodeDeaths;
      } catch (err) {
        this.counters.registryErrors++;
        this.#log.error({ err, events: batch.events.length }, 'registry update failed; batch dropped');
      }
    }
    if (samples.length === 0) return;
    try {
      await this.#o.store.write(samples);
      this.counters.samplesWritten += samples.length;
    } catch (err) {
      this.counters.storeErrors++;
      this.#log.error(
        { err, samples: samples.length },
        'store write failed; samples kept for the next flush',
      );
      this.#requeue(samples);
    }
  }

  #requeue(samples: Sample[]): void {
    const all = samples.concat(this.#samples);
    const excess = all.length - this.#maxBuffered;
    if (excess > 0) {
      this.counters.samplesDropped += excess;
      all.splice(0, excess);
    }
    this.#samples = all;
    if (this.#running) this.#schedule();
  }
}
