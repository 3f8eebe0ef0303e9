/**
 * machines.seen() on SQLite: a row for a machine still on the row's gateway takes the statement
 * that leaves `gateway` alone; one from another gateway moves the machine. Either way the times
 * never go back and a state applies only when stamped at or after the one held.
 */
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { HubDatabase, rawSqliteForTests } from '../../hub/database/database.js';
import type { MachineSeen } from '../../hub/database/registry/machines.js';
import { tempDir } from './helpers.js';

const T = 1_800_000_000_000;

describe('machines.seen on SQLite', () => {
  it('updates a machine on its gateway, moves it to another, and never goes back in time', () => {
    const dir = tempDir();
    const db = HubDatabase.open(join(dir.path, 'hub.db'));
    const row = () =>
      rawSqliteForTests(db)
        .prepare(
          "SELECT gateway, last_seen_at, last_sample_at, state, state_at FROM machines WHERE enterprise = 'acme' AND id = 'm1'",
        )
        .get();
    const seen = (r: Partial<MachineSeen>): void =>
      db.machines.seen({
        enterprise: 'acme',
        machine: 'm1',
        gateway: 'gw1',
        seenAt: T,
        sampleAt: null,
        state: null,
        stateAt: T,
        ...r,
      });
    try {
      for (const gw of ['gw1', 'gw2']) db.gateways.born({ group: 'acme', edgeNode: gw, bdSeq: 0, at: T });
      db.machines.born({
        group: 'acme',
        edgeNode: 'gw1',
        device: 'm1',
        at: T,
        kind: 'cnc',
        nc: 1,
        robot: 0,
        dataDepth: null,
      });
      seen({ seenAt: T + 1000, sampleAt: T + 900, state: 'running', stateAt: T + 800 });
      expect(row()).toEqual({
        gateway: 'gw1',
        last_seen_at: T + 1000,
        last_sample_at: T + 900,
        state: 'running',
        state_at: T + 800,
      });
      // Older times and an older state change nothing but what is newer.
      seen({ seenAt: T + 500, sampleAt: T + 400, state: 'idle', stateAt: T + 700 });
      expect(row()).toMatchObject({ last_seen_at: T + 1000, last_sample_at: T + 900, state: 'running' });
      // Heard from another gateway: moved there, with the same rules for the times.
      seen({ gateway: 'gw2', seenAt: T + 2000, sampleAt: null, state: 'alarm', stateAt: T + 2000 });
      expect(row()).toEqual({
        gateway: 'gw2',
        last_seen_at: T + 2000,
        last_sample_at: T + 900,
        state: 'alarm',
        state_at: T + 2000,
      });
      seen({ gateway: 'gw2', seenAt: T + 3000, sampleAt: T + 3000 });
      expect(row()).toMatchObject({ gateway: 'gw2', last_seen_at: T + 3000, last_sample_at: T + 3000 });
      // A machine nobody announced: nothing written, nothing thrown.
      db.machines.seen({
        enterprise: 'acme',
        machine: 'ghost',
        gateway: 'gw1',
        seenAt: T,
        sampleAt: T,
        state: null,
        stateAt: T,
      });
      expect(db.machines.byId('acme', 'ghost')).toBeUndefined();
    } finally {
      db.close();
      dir.remove();
    }
  });
});
