/**
 * The ingest's "last seen" flush on PostgreSQL in a handful of round trips, not one or more per
 * machine (issue 13: at 0.35–1.3 ms per statement through the bridge, a flush of 1,000 machines
 * took 0.35–1.3 s, so a hub worker on PostgreSQL held a few thousand machines). The batched path
 * (machines.seenMany, gateways.seenMany, machines.ingestStates) must leave every row as the
 * per-row statements do: the same batches on a SQLite registry and a PostgreSQL one end in the
 * same tables, edge cases included, and a row that fails in SQL is still refused alone.
 */
import { expect, it } from 'vitest';
import { PostgresConnection } from '../../hub/database/postgres/connection.js';
import { postgresRoundTrips } from '../../hub/database/postgres/sync-client.js';
import { IngestApplier } from '../../hub/registry/apply.js';
import type { DeviceActivity, IngestBatch, RegistryEvent } from '../../hub/registry/types.js';
import { describeWithPostgres } from '../support/postgres.js';
import { registryPair } from '../support/registry-pair.js';

const T = 1_800_000_000_000;
const MIN = 60_000;
const ENTERPRISES = ['E001', 'E002', 'E003', 'E004'];
const GATEWAYS_PER_ENTERPRISE = 5;
const MACHINES_PER_GATEWAY = 100;

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

/** Every gateway and machine born at T, each in state running. */
const births: IngestBatch = {
  events: [
    ...ENTERPRISES.flatMap((group) =>
      Array.from(
        { length: GATEWAYS_PER_ENTERPRISE },
        (_g, g): RegistryEvent => ({
          type: 'nodeBirth',
          group,
          edgeNode: `gw${g}`,
          bdSeq: 0,
          at: T,
        }),
      ),
    ),
    ...fleet.map(
      (f): RegistryEvent => ({
        type: 'deviceBirth',
        group: f.enterprise,
        edgeNode: f.gateway,
        device: f.machine,
        at: T,
        properties: { kind: 'cnc', nc: true },
      }),
    ),
  ],
  devices: fleet.map((f) => ({ ...f, seenAt: T, state: 'running', stateAt: T })),
  gateways: [],
};

/**
 * A flush of every machine, with the edge cases the batched statement must merge as the per-row
 * one applies them: a machine twice (the later row older, with a newer sample, on another
 * gateway), two state reports out of order, two stamped alike, a state older than the
 * machine's, a new state for some, a machine nobody announced, a gateway twice (older last).
 */
function flush(at: number): IngestBatch {
  const [a, b, c, d] = fleet;
  const devices: DeviceActivity[] = fleet.map((f, i) => ({
    ...f,
    seenAt: at,
    sampleAt: at - 500,
    ...(i % 7 === 0 ? { state: 'idle', stateAt: at - 10_000 } : {}),
    ...(i % 11 === 0 ? { state: 'running', stateAt: at - 20_000 } : {}),
  }));
  devices.push(
    { ...a!, gateway: 'gw4', seenAt: at - 30_000, sampleAt: at },
    { ...b!, seenAt: at - 1, state: 'alarm', stateAt: at - 1_000 },
    { ...b!, seenAt: at - 2, state: 'idle', stateAt: at - 2_000 },
    { ...c!, seenAt: at, state: 'alarm', stateAt: at - 3_000 },
    { ...c!, seenAt: at, state: 'powered_off', stateAt: at - 3_000 },
    { ...d!, seenAt: at, state: 'alarm', stateAt: T - 1 },
    { enterprise: 'E001', gateway: 'gw0', machine: 'nobody', seenAt: at, state: 'idle', stateAt: at },
  );
  return {
    events: [],
    devices,
    gateways: [
      ...ENTERPRISES.flatMap((group) =>
        Array.from({ length: GATEWAYS_PER_ENTERPRISE }, (_g, g) => ({
          group,
          edgeNode: `gw${g}`,
          seenAt: at,
        })),
      ),
      { group: 'E001', edgeNode: 'gw0', seenAt: at - 5_000 },
    ],
  };
}

/**
 * Later: a DDEATH and the dead machine's own last report in the same batch; a machine born
 * again with its first state; after a silence longer than the online window, the rest heard
 * again (so the clock counts offline time) with new states for some.
 */
function afterSilence(at: number): IngestBatch {
  const [, b, , d] = fleet;
  return {
    events: [
      { type: 'deviceDeath', group: d!.enterprise, edgeNode: d!.gateway, device: d!.machine, at: at - 100 },
      {
        type: 'deviceBirth',
        group: b!.enterprise,
        edgeNode: b!.gateway,
        device: b!.machine,
        at: at - 50,
        properties: {},
      },
    ],
    devices: fleet.map((f, i) => ({
      ...f,
      seenAt: at,
      sampleAt: at,
      ...(i % 3 === 0 ? { state: 'alarm', stateAt: at - 200 } : {}),
    })),
    gateways: [],
  };
}

