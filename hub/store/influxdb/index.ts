/**
 * The InfluxDB sample store (`store.type: influxdb`). Writes line protocol in batches of
 * `batchLines` through @influxdata/influxdb-client's WriteApi (`api: v2`) or the 1.x
 * `/write` endpoint (`api: v1`); reads history through InfluxQL `/query`. The schema is in
 * line-protocol.ts and docs/store.md.
 *
 * `write()` resolves only when the server has answered 2xx for every line of the batch and
 * rejects with a StoreError carrying the HTTP status otherwise, after at most `maxRetries`
 * quick retries; the ingest keeps the batch and retries with a longer backoff, and nothing
 * is acknowledged to a gateway meanwhile.
 */
import { setLogger } from '@influxdata/influxdb-client';
import type { Logger } from 'pino';
import { REAL_CLOCK, type Timers } from '../../../protocol/clock.js';
import type { ComponentHealth } from '../../errors.js';
import { StoreError } from '../errors.js';
import {
  DEFAULT_QUERY_LIMIT,
  type LatestValue,
  MAX_QUERY_LIMIT,
  type Sample,
  type SampleStore,
  type SeriesPoint,
  type SeriesQuery,
  type StoreConfig,
  type StoreContext,
} from '../types.js';
import { type InfluxStoreConfig, queryTarget, resolveInfluxConfig } from './config.js';
import { basicAuth, type HttpTarget, request, toStoreError } from './http.js';
import { InfluxQLReader, quoteIdent } from './influxql.js';
import { encodeSamples, SeriesKeys } from './line-protocol.js';
import { type LineWriter, V1Writer, V2Writer } from './writers.js';

export interface InfluxStoreOptions {
  readonly config: Readonly<InfluxStoreConfig>;
  readonly logger: Logger;
  readonly timers?: Timers;
}

const MAX_RETRY_DELAY_MS = 5_000;
/** While down, the server is pinged this often, so health recovers without a write. */
const PROBE_INTERVAL_MS = 5_000;

export class InfluxSampleStore implements SampleStore {
  readonly type = 'influxdb';
  readonly #c: Readonly<InfluxStoreConfig>;
  readonly #log: Logger;
  readonly #timers: Timers;
  readonly #http: HttpTarget;
  readonly #keys: SeriesKeys;
  #writer: LineWriter | undefined;
  #reader: InfluxQLReader | undefined;
  #health: ComponentHealth = { status: 'starting' };
  #databaseReady = false;
  readonly #inflight = new Set<Promise<void>>();
  #probe: unknown;

  constructor(opts: InfluxStoreOptions) {
    this.#c = opts.config;
    this.#log = opts.logger.child({ component: 'store', type: 'influxdb', api: opts.config.api });
    this.#timers = opts.timers ?? REAL_CLOCK;
    this.#keys = new SeriesKeys(this.#c.measurement);
    this.#http = {
      base: this.#c.url.replace(/\/$/, ''),
      headers:
        this.#c.api === 'v1'
          ? basicAuth(this.#c.username, this.#c.password)
          : this.#c.token === undefined
            ? {}
            : { authorization: `Token ${this.#c.token}` },
      timeoutMs: this.#c.timeoutMs,
    };
  }

