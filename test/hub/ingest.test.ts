/**
 * The ingest in front of a scriptable store: bounded buffer, backoff, hangs, permanent
 * rejections, and the durable-write events the journal acknowledgements hang off.
 */
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ComponentHealth } from '../../hub/errors.js';
import { type FlushedBatch, Ingest, type IngestOptions } from '../../hub/ingest/ingest.js';
import { Registry } from '../../hub/registry/registry.js';
import { StoreError } from '../../hub/store/errors.js';
import type { Sample, SampleStore } from '../../hub/store/types.js';
import { silentLogger, tempDir } from './helpers.js';

type Mode = 'ok' | 'fail' | 'reject' | 'hang';

/** A store whose next writes succeed, fail, reject for good or hang, as the test says. */
class ScriptedStore implements SampleStore {
  readonly type = 'scripted';
  mode: Mode = 'ok';
  readonly rows = new Map<string, Sample>();
  attempts = 0;
  inflight = 0;
  maxInflight = 0;
  #release: (() => void) | undefined;

  async start(): Promise<void> {}
  async close(): Promise<void> {}
  health(): ComponentHealth {
    return { status: 'up' };
  }
  async query(): Promise<never[]> {
    return [];
  }
  async latest(): Promise<never[]> {
    return [];
  }

  async write(samples: readonly Sample[]): Promise<void> {
    this.attempts++;
    this.inflight++;
    this.maxInflight = Math.max(this.maxInflight, this.inflight);
    try {
      if (this.mode === 'hang') await new Promise<void>((r) => (this.#release = r));
      else if (this.mode === 'fail')
        throw new StoreError('WANJI_E_STORE_UNAVAILABLE', 'connect ECONNREFUSED');
      else if (this.mode === 'reject') {
        throw new StoreError('WANJI_E_STORE_REJECTED', 'HTTP 400: field type conflict', { status: 400 });
      }
      for (const s of samples) this.rows.set(`${s.machine}/${s.metric}/${s.ts}`, s);
    } finally {
      this.inflight--;
    }
  }

  /** Lets a hanging write finish (successfully) and later ones succeed. */
  release(): void {
    this.mode = 'ok';
    this.#release?.();
  }
}

const msg = (i: number, n = 10): Sample[] =>
  Array.from({ length: n }, (_, k) => ({
    enterprise: 'acme',
    machine: 'cnc-1',
    metric: `Signals/m${k}`,
    ts: 1_700_000_000_000 + i,
    value: i,
  }));
const src = (position: number, edgeNode = 'gw1') => ({ group: 'acme', edgeNode, position });

describe('Ingest', () => {
  let dir: ReturnType<typeof tempDir>;
  let registry: Registry;
  let store: ScriptedStore;
  let ingest: Ingest;
  let flushed: FlushedBatch[];
  let refused: number[];

  const make = async (opts: Partial<IngestOptions> = {}): Promise<Ingest> => {
    ingest = new Ingest({
      store,
      registry,
      logger: silentLogger(),
      flushIntervalMs: 100,
      maxBatchSamples: 50,
      maxBufferedSamples: 100,
      retryMinDelayMs: 1_000,
      retryMaxDelayMs: 8_000,
      writeTimeoutMs: 5_000,
      closeTimeoutMs: 2_000,
      ...opts,
    });
    ingest.onFlushed((b) => flushed.push(b));
    ingest.onRefused((s) => refused.push(s.position));
    await ingest.start();
    return ingest;
  };

  beforeEach(async () => {
    vi.useFakeTimers();
    dir = tempDir();
    registry = new Registry({ path: join(dir.path, 'registry.db'), logger: silentLogger() });
    await registry.start();
    store = new ScriptedStore();
    flushed = [];
    refused = [];
  });
  afterEach(async () => {
    store.release();
    await ingest?.close();
    await registry.close();
    vi.useRealTimers();
    dir.remove();
  });

  it('writes in batches of whole messages and reports each batch per source', async () => {
    await make();
    for (let i = 0; i < 7; i++) ingest.samples(msg(i), src(i + 1));
    ingest.samples([], src(8)); // a message with nothing to store still reports its seq
    await vi.advanceTimersByTimeAsync(150);
    expect(store.rows.size).toBe(70);
    expect(flushed.map((b) => b.samples)).toEqual([50, 20]);
    expect(flushed[0]!.sources).toEqual([{ group: 'acme', edgeNode: 'gw1', positions: [1, 2, 3, 4, 5] }]);
    expect(flushed[1]!.sources).toEqual([{ group: 'acme', edgeNode: 'gw1', positions: [6, 7, 8] }]);
    expect(ingest.counters).toMatchObject({ samplesWritten: 70, storeErrors: 0 });
    expect(ingest.healthy).toBe(true);
  });

  it('keeps a failed batch, retries with exponential backoff, and writes everything once when the store is back', async () => {
    await make();
    store.mode = 'fail';
    ingest.samples(msg(1), src(1));
    await vi.advanceTimersByTimeAsync(100);
    expect(store.attempts).toBe(1);
    expect(ingest.healthy).toBe(false);
    expect(ingest.storeHealth()).toMatchObject({
      status: 'down',
      detail: expect.stringMatching(
        /store writes failing since .*WANJI_E_STORE_UNAVAILABLE: connect ECONNREFUSED/,
      ),
    });
    // 1 s, 2 s, 4 s, 8 s, 8 s…
    await vi.advanceTimersByTimeAsync(999);
    expect(store.attempts).toBe(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(store.attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(2_000);
    expect(store.attempts).toBe(3);
    await vi.advanceTimersByTimeAsync(4_000);
    expect(store.attempts).toBe(4);
    await vi.advanceTimersByTimeAsync(8_000);
    expect(store.attempts).toBe(5);
    await vi.advanceTimersByTimeAsync(8_000);
    expect(store.attempts).toBe(6);
    ingest.samples(msg(2), src(2));
    expect(flushed).toEqual([]);
    store.mode = 'ok';
    await vi.advanceTimersByTimeAsync(8_000);
    expect(store.rows.size).toBe(20);
    expect(flushed.flatMap((b) => b.sources.flatMap((s) => s.positions))).toEqual([1, 2]);
    expect(ingest.counters).toMatchObject({ samplesWritten: 20, storeErrors: 6, samplesRefused: 0 });
    expect(ingest.healthy).toBe(true);
    expect(ingest.storeHealth()).toEqual({ status: 'up' });
  });

  it('never holds more than maxBufferedSamples: refuses new messages, keeps every accepted one', async () => {
    await make();
    store.mode = 'fail';
    for (let i = 0; i < 30; i++) ingest.samples(msg(i), src(i + 1));
    await vi.advanceTimersByTimeAsync(100);
    expect(ingest.pendingSamples).toBe(100);
    expect(ingest.counters).toMatchObject({
      samplesRefused: 200,
      messagesRefused: 20,
      maxPendingSamples: 100,
    });
    expect(ingest.storeHealth().detail).toMatch(/refusing samples; 100 of 100 samples buffered/);
    // Messages 11.. were refused, and said so: their gateway must send them again.
    expect(refused).toEqual(Array.from({ length: 20 }, (_, i) => i + 11));

    store.mode = 'ok';
    await vi.advanceTimersByTimeAsync(1_000);
    expect(store.rows.size).toBe(100);
    expect(ingest.pendingSamples).toBe(0);
    expect(flushed.flatMap((b) => b.sources.flatMap((s) => s.positions))).toEqual(
      Array.from({ length: 10 }, (_, i) => i + 1),
    );
    expect(ingest.refusing).toBe(false);
    expect(ingest.healthy).toBe(true);
  });

  it('gives a batch the store refuses for good up, counts it, reports it done, and goes on', async () => {
    await make();
    store.mode = 'reject';
    ingest.samples(msg(1), src(1));
    await vi.advanceTimersByTimeAsync(100);
    expect(flushed).toEqual([expect.objectContaining({ outcome: 'rejected', samples: 10 })]);
    expect(ingest.counters).toMatchObject({ samplesRejected: 10, storeErrors: 1 });
    store.mode = 'ok';
    ingest.samples(msg(2), src(2));
    await vi.advanceTimersByTimeAsync(100);
    expect(flushed.at(-1)).toMatchObject({
      outcome: 'written',
      sources: [expect.objectContaining({ positions: [2] })],
    });
    expect(ingest.healthy).toBe(true);
  });

  it('waits for a hanging write instead of piling more on, and says so on health', async () => {
    await make();
    store.mode = 'hang';
    ingest.samples(msg(1), src(1));
    await vi.advanceTimersByTimeAsync(100);
    for (let i = 2; i < 20; i++) ingest.samples(msg(i), src(i));
    await vi.advanceTimersByTimeAsync(6_000);
    expect(store.attempts).toBe(1);
    expect(ingest.counters.storeTimeouts).toBe(1);
    expect(ingest.storeHealth().detail).toMatch(/a store write has been pending for \d+ ms/);
    expect(ingest.pendingSamples).toBe(100);
    store.release();
    await vi.advanceTimersByTimeAsync(200);
    expect(ingest.pendingSamples).toBe(0);
    expect(store.maxInflight).toBe(1);
    expect(store.rows.size).toBe(100);
    expect(ingest.healthy).toBe(true);
  });

  it('close writes what is buffered, or gives up after closeTimeoutMs and counts it', async () => {
    await make();
    ingest.samples(msg(1), src(1));
    await ingest.close();
    expect(store.rows.size).toBe(10);

    await make();
    store.mode = 'hang';
    ingest.samples(msg(2), src(2));
    const closing = ingest.close();
    await vi.advanceTimersByTimeAsync(2_000);
    await closing;
    expect(ingest.counters.samplesDropped).toBe(10);
    ingest.samples(msg(3), src(3));
    expect(ingest.pendingSamples).toBe(0);
  });

  /** Gateway gw1 and its machine cnc-1 born at `at`. */
  const birth = (at: number): void => {
    ingest.event({ type: 'nodeBirth', group: 'acme', edgeNode: 'gw1', bdSeq: 0, at, metrics: [] });
    ingest.event({
      type: 'deviceBirth',
      group: 'acme',
      edgeNode: 'gw1',
      device: 'cnc-1',
      at,
      properties: {},
    });
  };

  it("writes a machine's last-seen times at most every lastSeenIntervalMs; births and states at the next flush", async () => {
    await make({ lastSeenIntervalMs: 1_000 });
    const T = Date.now();
    const seen = (seenAt: number, state?: string) => ({
      enterprise: 'acme',
      machine: 'cnc-1',
      gateway: 'gw1',
      seenAt,
      sampleAt: seenAt,
      ...(state === undefined ? {} : { state, stateAt: seenAt }),
    });
    const row = () => registry.machine('acme', 'cnc-1');
    birth(T);
    ingest.deviceActivity(seen(T));
    await vi.advanceTimersByTimeAsync(150);
    // Born: its first sample counts at once (networked).
    expect(row()).toMatchObject({ lastSeenAt: T, lastSampleAt: T });

    // Only the times move: held, merged with what follows.
    ingest.deviceActivity(seen(T + 200));
    await vi.advanceTimersByTimeAsync(150);
    ingest.deviceActivity(seen(T + 300));
    await vi.advanceTimersByTimeAsync(150);
    expect(row()).toMatchObject({ lastSeenAt: T, lastSampleAt: T });

    // A state goes at the next flush, with the times gathered so far.
    ingest.deviceActivity(seen(T + 400, 'running'));
    await vi.advanceTimersByTimeAsync(150);
    expect(row()).toMatchObject({ lastSeenAt: T + 400, lastSampleAt: T + 400, state: 'running' });

    // Held rows are written when due even if no news follows them.
    ingest.deviceActivity(seen(T + 500));
    await vi.advanceTimersByTimeAsync(150);
    expect(row()).toMatchObject({ lastSeenAt: T + 400 });
    await vi.advanceTimersByTimeAsync(1_000);
    expect(row()).toMatchObject({ lastSeenAt: T + 500, lastSampleAt: T + 500, state: 'running' });

    // flush() (and close()) write everything held.
    ingest.deviceActivity(seen(T + 600));
    await vi.advanceTimersByTimeAsync(150);
    expect(row()).toMatchObject({ lastSeenAt: T + 500 });
    await ingest.flush();
    expect(row()).toMatchObject({ lastSeenAt: T + 600 });
  });

  it('with lastSeenIntervalMs 0 writes every machine row at every flush', async () => {
    await make({ lastSeenIntervalMs: 0 });
    const T = Date.now();
    birth(T);
    for (let i = 1; i <= 3; i++) {
      ingest.deviceActivity({ enterprise: 'acme', machine: 'cnc-1', gateway: 'gw1', seenAt: T + i * 200 });
      await vi.advanceTimersByTimeAsync(150);
      expect(registry.machine('acme', 'cnc-1')).toMatchObject({ lastSeenAt: T + i * 200 });
    }
  });
});
