/**
 * Reads of the time machines spent in each state: the closed intervals of `machine_state_time`
 * and each machine's open one (`machines.since_state`/`since_at`). The ingest writes them
 * (hub/registry/state-clock.ts, through registry/state-spans.ts); hub/stats/state-time.ts adds
 * them up.
 */
import type { SqlConnection } from './sql.js';

/** Time one machine spent in one state on one local day (closed intervals only). */
export interface ClosedStateTime {
  readonly enterprise: string;
  readonly machine: string;
  readonly state: string;
  readonly ms: number;
  readonly regionCode: string | null;
}

/** A machine's state now and since when. */
export interface OpenState {
  readonly enterprise: string;
  readonly machine: string;
  readonly state: string;
  /** ms since the epoch */
  readonly since: number;
  readonly dead: boolean;
  readonly lastSeenAt: number | null;
  readonly regionCode: string | null;
}

/** Backend-neutral: no driver types in the signatures. */
export interface StateTimeRepository {
  /** Closed intervals of local day `day` (`YYYY-MM-DD`), of one enterprise or all. */
  closed(day: string, enterprise?: string): ClosedStateTime[];
  /** Machines whose current state began before `before` (ms), of one enterprise or all. */
  open(before: number, enterprise?: string): OpenState[];
}

interface OpenRow {
  enterprise: string;
  id: string;
  since_state: string;
  since_at: number;
  dead: number;
  last_seen_at: number | null;
  region_code: string | null;
}

export class SqliteStateTimeRepository implements StateTimeRepository {
  readonly #db: SqlConnection;

  constructor(db: SqlConnection) {
    this.#db = db;
  }

  closed(day: string, enterprise?: string): ClosedStateTime[] {
    const filter = enterprise === undefined ? '' : 'AND t.enterprise = @enterprise';
    const params = { day, ...(enterprise === undefined ? {} : { enterprise }) };
    return this.#db
      .prepare<
        [typeof params],
        { enterprise: string; machine: string; state: string; ms: number; region_code: string | null }
      >(
        `SELECT t.enterprise, t.machine, t.state, t.ms, e.region_code FROM machine_state_time t
         LEFT JOIN enterprises e ON e.code = t.enterprise WHERE t.day = @day ${filter}`,
      )
      .all(params)
      .map((r) => ({
        enterprise: r.enterprise,
        machine: r.machine,
        state: r.state,
        ms: r.ms,
        regionCode: r.region_code,
      }));
  }

  open(before: number, enterprise?: string): OpenState[] {
    const filter = enterprise === undefined ? '' : 'AND m.enterprise = @enterprise';
    const params = { end: before, ...(enterprise === undefined ? {} : { enterprise }) };
    return this.#db
      .prepare<[typeof params], OpenRow>(
        `SELECT m.enterprise, m.id, m.since_state, m.since_at, m.dead, m.last_seen_at, e.region_code
         FROM machines m LEFT JOIN enterprises e ON e.code = m.enterprise
         WHERE m.since_state IS NOT NULL AND m.since_at < @end ${filter}`,
      )
      .all(params)
      .map((r) => ({
        enterprise: r.enterprise,
        machine: r.id,
        state: r.since_state,
        since: r.since_at,
        dead: r.dead !== 0,
        lastSeenAt: r.last_seen_at,
        regionCode: r.region_code,
      }));
  }
}
