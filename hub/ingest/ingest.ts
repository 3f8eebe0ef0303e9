/**
 * Between the host and the durable parts. Registry news is applied every `flushIntervalMs`
 * in one transaction, a bad row refused alone (registry-news.ts); a machine's row that only
 * moves its last-seen times waits up to `lastSeenIntervalMs` (registry-batch.ts). Samples wait
 * in a bounded buffer and go to the store in batches of whole messages, one write at a time,
 * oldest first; a batch leaves the buffer only when the store has it. When the store fails,
 * the batch is retried with exponential backoff; when it hangs, the write is waited for (and
 * reported) rather than piled on. When the buffer is full, new messages are refused and
 * counted, never accepted ones dropped: the gateways' journals hold what the hub cannot, so the
 * hub never grows without bound.
 *
 * Samples the store refuses for good in PERSISTENT_FLUSHES writes within HEALTH_WINDOW_MS
 * make the store `degraded` on /healthz (recent-errors.ts).
 *
 * After each batch the store has for good, `onFlushed` listeners learn which gateway
 * messages that covered, and `onRefused` listeners which were refused (sources.ts): the
 * acknowledgement to the journals hangs off that (hub/host/acks.ts).
 */
import type { Logger } from 'pino';
import { type Clock, REAL_CLOCK } from '../../protocol/clock.js';
import type { ComponentHealth } from '../errors.js';
import { Histogram } from '../metrics/exposition.js';
import type { Registry } from '../registry/registry.js';
import type { DeviceActivity, GatewayActivity, RegistryEvent } from '../registry/types.js';
import type { FlushedBatch, HostSink, SampleSource } from '../sink.js';
import { isPermanentStoreError } from '../store/errors.js';
import type { Sample, SampleStore } from '../store/types.js';
import { StoreBackoff } from './backoff.js';
import { type Batch, SampleBuffer } from './buffer.js';
import { errorText, HEALTH_WINDOW_MS, PERSISTENT_FLUSHES, RecentErrors } from './recent-errors.js';
import { RegistryBatch } from './registry-batch.js';
import { RegistryNews } from './registry-news.js';
import { progressOf } from './sources.js';

export interface IngestOptions {
  readonly store: SampleStore;
  readonly registry: Registry;
  readonly logger: Logger;
  /** The flush, retry and write-timeout timers and the time; default REAL_CLOCK. */
  readonly clock?: Clock;
  /** Default 250 ms. */
  readonly flushIntervalMs?: number;
  /**
   * A machine's row that only moves its last-seen and last-sample times is written at most
   * this often (merged meanwhile); states, births and deaths go at the next flush. Default 0:
   * every flush.
   */
  readonly lastSeenIntervalMs?: number;
  /** Samples per store write; a write starts early once this many wait. Default 10 000. */
  readonly maxBatchSamples?: number;
  /** The buffer's bound: beyond it new messages are refused. Default 500 000. */
  readonly maxBufferedSamples?: number;
  /** A write still pending after this long marks the store unhealthy. Default 30 000 ms. */
  readonly writeTimeoutMs?: number;
  /** Backoff after a failed write: starts here, doubles, stops growing at the max. */
  readonly retryMinDelayMs?: number;
  readonly retryMaxDelayMs?: number;
  /** How long close() waits for the last writes. Default 10 000 ms. */
  readonly closeTimeoutMs?: number;
}

export interface IngestCounters {
  flushes: number;
  samplesWritten: number;
  /** Samples the store refused as unstorable (HTTP 400-style); given up, logged. */
  samplesRejected: number;
  /** Samples not accepted because the buffer was full (their gateway still has them). */
  samplesRefused: number;
  messagesRefused: number;
  /** Samples still buffered when close() gave up on the store (their gateway still has them). */
  samplesDropped: number;
  storeErrors: number;
  /** Writes that took longer than writeTimeoutMs. */
  storeTimeouts: number;
  /** Registry batches that failed whole (nothing of them applied). */
  registryErrors: number;
  /** Registry rows refused one by one (the rest of their batch applied). */
  registryRowErrors: number;
  /** Machine-state intervals longer than MAX_SPLIT_DAYS, counted for their last days only. */
  stateSpansClamped: number;
  nodeDeaths: number;
  staleNodeDeaths: number;
  /** The most samples the buffer has held. */
  maxPendingSamples: number;
}

export type FlushedListener = (batch: FlushedBatch) => void;