  /** Never fails for an unreachable server: the hub starts, the store reports down, writes wait. */
  async start(): Promise<void> {
    if (this.#writer !== undefined) return;
    // The client library logs its own failures to the console; ours are logged with context.
    setLogger({
      error: (message, err: unknown) => this.#log.debug({ err }, message),
      warn: (message, err: unknown) => this.#log.debug({ err }, message),
    });
    this.#writer = this.#c.api === 'v1' ? new V1Writer(this.#c) : new V2Writer(this.#c);
    const { db, rp } = queryTarget(this.#c);
    this.#reader = new InfluxQLReader(this.#http, db, rp, this.#c.measurement);
    this.#databaseReady = false;
    try {
      await request(this.#http, 'InfluxDB ping', '/ping', { method: 'GET' });
      await this.#ensureDatabase();
      this.#health = { status: 'up' };
      this.#log.info({ url: this.#c.url, measurement: this.#c.measurement }, 'InfluxDB store ready');
    } catch (err) {
      this.#down(err);
      this.#log.warn({ err, url: this.#c.url }, 'InfluxDB not reachable at start; writes will be retried');
    }
  }

  async close(): Promise<void> {
    const writer = this.#writer;
    if (writer === undefined) {
      this.#health = { status: 'closed' };
      return;
    }
    this.#writer = undefined;
    this.#reader = undefined;
    if (this.#probe !== undefined) this.#timers.clearTimeout(this.#probe);
    this.#probe = undefined;
    await Promise.allSettled([...this.#inflight]);
    await writer.close();
    this.#health = { status: 'closed' };
  }

  health(): ComponentHealth {
    return this.#health;
  }

  async write(samples: readonly Sample[]): Promise<void> {
    if (samples.length === 0) return;
    const writer = this.#writer;
    if (writer === undefined) throw new StoreError('WANJI_E_STORE', 'InfluxDB store is not started');
    const { lines, skipped } = encodeSamples(samples, {
      keys: this.#keys,
      writeStrings: this.#c.writeStrings,
    });
    if (skipped > 0)
      this.#log.warn({ skipped }, 'samples with an empty enterprise, machine or metric not written');
    const done = this.#writeLines(writer, lines);
    this.#inflight.add(done);
    try {
      await done;
    } finally {
      this.#inflight.delete(done);
    }
  }

  async query(q: SeriesQuery): Promise<SeriesPoint[]> {
    const limit = Math.min(Math.max(1, q.limit ?? DEFAULT_QUERY_LIMIT), MAX_QUERY_LIMIT);
    return this.#historyReader().series(q, limit);
  }

  async latest(enterprise: string, machine: string): Promise<LatestValue[]> {
    return this.#historyReader().latest(enterprise, machine);
  }

  #historyReader(): InfluxQLReader {
    if (this.#c.history === 'none') {
      throw new StoreError(
        'WANJI_E_STORE_UNSUPPORTED',
        'this InfluxDB store is configured with history "none" (the server has no InfluxQL /query)',
      );
    }
    if (this.#reader === undefined) throw new StoreError('WANJI_E_STORE', 'InfluxDB store is not started');
    return this.#reader;
  }

  async #writeLines(writer: LineWriter, lines: readonly string[]): Promise<void> {
    try {
      for (let i = 0; i < lines.length; i += this.#c.batchLines) {
        await this.#sendWithRetry(writer, lines.slice(i, i + this.#c.batchLines));
      }
    } catch (err) {
      this.#down(err);
      throw err;
    }
    if (this.#health.status !== 'up' && this.#writer === writer) this.#health = { status: 'up' };
  }

  /** One batch, with at most `maxRetries` quick retries of what may succeed on a second try. */
  async #sendWithRetry(writer: LineWriter, lines: string[]): Promise<void> {
    let delay = this.#c.retryDelayMs;
    for (let attempt = 0; ; attempt++) {
      try {
        if (!this.#databaseReady) await this.#ensureDatabase();
        await writer.send(lines);
        return;
      } catch (e) {
        const err = toStoreError('InfluxDB write', e);
        if (err.code === 'WANJI_E_STORE_NOT_FOUND') this.#databaseReady = false;
        if (!err.retryable || attempt >= this.#c.maxRetries || this.#writer !== writer) throw err;
        this.#log.debug(
          { err, attempt: attempt + 1, lines: lines.length },
          'InfluxDB write failed; retrying',
        );
        await new Promise<void>((r) => this.#timers.setTimeout(r, delay));
        delay = Math.min(delay * 2, MAX_RETRY_DELAY_MS);
      }
    }
  }

  async #ensureDatabase(): Promise<void> {
    if (this.#c.api === 'v1' && this.#c.createDatabase) {
      const q = new URLSearchParams({ q: `CREATE DATABASE ${quoteIdent(this.#c.database ?? '')}` });
      await request(this.#http, 'InfluxDB CREATE DATABASE', `/query?${q.toString()}`, { method: 'POST' });
    }
    this.#databaseReady = true;
  }

  #down(err: unknown): void {
    if (this.#writer === undefined) return;
    const e = toStoreError('InfluxDB', err);
    this.#health = { status: 'down', detail: `${e.code}: ${e.message}` };
    this.#scheduleProbe();
  }

  #scheduleProbe(): void {
    if (this.#probe !== undefined) return;
    const writer = this.#writer;
    this.#probe = this.#timers.setTimeout(() => {
      this.#probe = undefined;
      if (this.#writer !== writer || this.#health.status === 'up') return;
      request(this.#http, 'InfluxDB ping', '/ping', { method: 'GET' }).then(
        () => {
          if (this.#writer === writer) this.#health = { status: 'up' };
        },
        () => this.#scheduleProbe(),
      );
    }, PROBE_INTERVAL_MS);
  }
}

export function createInfluxStore(config: StoreConfig, ctx: StoreContext): InfluxSampleStore {
  return new InfluxSampleStore({ config: resolveInfluxConfig(config), logger: ctx.logger });
}
