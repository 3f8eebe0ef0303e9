/**
 * The ingest's "last seen" flush on SQLite in one statement (machines.seenMany: the rows as one
 * JSON array), not one bound statement per machine: it must leave every machine as seen() row by
 * row does, with machines repeated in a batch, states stamped out of order, rows without a
 * sample or a state, a machine moving gateway, and a row for a machine that does not exist.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HubDatabase, rawSqliteForTests } from '../../hub/database/database.js';
import type { MachineSeen } from '../../hub/database/registry/machines.js';
import { tempDir } from './helpers.js';

const T = 1_800_000_000_000;
const MACHINES = 50;

function bornFleet(db: HubDatabase): void {
  db.transaction(() => {
    for (const gw of ['gw1', 'gw2']) db.gateways.born({ group: 'acme', edgeNode: gw, bdSeq: 0, at: T });
    for (let i = 0; i < MACHINES; i++) {
      db.machines.born({
        group: 'acme',
        edgeNode: 'gw1',
        device: `m${i}`,
        at: T,
        kind: 'cnc',
        nc: 1,
        robot: 0,
        dataDepth: null,
      });
    }
  });
}

/** Batches with repeats and out-of-order times, from a fixed seed. */
function batches(): MachineSeen[][] {
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return (seed >>> 8) % n;
  };
  const states = ['running', 'idle', 'alarm', null];
  return Array.from({ length: 20 }, (_b, b) =>
    Array.from({ length: 120 }, (): MachineSeen => {
      const at = T + b * 1_000 + rnd(3_000) - 1_500;
      const state = states[rnd(states.length)]!;
      return {
        enterprise: 'acme',
        machine: rnd(10) === 0 ? 'ghost' : `m${rnd(MACHINES)}`,
        gateway: rnd(5) === 0 ? 'gw2' : 'gw1',
        seenAt: at,
        sampleAt: rnd(4) === 0 ? null : at - rnd(500),
        state,
        stateAt: state === null ? at : at - rnd(2_000),
      };
    }),
  );
}

const machinesTable = (db: HubDatabase): unknown[] =>
  rawSqliteForTests(db)
    .prepare(
      'SELECT enterprise, id, gateway, last_seen_at, last_sample_at, state, state_at FROM machines ORDER BY enterprise, id',
    )
    .all();

describe('machines.seenMany on SQLite', () => {
  it('leaves every machine as seen() row by row does', () => {
    const dir = tempDir();
    const one = HubDatabase.open(join(dir.path, 'one.db'));
    const many = HubDatabase.open(join(dir.path, 'many.db'));
    try {
      bornFleet(one);
      bornFleet(many);
      for (const batch of batches()) {
        one.transaction(() => {
          for (const r of batch) one.machines.seen(r);
        });
        many.transaction(() => many.machines.seenMany(batch));
        expect(machinesTable(many)).toEqual(machinesTable(one));
      }
      const rows = machinesTable(many) as { gateway: string; state: string | null }[];
      // The batches did move machines and set states (the comparison is not of two empty tables).
      expect(rows.some((r) => r.gateway === 'gw2')).toBe(true);
      expect(new Set(rows.map((r) => r.state)).size).toBeGreaterThan(2);
    } finally {
      one.close();
      many.close();
      dir.remove();
    }
  });
});