export class Ingest implements HostSink {
  readonly counters: IngestCounters = {
    flushes: 0,
    samplesWritten: 0,
    samplesRejected: 0,
    samplesRefused: 0,
    messagesRefused: 0,
    samplesDropped: 0,
    storeErrors: 0,
    storeTimeouts: 0,
    registryErrors: 0,
    registryRowErrors: 0,
    stateSpansClamped: 0,
    nodeDeaths: 0,
    staleNodeDeaths: 0,
    maxPendingSamples: 0,
  };
  /** How long each store write took, succeeded or not, in seconds (/metrics). */
  readonly writeSeconds = new Histogram([0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]);
  readonly #o: IngestOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #interval: number;
  readonly #lastSeenInterval: number;
  /** When the registry last took every machine's row (held ones included). */
  #lastSeenAt = Number.NEGATIVE_INFINITY;
  /** Applies held machine rows once they are due and nothing else brought them. */
  #lastSeenTimer: unknown;
  readonly #maxBatch: number;
  readonly #maxBuffered: number;
  readonly #writeTimeout: number;
  readonly #backoff: StoreBackoff;
  readonly #buffer = new SampleBuffer();
  readonly #listeners = new Set<FlushedListener>();
  readonly #refusedListeners = new Set<(source: SampleSource) => void>();
  #registry = new RegistryBatch();
  #timer: unknown;
  /** Serialises store writes: at most one in flight, batches in buffer order. */
  #chain: Promise<void> = Promise.resolve();
  #draining = false;
  #writeStartedAt: number | undefined;
  #refusing = false;
  #refusedInEpisode = 0;
  #running = false;
  /** Store writes refused for good, for /healthz. */
  readonly #rejections = new RecentErrors();
  readonly #news: RegistryNews;

