/**
 * The two ways lines reach the server. Each `send()` is one attempt for one batch: it
 * resolves when the server answered 2xx (204) and rejects with a StoreError otherwise.
 * Retries and backoff live above (the store's bounded retry, then the ingest).
 */
import { InfluxDB, type WriteApi } from '@influxdata/influxdb-client';
import type { InfluxStoreConfig } from './config.js';
import { basicAuth, type HttpTarget, request, toStoreError } from './http.js';

export interface LineWriter {
  send(lines: string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * `/api/v2/write` through the client's WriteApi. The WriteApi is built so that it never
 * sends or retries on its own: no flush timer, no size that triggers a send, no retry buffer;
 * otherwise a failed batch would be retried in the background after `write()` had already
 * told the caller it failed, and a success could not be tied to the batch it belongs to.
 * `writeRecords` and `flush` run in the same tick, so concurrent sends never mix lines.
 */
export class V2Writer implements LineWriter {
  readonly #api: WriteApi;

  constructor(c: InfluxStoreConfig) {
    const client = new InfluxDB({
      url: c.url.replace(/\/$/, ''),
      timeout: c.timeoutMs,
      ...(c.token === undefined ? {} : { token: c.token }),
    });
    this.#api = client.getWriteApi(c.org, c.bucket ?? '', 'ms', {
      batchSize: 2,
      maxBatchBytes: Number.POSITIVE_INFINITY,
      flushInterval: 0,
      maxRetries: 0,
      maxBufferLines: 1,
      gzipThreshold: c.gzip ? 1_000 : Number.POSITIVE_INFINITY,
    });
  }

  async send(lines: string[]): Promise<void> {
    // One record per request: the WriteApi measures and copies each record, so a batch
    // joined once costs one pass instead of one per line.
    this.#api.writeRecord(lines.join('\n'));
    try {
      await this.#api.flush();
    } catch (err) {
      throw toStoreError('InfluxDB v2 write', err);
    }
  }

  async close(): Promise<void> {
    this.#api.dispose();
  }
}

/** `/write?db=&rp=&precision=ms` for InfluxDB 1.x servers before 1.8. */
export class V1Writer implements LineWriter {
  readonly #target: HttpTarget;
  readonly #path: string;

  constructor(c: InfluxStoreConfig) {
    this.#target = {
      base: c.url.replace(/\/$/, ''),
      headers: basicAuth(c.username, c.password),
      timeoutMs: c.timeoutMs,
    };
    const q = new URLSearchParams({ db: c.database ?? '', precision: 'ms' });
    if (c.retentionPolicy !== undefined) q.set('rp', c.retentionPolicy);
    this.#path = `/write?${q.toString()}`;
  }

  async send(lines: string[]): Promise<void> {
    await request(this.#target, 'InfluxDB v1 write', this.#path, {
      method: 'POST',
      body: lines.join('\n'),
      contentType: 'text/plain; charset=utf-8',
    });
  }

  async close(): Promise<void> {}
}
