/**
 * A flush of births (a failover: the worker taking over asks the dead worker's gateways to
 * rebirth) and of state changes on PostgreSQL in a few round trips, not ~3 per machine (issue
 * 13: 10,000 births were 30,105 round trips, 7.4 s blocking a hub worker). The batched path
 * (machines.bornMany, stateSpans.setOpenMany and addMany, held back by hub/registry/apply.ts)
 * must leave every row as the per-row statements do: the same batches on a SQLite registry and a
 * PostgreSQL one end in the same tables, order-dependent cases included (born then reporting in
 * the same flush, dead and born again, a gateway's death between births), and a birth that fails
 * in SQL is still refused alone.
 */
import { expect, it } from 'vitest';
import { PostgresConnection } from '../../hub/database/postgres/connection.js';
import { postgresRoundTrips } from '../../hub/database/postgres/sync-client.js';
import { IngestApplier } from '../../hub/registry/apply.js';
import type { IngestBatch, RegistryEvent } from '../../hub/registry/types.js';
import { describeWithPostgres } from '../support/postgres.js';
import { registryPair } from '../support/registry-pair.js';

const T = 1_800_000_000_000;
const MIN = 60_000;
const ENTERPRISES = ['E001', 'E002', 'E003'];
const GATEWAYS_PER_ENTERPRISE = 10;
const MACHINES_PER_GATEWAY = 100;
const GATEWAYS = ENTERPRISES.length * GATEWAYS_PER_ENTERPRISE;

interface Fleet {
  readonly enterprise: string;
  readonly gateway: string;
  readonly machine: string;
}

const fleet: Fleet[] = ENTERPRISES.flatMap((enterprise) =>
  Array.from({ length: GATEWAYS_PER_ENTERPRISE }, (_g, g) =>
    Array.from({ length: MACHINES_PER_GATEWAY }, (_m, m) => ({
      enterprise,
      gateway: `gw${g}`,
      machine: `m${g}-${String(m).padStart(3, '0')}`,
    })),
  ).flat(),
);

/**
 * Every gateway born (NBIRTH), each followed by its machines' DBIRTHs, as a gateway answers a
 * rebirth request; `states`: each machine's first state in the same flush (its "last seen" row).
 */
function rebirth(at: number, states: (i: number) => string | undefined, props = true): IngestBatch {
  const events: RegistryEvent[] = [];
  for (const group of ENTERPRISES) {
    for (let g = 0; g < GATEWAYS_PER_ENTERPRISE; g++) {
      events.push({ type: 'nodeBirth', group, edgeNode: `gw${g}`, bdSeq: 1, at });
      for (const f of fleet) {
        if (f.enterprise !== group || f.gateway !== `gw${g}`) continue;
        events.push({
          type: 'deviceBirth',
          group,
          edgeNode: f.gateway,
          device: f.machine,
          at,
          properties: props ? { kind: 'cnc', nc: true, robot: false, dataDepth: 'L2' } : {},
        });
      }
    }
  }
  return {
    events,
    devices: fleet.map((f, i) => {
      const state = states(i);
      return { ...f, seenAt: at, ...(state === undefined ? {} : { state, stateAt: at }) };
    }),
    gateways: [],
  };
}

/** Every machine reporting a state (`state(i)`), stamped a little before the hub heard it. */
function stateFlush(at: number, state: (i: number) => string): IngestBatch {
  return {
    events: [],
    devices: fleet.map((f, i) => ({ ...f, seenAt: at, sampleAt: at, state: state(i), stateAt: at - 100 })),
    gateways: [],
  };
}

/**
 * The order-dependent cases in one flush: a machine dead and born again (reporting after); born
 * twice (another gateway, properties only the first announces); born, dead (DDEATH), its own
 * last report after; a gateway's death (NDEATH) between births of its machines and their
 * rebirth after an NBIRTH; a machine new to the hub born and reporting; a birth at a time that
 * is not a time (refused alone).
 */
