/**
 * Issue 9: one bad row never fails a batch for anyone else. Before, `Ingest.#applyRegistry`
 * ran a batch as one transaction and dropped it whole on any error: a State stamped 8.64e15
 * by one gateway (`NOT NULL constraint failed: machine_state_time.ms`) stopped every machine
 * of every gateway from updating. These feed the registry and the ingest directly, as if the
 * host's own time bounds (H1) had let the row through.
 */

import { type Logger, pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rawSqliteForTests } from '../../hub/database/database.js';
import { Ingest } from '../../hub/ingest/ingest.js';
import { DAY_MS } from '../../hub/registry/days.js';
import { Registry } from '../../hub/registry/registry.js';
import type { IngestBatch } from '../../hub/registry/types.js';
import { StoreError } from '../../hub/store/errors.js';
import { createStore } from '../../hub/store/index.js';
import type { SampleStore } from '../../hub/store/types.js';
import { REAL_CLOCK } from '../../protocol/clock.js';
import { tempDir } from './helpers.js';

const T = 1_800_000_000_000;

/** A logger whose lines the test can read. */
function capturingLogger(): { logger: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/** Two gateways of two enterprises, two machines each, all running since T. */
const births: IngestBatch = {
  events: [
    { type: 'nodeBirth', group: 'E001', edgeNode: 'gwA', bdSeq: 0, at: T },
    { type: 'nodeBirth', group: 'E002', edgeNode: 'gwB', bdSeq: 0, at: T },
    ...['a1', 'a2'].map((device) => ({
      type: 'deviceBirth' as const,
      group: 'E001',
      edgeNode: 'gwA',
      device,
      at: T,
      properties: {},
    })),
    ...['b1', 'b2'].map((device) => ({
      type: 'deviceBirth' as const,
      group: 'E002',
      edgeNode: 'gwB',
      device,
      at: T,
      properties: {},
    })),
  ],
  devices: [
    ...['a1', 'a2'].map((machine) => ({
      enterprise: 'E001',
      machine,
      gateway: 'gwA',
      seenAt: T,
      state: 'running',
      stateAt: T,
    })),
    ...['b1', 'b2'].map((machine) => ({
      enterprise: 'E002',
      machine,
      gateway: 'gwB',
      seenAt: T,
      state: 'running',
      stateAt: T,
    })),
  ],
  gateways: [],
};

describe('registry: one bad row is refused alone', () => {
  let dir: ReturnType<typeof tempDir>;
  let reg: Registry;

  beforeEach(async () => {
    dir = tempDir();
    reg = new Registry({
      path: `${dir.path}/registry.db`,
      logger: pino({ level: 'silent' }),
      clock: () => T,
    });
    await reg.start();
    reg.applyIngest(births);
  });
  afterEach(async () => {
    await reg.close();
    dir.remove();
  });

  const stateMs = (machine: string): number =>
    rawSqliteForTests(reg.database)
      .prepare<[string], { ms: number | null }>(
        'SELECT sum(ms) AS ms FROM machine_state_time WHERE machine = ?',
      )
      .get(machine)?.ms ?? 0;

  it('a State stamped 8.64e15 (the observed NOT NULL failure) is refused; every other machine updates', () => {
    const at = T + 60_000;
    const r = reg.applyIngest({
      events: [],
      devices: [
        {
          enterprise: 'E001',
          machine: 'a1',
          gateway: 'gwA',
          seenAt: at,
          sampleAt: at,
          state: 'idle',
          stateAt: at,
        },
        // The poisoned row: a valid "seen" from the hub, a state time beyond any date.
        { enterprise: 'E002', machine: 'b1', gateway: 'gwB', seenAt: at, state: 'idle', stateAt: 8.64e15 },
        { enterprise: 'E002', machine: 'b2', gateway: 'gwB', seenAt: at, state: 'alarm', stateAt: at },
        // And the other poisons of the same kind: NaN, Infinity, a million days ahead.
        { enterprise: 'E001', machine: 'a2', gateway: 'gwA', seenAt: Number.NaN },
      ],
      gateways: [
        { group: 'E001', edgeNode: 'gwA', seenAt: at },
        { group: 'E002', edgeNode: 'gwB', seenAt: Number.POSITIVE_INFINITY },
      ],
    });
    expect(r.rowsRefused).toBe(3);
    expect(r.refused).toEqual([
      expect.objectContaining({
        kind: 'deviceActivity',
        enterprise: 'E002',
        machine: 'b1',
        gateway: 'gwB',
        code: 'WANJI_E_REGISTRY_ROW',
        reason: expect.stringMatching(/8640000000000000 is not a time/),
      }),
      expect.objectContaining({
        kind: 'deviceActivity',
        machine: 'a2',
        reason: expect.stringMatching(/NaN/),
      }),
      expect.objectContaining({ kind: 'gatewayActivity', enterprise: 'E002', gateway: 'gwB' }),
    ]);
    expect(reg.machine('E001', 'a1')).toMatchObject({ state: 'idle', lastSeenAt: at, lastSampleAt: at });
    expect(reg.machine('E002', 'b2')).toMatchObject({ state: 'alarm', lastSeenAt: at });
    expect(reg.machine('E002', 'b1')).toMatchObject({ state: 'running', lastSeenAt: T });
    expect(reg.machine('E001', 'a2')).toMatchObject({ lastSeenAt: T });
    expect(reg.gateway('E001', 'gwA')?.lastSeenAt).toBe(at);
    // The machines that changed state had their minute of running counted; the refused one nothing.
    expect(stateMs('a1')).toBe(60_000);
    expect(stateMs('b2')).toBe(60_000);
    expect(stateMs('b1')).toBe(0);
    expect(
      rawSqliteForTests(reg.database)
        .prepare('SELECT count(*) AS n FROM machine_state_time WHERE ms IS NULL')
        .get(),
    ).toEqual({ n: 0 });
  });

  it('a State a million days ahead of when the hub heard it is refused, not counted for a million days', () => {
    const at = T + 1_000;
    const r = reg.applyIngest({
      events: [],
      devices: [
        {
          enterprise: 'E002',
          machine: 'b1',
          gateway: 'gwB',
          seenAt: at,
          state: 'idle',
          stateAt: at + 1_000_000 * DAY_MS,
        },
        { enterprise: 'E002', machine: 'b2', gateway: 'gwB', seenAt: at, state: 'idle', stateAt: at },
      ],
      gateways: [],
    });
    expect(r.rowsRefused).toBe(1);
    expect(r.refused?.[0]).toMatchObject({
      machine: 'b1',
      reason: expect.stringMatching(/more than a day after the hub heard it/),
    });
    expect(reg.machine('E002', 'b1')?.state).toBe('running');
    expect(reg.machine('E002', 'b2')?.state).toBe('idle');
    expect(stateMs('b1')).toBe(0);
  });

  it('a row that fails in SQL is rolled back alone, its earlier writes included', () => {
    // A failure only SQL sees (the JS checks pass): changing b1's state aborts, after the
    // row has already updated b1's "last seen" in the same savepoint.
    rawSqliteForTests(reg.database).exec(`CREATE TRIGGER poison BEFORE UPDATE OF since_state ON machines
      WHEN NEW.id = 'b1' BEGIN SELECT RAISE(ABORT, 'poisoned row'); END`);
    const at = T + 5_000;
    const r = reg.applyIngest({
      events: [{ type: 'deviceBirth', group: 'E001', edgeNode: 'gwA', device: 'a3', at, properties: {} }],
      devices: ['a1', 'a2', 'b1', 'b2'].map((machine) => ({
        enterprise: machine.startsWith('a') ? 'E001' : 'E002',
        machine,
        gateway: machine.startsWith('a') ? 'gwA' : 'gwB',
        seenAt: at,
        state: 'idle',
        stateAt: at,
      })),
      gateways: [{ group: 'E002', edgeNode: 'gwB', seenAt: at }],
    });
    expect(r).toMatchObject({
      rowsRefused: 1,
      refused: [{ kind: 'deviceActivity', enterprise: 'E002', machine: 'b1', reason: 'poisoned row' }],
    });
    expect(reg.machine('E002', 'b1')).toMatchObject({ state: 'running', lastSeenAt: T });
    expect(stateMs('b1')).toBe(0);
    for (const [e, m] of [
      ['E001', 'a1'],
      ['E001', 'a2'],
      ['E002', 'b2'],
    ] as const) {
      expect(reg.machine(e, m)).toMatchObject({ state: 'idle', lastSeenAt: at });
      expect(stateMs(m)).toBe(5_000);
    }
    expect(reg.machine('E001', 'a3')?.firstSeen).toBe(at);
    expect(reg.gateway('E002', 'gwB')?.lastSeenAt).toBe(at);
  });

  it('a database that cannot be written fails the batch whole (not one row at a time)', () => {
    rawSqliteForTests(reg.database).pragma('query_only = ON');
    expect(() =>
      reg.applyIngest({
        events: [],
        devices: [
          { enterprise: 'E001', machine: 'a1', gateway: 'gwA', seenAt: T + 1, state: 'idle', stateAt: T + 1 },
        ],
        gateways: [],
      }),
    ).toThrow(expect.objectContaining({ code: 'SQLITE_READONLY' }));
    rawSqliteForTests(reg.database).pragma('query_only = OFF');
  });
});

describe('ingest: refused rows are counted and logged, the rest applies', () => {
  let dir: ReturnType<typeof tempDir>;
  let reg: Registry;
  let store: SampleStore;
  let ingest: Ingest;
  let now: number;
  let lines: Record<string, unknown>[];

  beforeEach(async () => {
    dir = tempDir();
    now = T;
    const log = capturingLogger();
    lines = log.lines;
    reg = new Registry({ path: `${dir.path}/registry.db`, logger: log.logger, clock: () => now });
    store = createStore({ type: 'sqlite' }, { dataDir: dir.path, logger: log.logger });
    await reg.start();
    await store.start();
    reg.applyIngest(births);
    ingest = new Ingest({
      store,
      registry: reg,
      logger: log.logger,
      clock: { ...REAL_CLOCK, now: () => now },
      flushIntervalMs: 60_000,
    });
    await ingest.start();
  });
  afterEach(async () => {
    await ingest.close();
    await store.close();
    await reg.close();
    dir.remove();
  });

  /** One flush: a1 and b2 report as usual; b1 (gateway gwB) sends a State stamped 8.64e15. */
  const flushWithPoison = async (poison: boolean): Promise<void> => {
    now += 1_000;
    ingest.deviceActivity({ enterprise: 'E001', machine: 'a1', gateway: 'gwA', seenAt: now, sampleAt: now });
    ingest.deviceActivity({ enterprise: 'E002', machine: 'b2', gateway: 'gwB', seenAt: now, sampleAt: now });
    if (poison) {
      ingest.deviceActivity({
        enterprise: 'E002',
        machine: 'b1',
        gateway: 'gwB',
        seenAt: now,
        state: 'idle',
        stateAt: 8.64e15,
      });
    }
    await ingest.flush();
  };

  it('counts registryRowErrors, logs who sent it, keeps registryErrors at 0 and updates the others', async () => {
    await flushWithPoison(true);
    expect(ingest.counters).toMatchObject({ registryRowErrors: 1, registryErrors: 0 });
    expect(reg.machine('E001', 'a1')?.lastSeenAt).toBe(now);
    expect(reg.machine('E002', 'b2')?.lastSeenAt).toBe(now);
    expect(reg.machine('E002', 'b1')?.lastSeenAt).toBe(T);
    const refused = lines.filter((l) => l.msg === 'registry row refused; the rest of the batch applied');
    expect(refused).toEqual([
      expect.objectContaining({
        level: 40,
        component: 'ingest',
        kind: 'deviceActivity',
        enterprise: 'E002',
        machine: 'b1',
        gateway: 'gwB',
        code: 'WANJI_E_REGISTRY_ROW',
        reason: expect.stringMatching(/is not a time/),
      }),
    ]);
    // One refused row is not yet a persistent problem.
    expect(ingest.health().registry).toEqual({ status: 'up' });
  });

  it('rows refused in 3 flushes within a minute make the registry degraded, with the reason; a quiet minute clears it', async () => {
    for (let i = 0; i < 3; i++) await flushWithPoison(true);
    expect(ingest.counters.registryRowErrors).toBe(3);
    const h = ingest.health().registry;
    expect(h.status).toBe('degraded');
    expect(h.detail).toMatch(/registry refused rows in 3 flushes within the last 60 s \(3 rows/);
    expect(h.detail).toMatch(/deviceActivity of E002\/b1 via gateway gwB: WANJI_E_REGISTRY_ROW/);
    expect(ingest.health().store.status).toBe('up');
    // The poison stops; the other machines go on.
    await flushWithPoison(false);
    expect(ingest.health().registry.status).toBe('degraded');
    now += 61_000;
    await flushWithPoison(false);
    expect(ingest.health().registry).toEqual({ status: 'up' });
    expect(reg.machine('E002', 'b2')?.lastSeenAt).toBe(now);
  });

  it('logs at most 10 refused rows a minute one by one, and sums up the rest', async () => {
    for (let i = 0; i < 15; i++) await flushWithPoison(true);
    const oneByOne = () =>
      lines.filter((l) => l.msg === 'registry row refused; the rest of the batch applied');
    expect(oneByOne()).toHaveLength(10);
    now += 60_000;
    await flushWithPoison(true);
    expect(
      lines.find((l) => l.msg === 'registry rows refused in the last minute, not logged one by one'),
    ).toMatchObject({ rows: 5 });
    expect(oneByOne()).toHaveLength(11);
    expect(ingest.counters.registryRowErrors).toBe(16);
  });

  it('whole batches failing 3 times in a row make the registry down; it recovers with the next good batch', async () => {
    rawSqliteForTests(reg.database).pragma('query_only = ON');
    for (let i = 0; i < 3; i++) await flushWithPoison(false);
    expect(ingest.counters.registryErrors).toBe(3);
    const h = ingest.health().registry;
    expect(h.status).toBe('down');
    expect(h.detail).toMatch(
      /registry updates failing since .* \(3 batches in a row, see registryErrors; last: SQLITE_READONLY/,
    );
    rawSqliteForTests(reg.database).pragma('query_only = OFF');
    await flushWithPoison(false);
    expect(ingest.health().registry).toEqual({ status: 'up' });
    expect(lines.some((l) => l.msg === 'registry updates go through again')).toBe(true);
  });

  it('samples the store refuses for good in 3 writes within a minute make the store degraded', async () => {
    let rejecting = true;
    const picky: SampleStore = {
      type: 'picky',
      start: () => store.start(),
      close: () => store.close(),
      write: async (samples) => {
        if (rejecting) throw new StoreError('WANJI_E_STORE_REJECTED', 'HTTP 400: field type conflict');
        await store.write(samples);
      },
      query: (q) => store.query(q),
      latest: (e, m) => store.latest(e, m),
      health: () => store.health(),
    };
    const log = capturingLogger();
    const own = new Ingest({
      store: picky,
      registry: reg,
      logger: log.logger,
      clock: { ...REAL_CLOCK, now: () => now },
      flushIntervalMs: 60_000,
    });
    await own.start();
    try {
      const write = async (): Promise<void> => {
        now += 1_000;
        own.samples([{ enterprise: 'E001', machine: 'a1', metric: 'Signals/x', ts: now, value: 1 }]);
        await own.flush();
      };
      for (let i = 0; i < 3; i++) await write();
      expect(own.counters).toMatchObject({ samplesRejected: 3, storeErrors: 3 });
      const h = own.health().store;
      expect(h.status).toBe('degraded');
      expect(h.detail).toMatch(
        /the store refused samples for good in 3 writes within the last 60 s \(3 samples, see samplesRejected; last: WANJI_E_STORE_REJECTED: HTTP 400: field type conflict\)/,
      );
      rejecting = false;
      await write();
      expect(own.health().store.status).toBe('degraded');
      now += 61_000;
      expect(own.health().store).toEqual({ status: 'up' });
    } finally {
      await own.close();
    }
  });
});