describeWithPostgres('the "last seen" flush on PostgreSQL, batched', () => {
  const pair = registryPair(T);
  const { onPostgres, expectSameTables } = pair;

  it('ends in the same tables as SQLite, flush after flush, edge cases included', () => {
    const batches = [births, flush(T + MIN), flush(T + 2 * MIN), afterSilence(T + 20 * MIN)];
    const [a, b, c, d] = fleet;
    const machine = (f: Fleet | undefined) => pair.postgres.machine(f!.enterprise, f!.machine);
    for (const [i, batch] of batches.entries()) {
      const s = pair.sqlite.applyIngest(batch);
      const p = pair.postgres.applyIngest(batch);
      expect(p).toEqual(s);
      expect(s.rowsRefused).toBeUndefined();
      expectSameTables();
      if (i !== 1) continue;
      // The edge cases did what the per-row statement does, not merely the same on both engines:
      // the later row, though older, names the gateway and brings the newer sample; of two
      // states out of order the newer stays; of two stamped alike the later; an older state is
      // ignored; a machine nobody announced is not created; a gateway's older time is ignored.
      expect(machine(a)).toMatchObject({ gateway: 'gw4', lastSeenAt: T + MIN, lastSampleAt: T + MIN });
      expect(machine(a)?.state).toBe('running');
      expect(machine(b)).toMatchObject({ state: 'alarm', lastSeenAt: T + MIN, lastSampleAt: T + MIN - 500 });
      expect(machine(c)?.state).toBe('powered_off');
      expect(machine(d)?.state).toBe('running');
      expect(onPostgres('machines').filter((r) => r.id === 'nobody')).toEqual([]);
      expect(pair.postgres.gateway('E001', 'gw0')?.lastSeenAt).toBe(T + MIN);
    }
    // Its own report after its death in the same batch: written, but its state opens nothing
    // (offline from the death on); the machine born again waits for its first state.
    expect(machine(d)).toMatchObject({ dead: true, state: 'alarm', lastSeenAt: T + 20 * MIN });
    expect(pair.postgres.database.stateSpans.open(d!.enterprise, d!.machine)?.state).toBe('offline');
    expect(pair.postgres.database.stateSpans.open(b!.enterprise, b!.machine)?.state).toBeNull();
  });

  it('a flush of 2,000 machines is a handful of round trips, not one per machine', () => {
    // Heard again, every machine reporting the state it is in: the clock reads each, changes none.
    const at = T + 21 * MIN;
    const batch: IngestBatch = {
      events: [],
      devices: fleet.map((f) => ({ ...f, seenAt: at, sampleAt: at, state: 'alarm', stateAt: at - 100 })),
      gateways: ENTERPRISES.flatMap((group) =>
        Array.from({ length: GATEWAYS_PER_ENTERPRISE }, (_g, g) => ({
          group,
          edgeNode: `gw${g}`,
          seenAt: at,
        })),
      ),
    };
    const before = postgresRoundTrips();
    const r = pair.postgres.applyIngest(batch);
    const trips = postgresRoundTrips() - before;
    expect(r.rowsRefused).toBeUndefined();
    pair.sqlite.applyIngest(batch);
    expectSameTables();
    // BEGIN, the silent machines, the machines' states (dead, open interval), the machines'
    // write, the gateways', COMMIT; and each machine not yet in alarm moves its clock (its
    // interval counted, the next opened: two statements). Row by row it was 3 per machine more.
    const changing = fleet.filter((_f, i) => i % 3 !== 0).length;
    expect(trips).toBeLessThanOrEqual(6 + 2 * changing);
    const quiet: IngestBatch = {
      events: [],
      devices: fleet.map((f) => ({
        ...f,
        seenAt: at + 1_000,
        sampleAt: at + 1_000,
        state: 'alarm',
        stateAt: at,
      })),
      gateways: batch.gateways.map((g) => ({ ...g, seenAt: at + 1_000 })),
    };
    const before2 = postgresRoundTrips();
    pair.postgres.applyIngest(quiet);
    // Every machine heard, none changing state: six round trips for 2,000 machines.
    expect(postgresRoundTrips() - before2).toBe(6);
    pair.sqlite.applyIngest(quiet);
    expectSameTables();
    // The path before, row by row, on the same database: its "last seen", dead and open
    // interval per machine, three round trips each; the same tables.
    const later: IngestBatch = {
      events: [],
      devices: quiet.devices.map((x) => ({ ...x, seenAt: at + 2_000, sampleAt: at + 2_000 })),
      gateways: quiet.gateways.map((g) => ({ ...g, seenAt: at + 2_000 })),
    };
    const rowByRow = new IngestApplier(pair.postgres.database, pair.postgres.utcOffsetMin, 5 * MIN, true);
    const before3 = postgresRoundTrips();
    rowByRow.apply(later);
    expect(postgresRoundTrips() - before3).toBeGreaterThan(3 * fleet.length);
    pair.sqlite.applyIngest(later);
    expectSameTables();
  });

  it('a row that fails in SQL is still refused alone; the rest of the flush applies', async () => {
    const { registry: reg, url: own } = await pair.another('poisoned');
    const raw = new PostgresConnection({ url: own, statementTimeoutMs: 30_000, replyTimeoutMs: 60_000 });
    try {
      reg.applyIngest(births);
      // A failure only SQL sees: any change to one machine's "last seen" aborts.
      raw.exec(`CREATE FUNCTION poison() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN IF NEW.id = 'm1-005' AND NEW.enterprise = 'E002' THEN RAISE EXCEPTION 'poisoned row'; END IF;
        RETURN NEW; END $$;
        CREATE TRIGGER poison BEFORE UPDATE OF last_seen_at ON machines FOR EACH ROW EXECUTE FUNCTION poison();`);
      const at = T + MIN;
      const r = reg.applyIngest(flush(at));
      expect(r.rowsRefused).toBe(1);
      expect(r.refused).toEqual([
        expect.objectContaining({
          kind: 'deviceActivity',
          enterprise: 'E002',
          machine: 'm1-005',
          reason: expect.stringMatching(/poisoned row/),
        }),
      ]);
      expect(reg.machine('E002', 'm1-005')?.lastSeenAt).toBe(T);
      expect(reg.machine('E002', 'm1-006')?.lastSeenAt).toBe(at);
      expect(reg.gateway('E002', 'gw1')?.lastSeenAt).toBe(at);
    } finally {
      raw.close();
    }
  });
});