function tangled(at: number): IngestBatch {
  const [a, b, c] = fleet;
  const onGw1 = fleet.filter((f) => f.enterprise === 'E002' && f.gateway === 'gw1');
  const birth = (f: Fleet, when: number, gateway = f.gateway, props = {}): RegistryEvent => ({
    type: 'deviceBirth',
    group: f.enterprise,
    edgeNode: gateway,
    device: f.machine,
    at: when,
    properties: props,
  });
  return {
    events: [
      { type: 'deviceDeath', group: a!.enterprise, edgeNode: a!.gateway, device: a!.machine, at: at - 300 },
      birth(a!, at - 200),
      birth(b!, at - 250, b!.gateway, { kind: 'robot', robot: true }),
      birth(b!, at - 150, 'gw9'),
      birth(c!, at - 400),
      { type: 'deviceDeath', group: c!.enterprise, edgeNode: c!.gateway, device: c!.machine, at: at - 100 },
      ...onGw1.slice(0, 50).map((f) => birth(f, at - 500)),
      { type: 'nodeDeath', group: 'E002', edgeNode: 'gw1', bdSeq: 1, at: at - 400 },
      { type: 'nodeBirth', group: 'E002', edgeNode: 'gw1', bdSeq: 2, at: at - 50 },
      ...onGw1.map((f) => birth(f, at - 50)),
      birth({ enterprise: 'E003', gateway: 'gw0', machine: 'newcomer' }, at - 20, 'gw0', { kind: 'lathe' }),
      birth({ enterprise: 'E003', gateway: 'gw0', machine: 'bad-time' }, Number.NaN),
    ],
    devices: [
      ...fleet.map((f, i) => ({
        ...f,
        seenAt: at,
        ...(i % 4 === 0 ? { state: 'idle', stateAt: at - 10 } : {}),
      })),
      { ...b!, gateway: 'gw9', seenAt: at, state: 'alarm', stateAt: at - 5 },
      { enterprise: 'E003', gateway: 'gw0', machine: 'newcomer', seenAt: at, state: 'running', stateAt: at },
    ],
    gateways: [],
  };
}