  constructor(opts: IngestOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'ingest' });
    this.#clock = opts.clock ?? REAL_CLOCK;
    this.#interval = opts.flushIntervalMs ?? 250;
    this.#lastSeenInterval = opts.lastSeenIntervalMs ?? 0;
    this.#maxBatch = opts.maxBatchSamples ?? 10_000;
    this.#maxBuffered = opts.maxBufferedSamples ?? 500_000;
    this.#writeTimeout = opts.writeTimeoutMs ?? 30_000;
    this.#news = new RegistryNews(opts.registry, this.#log, this.#clock, this.counters);
    this.#backoff = new StoreBackoff(
      this.#log,
      this.#clock,
      opts.retryMinDelayMs ?? 250,
      opts.retryMaxDelayMs ?? 30_000,
    );
  }

  async start(): Promise<void> {
    this.#running = true;
  }

  /**
   * Stops accepting, applies the registry news and writes what is buffered, waiting at most
   * `closeTimeoutMs` for the store. What is left is counted as dropped: it was never
   * acknowledged, so the gateways send it again.
   */
  async close(): Promise<void> {
    if (!this.#running) return;
    this.#running = false;
    if (this.#timer !== undefined) this.#clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lastSeenTimer !== undefined) this.#clock.clearTimeout(this.#lastSeenTimer);
    this.#lastSeenTimer = undefined;
    let timeout: unknown;
    const gaveUp = new Promise<boolean>((resolve) => {
      timeout = this.#clock.setTimeout(() => resolve(true), this.#o.closeTimeoutMs ?? 10_000);
    });
    const finished = await Promise.race([this.flush().then(() => false), gaveUp]);
    this.#clock.clearTimeout(timeout);
    const left = this.#buffer.clear();
    if (left > 0) {
      this.counters.samplesDropped += left;
      this.#log.warn(
        { samples: left, timedOut: finished },
        'closing with samples not written; gateways keep them',
      );
    }
  }

  get pendingSamples(): number {
    return this.#buffer.samples;
  }

  /** Store writes are going through and nothing is being refused. */
  get healthy(): boolean {
    return this.#problem() === undefined;
  }

  /** The store as the ingest sees it: its own health, or down with why writes do not go through. */
  storeHealth(): ComponentHealth {
    const own = this.#o.store.health();
    const problem = this.#problem();
    if (problem === undefined) return own;
    const detail = own.status === 'up' || own.detail === undefined ? problem : `${problem}; ${own.detail}`;
    return { status: 'down', detail };
  }

  /**
   * The store and the registry as the ingest sees them (/healthz): each its own health unless
   * its writes fail. Store: down while writes fail or hang (storeHealth), degraded while it
   * refuses samples for good persistently. Registry: down while whole batches fail, degraded
   * while rows are refused persistently (one gateway's bad data; the rest applies).
   */
  health(): { store: ComponentHealth; registry: ComponentHealth } {
    let store = this.storeHealth();
    const rejected = this.#rejections.since(this.#clock.now() - HEALTH_WINDOW_MS);
    if (store.status === 'up' && rejected >= PERSISTENT_FLUSHES) {
      store = {
        status: 'degraded',
        detail: `the store refused samples for good in ${rejected} writes within the last ${HEALTH_WINDOW_MS / 1000} s (${this.#rejections.items} samples, see samplesRejected; last: ${this.#rejections.last})`,
      };
    }
    const registry = this.#news.health();
    return { store, registry };
  }

  /** Calls `listener` after every batch the store has for good. Returns the unsubscribe. */
  onFlushed(listener: FlushedListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Calls `listener` for every refused message that had a source. Returns the unsubscribe. */
  onRefused(listener: (source: SampleSource) => void): () => void {
    this.#refusedListeners.add(listener);
    return () => this.#refusedListeners.delete(listener);
  }

  /** True while new messages are being refused (the buffer is full). */
  get refusing(): boolean {
    return this.#refusing;
  }

  /**
   * One message's samples. `source` (optional) says which gateway message they came from, for
   * the durable-write events; a message without storable samples may still report its seq.
   * Refused whole when the buffer has no room for it.
   */
  samples(samples: readonly Sample[], source?: SampleSource): void {
    if (!this.#running || (samples.length === 0 && source === undefined)) return;
    if (samples.length > 0 && this.#buffer.samples + samples.length > this.#maxBuffered) {
      this.#refuse(samples.length, source);
      return;
    }
    if (this.#refusing && samples.length > 0) this.#endRefusing();
    this.#buffer.push({ samples, source });
    if (this.#buffer.samples > this.counters.maxPendingSamples) {
      this.counters.maxPendingSamples = this.#buffer.samples;
    }
    if (this.#buffer.samples >= this.#maxBatch) this.#kick();
    else this.#schedule(this.#interval);
  }

  event(e: RegistryEvent): void {
    if (!this.#running) return;
    this.#registry.event(e);
    this.#schedule(this.#interval);
  }

  deviceActivity(a: DeviceActivity): void {
    if (!this.#running) return;
    this.#registry.device(a);
    this.#schedule(this.#interval);
  }

  gatewayActivity(a: GatewayActivity): void {
    if (!this.#running) return;
    this.#registry.gateway(a);
    this.#schedule(this.#interval);
  }

  /**
   * Applies the registry news and tries to write everything buffered now, backoff or not;
   * stops at the first failed write. Resolves when done; never rejects.
   */
  flush(): Promise<void> {
    this.#applyRegistry(true);
    return this.#enqueue(() => this.#drain(true));
  }

  #enqueue(job: () => Promise<void>): Promise<void> {
    const p = this.#chain.then(job);
    this.#chain = p.catch(() => undefined);
    return this.#chain;
  }

  #schedule(delay: number): void {
    if (this.#timer !== undefined || !this.#running) return;
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = undefined;
      this.#applyRegistry();
      this.#kick();
    }, delay);
  }

  /** Starts writing unless a write is under way or the backoff says wait. */
  #kick(): void {
    if (this.#draining || this.#buffer.entries === 0) return;
    const wait = this.#backoff.nextAttemptAt - this.#clock.now();
    if (wait > 0) {
      this.#schedule(wait);
      return;
    }
    this.#draining = true;
    void this.#enqueue(() => this.#drain(false)).finally(() => {
      this.#draining = false;
      if (this.#buffer.entries > 0) {
        this.#schedule(Math.max(this.#interval, this.#backoff.nextAttemptAt - this.#clock.now()));
      }
    });
  }

  /** One batch; then more while full batches wait (or everything, for flush()). */
  async #drain(all: boolean): Promise<void> {
    let first = true;
    while (this.#buffer.entries > 0 && (first || all || this.#buffer.samples >= this.#maxBatch)) {
      first = false;
      if (!all && this.#clock.now() < this.#backoff.nextAttemptAt) return;
      if (!(await this.#writeBatch(this.#buffer.peek(this.#maxBatch)))) return;
    }
  }

  /** Writes one batch; true when it left the buffer (written, or rejected for good). */
  async #writeBatch(batch: Batch): Promise<boolean> {
    let outcome: FlushedBatch['outcome'] = 'written';
    if (batch.samples.length > 0) {
      this.counters.flushes++;
      try {
        await this.#timedWrite(batch.samples);
        this.counters.samplesWritten += batch.samples.length;
      } catch (err) {
        this.counters.storeErrors++;
        if (!isPermanentStoreError(err)) {
          this.#backoff.failed(err, batch.samples.length);
          return false;
        }
        outcome = 'rejected';
        this.counters.samplesRejected += batch.samples.length;
        this.#rejections.add(this.#clock.now(), batch.samples.length, errorText(err));
        this.#log.error(
          { err, samples: batch.samples.length },
          'the store refused these samples for good; given up',
        );
      }
    }
    this.#buffer.shift(batch);
    if (this.#refusing && this.#buffer.samples < this.#maxBuffered) this.#endRefusing();
    this.#backoff.succeeded();
    this.#emit(batch, outcome);
    return true;
  }

  async #timedWrite(samples: readonly Sample[]): Promise<void> {
    this.#writeStartedAt = this.#clock.now();
    const timer = this.#clock.setTimeout(() => {
      this.counters.storeTimeouts++;
      this.#log.warn(
        { samples: samples.length, afterMs: this.#writeTimeout },
        'store write has not finished',
      );
    }, this.#writeTimeout);
    try {
      await this.#o.store.write(samples);
    } finally {
      this.#clock.clearTimeout(timer);
      this.writeSeconds.observe((this.#clock.now() - this.#writeStartedAt) / 1000);
      this.#writeStartedAt = undefined;
    }
  }

  #emit(batch: Batch, outcome: FlushedBatch['outcome']): void {
    if (this.#listeners.size === 0) return;
    const sources = progressOf(batch.entries.flatMap((e) => (e.source === undefined ? [] : [e.source])));
    const event: FlushedBatch = { outcome, samples: batch.samples.length, sources, at: this.#clock.now() };
    for (const l of this.#listeners) {
      try {
        l(event);
      } catch (err) {
        this.#log.error({ err }, 'a flushed-batch listener failed');
      }
    }
  }

  #refuse(samples: number, source: SampleSource | undefined): void {
    this.counters.samplesRefused += samples;
    this.counters.messagesRefused++;
    this.#refusedInEpisode += samples;
    if (source !== undefined) {
      for (const l of this.#refusedListeners) {
        try {
          l(source);
        } catch (err) {
          this.#log.error({ err }, 'a refused-message listener failed');
        }
      }
    }
    if (!this.#refusing) {
      this.#refusing = true;
      this.#log.warn(
        { pending: this.#buffer.samples, max: this.#maxBuffered },
        'ingest buffer full; refusing new samples until the store catches up',
      );
    }
    this.#kick();
  }

  #endRefusing(): void {
    this.#refusing = false;
    this.#log.info({ refused: this.#refusedInEpisode }, 'ingest buffer has room again');
    this.#refusedInEpisode = 0;
  }

  #problem(): string | undefined {
    const parts: string[] = [];
    const failing = this.#backoff.describe();
    if (failing !== undefined) parts.push(failing);
    if (this.#writeStartedAt !== undefined && this.#clock.now() - this.#writeStartedAt > this.#writeTimeout) {
      parts.push(`a store write has been pending for ${this.#clock.now() - this.#writeStartedAt} ms`);
    }
    if (this.#refusing) parts.push('ingest buffer full, refusing samples');
    if (parts.length === 0) return undefined;
    return `${parts.join('; ')}; ${this.#buffer.samples} of ${this.#maxBuffered} samples buffered`;
  }

  /**
   * Applies the registry news: all of it every lastSeenIntervalMs (or when `all`), else what
   * may not wait (RegistryBatch.take(false)); held rows get a timer of their own, so they are
   * written when due even if no news comes to bring them.
   */
  #applyRegistry(all = false): void {
    if (this.#registry.empty) return;
    const now = this.#clock.now();
    const full = all || now - this.#lastSeenAt >= this.#lastSeenInterval;
    if (full || this.#registry.due) {
      if (full) this.#lastSeenAt = now;
      this.#news.apply(this.#registry.take(full));
    }
    if (this.#registry.empty || this.#lastSeenTimer !== undefined || !this.#running) return;
    this.#lastSeenTimer = this.#clock.setTimeout(
      () => {
        this.#lastSeenTimer = undefined;
        this.#applyRegistry();
      },
      Math.max(0, this.#lastSeenAt + this.#lastSeenInterval - now),
    );
  }
}

export type { FlushedBatch, SampleSource, SourceProgress } from '../sink.js';