describeWithPostgres('births and state changes on PostgreSQL, batched', () => {
  const pair = registryPair(T);
  const { onPostgres, expectSameTables } = pair;
  /** Applies the batch to both; the PostgreSQL side's round trips. */
  const both = (batch: IngestBatch): number => {
    const s = pair.sqlite.applyIngest(batch);
    const before = postgresRoundTrips();
    const p = pair.postgres.applyIngest(batch);
    const trips = postgresRoundTrips() - before;
    expect(p).toEqual(s);
    expectSameTables();
    return trips;
  };

  it('a flush of births, of state changes, of rebirths: the same tables in a few round trips', () => {
    // 3,000 machines new to the hub, born and reporting their first state in the same flush:
    // BEGIN, the silent machines, the births' machines, an NBIRTH per gateway, the births, the
    // reporting machines, their open intervals, the "last seen", COMMIT (38 here; 8,435 before,
    // births and the clock's writes one statement each).
    const first = both(rebirth(T, (i) => (i % 5 === 0 ? undefined : i % 2 === 0 ? 'running' : 'idle')));
    expect(first).toBeLessThanOrEqual(GATEWAYS + 10);
    const sample = pair.postgres.machine('E001', 'm0-001');
    expect(sample).toMatchObject({ kind: 'cnc', nc: true, dead: false, state: 'idle' });
    expect(pair.postgres.database.stateSpans.open('E001', 'm0-001')).toEqual({ state: 'idle', since: T });
    expect(pair.postgres.database.stateSpans.open('E001', 'm0-000')).toEqual({ state: null, since: null });

    // Every machine changing state: each closes its interval and opens the next (two statements
    // each: 5,405 round trips for these 3,000 before; 7 now).
    const states = both(stateFlush(T + 10 * MIN, (i) => (i % 3 === 0 ? 'alarm' : 'running')));
    expect(states).toBeLessThanOrEqual(8);
    expect(onPostgres('machine_state_time').length).toBeGreaterThan(1_000);

    // The failover: every gateway and machine born again, each machine's interval closed and
    // left unknown until its state arrives (in the same flush for half of them): 40 round trips,
    // 22,535 before.
    const failover = both(rebirth(T + 20 * MIN, (i) => (i % 2 === 0 ? 'running' : undefined), false));
    expect(failover).toBeLessThanOrEqual(GATEWAYS + 12);
    expect(pair.postgres.database.stateSpans.open('E001', 'm0-001')).toEqual({
      state: null,
      since: T + 20 * MIN,
    });
    expect(pair.postgres.machine('E001', 'm0-001')).toMatchObject({ kind: 'cnc', dead: false });
    expect(
      pair.query("SELECT last_birth_at FROM machines WHERE enterprise = 'E001' AND id = 'm0-001'"),
    ).toEqual([{ last_birth_at: T + 20 * MIN }]);

    // The path before, row by row, on the same database: ~3 round trips per machine born.
    const again = rebirth(T + 30 * MIN, (i) => (i % 2 === 0 ? 'idle' : undefined), false);
    const rowByRow = new IngestApplier(pair.postgres.database, pair.postgres.utcOffsetMin, 5 * MIN, true);
    const before = postgresRoundTrips();
    rowByRow.apply(again);
    expect(postgresRoundTrips() - before).toBeGreaterThan(3 * fleet.length);
    pair.sqlite.applyIngest(again);
    expectSameTables();
  });

  it('order-dependent cases in one flush end as row by row does', () => {
    const at = T + 40 * MIN;
    // Each death sends what was held back before it reads; still a few dozen round trips (25
    // here), where the path before took 3,781.
    expect(both(tangled(at))).toBeLessThanOrEqual(40);
    const s = pair.sqlite.applyIngest(tangled(at + MIN));
    const p = pair.postgres.applyIngest(tangled(at + MIN));
    expect(p).toEqual(s);
    expect(p.rowsRefused).toBe(1);
    expect(p.refused?.[0]).toMatchObject({ kind: 'deviceBirth', machine: 'bad-time' });
    expectSameTables();
    const [a, b, c] = fleet;
    // Dead and born again: alive, its first state after the birth opened.
    expect(pair.postgres.machine(a!.enterprise, a!.machine)).toMatchObject({ dead: false, state: 'idle' });
    // Born twice: on the later gateway, with what the earlier birth announced.
    expect(pair.postgres.machine(b!.enterprise, b!.machine)).toMatchObject({
      gateway: 'gw9',
      kind: 'robot',
      dead: false,
    });
    expect(pair.postgres.database.stateSpans.open(b!.enterprise, b!.machine)?.state).toBe('alarm');
    // Born, then dead: offline; its own report after opens nothing.
    expect(pair.postgres.machine(c!.enterprise, c!.machine)?.dead).toBe(true);
    expect(pair.postgres.database.stateSpans.open(c!.enterprise, c!.machine)?.state).toBe('offline');
    expect(pair.postgres.database.stateSpans.open('E003', 'newcomer')).toEqual({
      state: 'running',
      since: at + MIN,
    });
    // A state flush after it all, and a silence longer than the online window, then rebirths.
    both(stateFlush(at + 3 * MIN, (i) => (i % 2 === 0 ? 'alarm' : 'idle')));
    both(rebirth(at + 30 * MIN, (i) => (i % 3 === 0 ? 'running' : undefined)));
  });

  it('a birth that fails in SQL is still refused alone; the other births apply', async () => {
    const { registry: reg, url: own } = await pair.another('poisoned');
    const raw = new PostgresConnection({ url: own, statementTimeoutMs: 30_000, replyTimeoutMs: 60_000 });
    try {
      raw.exec(`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.id = 'm1-005' AND NEW.enterprise = 'E002' THEN RAISE EXCEPTION 'poisoned birth'; END IF;
        RETURN NEW; END $$;
        CREATE TRIGGER poison BEFORE INSERT OR UPDATE OF last_birth_at ON machines FOR EACH ROW EXECUTE FUNCTION poison();`);
      const r = reg.applyIngest(rebirth(T, () => 'running'));
      expect(r.rowsRefused).toBe(1);
      expect(r.refused).toEqual([
        expect.objectContaining({
          kind: 'deviceBirth',
          enterprise: 'E002',
          machine: 'm1-005',
          reason: expect.stringMatching(/poisoned birth/),
        }),
      ]);
      expect(reg.machine('E002', 'm1-005')).toBeUndefined();
      expect(reg.machine('E002', 'm1-006')).toMatchObject({ dead: false, state: 'running' });
      expect(reg.database.stateSpans.open('E002', 'm1-006')).toEqual({ state: 'running', since: T });
    } finally {
      raw.close();
    }
  });
});
