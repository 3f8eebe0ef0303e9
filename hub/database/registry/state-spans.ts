/**
 * The time machines spend in each state, as the ingest writes it: each machine's open interval
 * (`machines.since_state` from `since_at`) and the closed spans per local day
 * (`machine_state_time`). hub/registry/state-clock.ts decides what a transition closes and
 * opens; ../state-time.ts is what the statistics read.
 */
import { type Columns, columnChunks, type SqlConnection, type SqlStatement } from '../sql.js';

/** A machine's open interval: its state since when (both null before it reports a state). */
export interface OpenInterval {
  readonly state: string | null;
  readonly since: number | null;
}

/** A machine last heard at `lastSeenAt` (ms). */
export interface HeardMachine {
  readonly enterprise: string;
  readonly id: string;
  readonly lastSeenAt: number;
}

/** A machine's next open interval, as setOpen() writes it. */
export interface OpenWrite {
  readonly enterprise: string;
  readonly machine: string;
  readonly state: string | null;
  readonly at: number;
}

/** Time in a state on a machine's local day, as add() writes it. */
export interface SpanAdd {
  readonly enterprise: string;
  readonly machine: string;
  readonly day: string;
  readonly state: string;
  readonly ms: number;
}

/** Backend-neutral: no driver types in the signatures. */
export interface StateSpanRepository {
  /** The machine's open interval; undefined when there is no such machine. */
  open(enterprise: string, machine: string): OpenInterval | undefined;
  /** Opens the machine's next interval: `state` (null: unknown) from `at`. */
  setOpen(enterprise: string, machine: string, state: string | null, at: number): void;
  /** Adds `ms` in `state` to the machine's local day `day` (`YYYY-MM-DD`). */
  add(enterprise: string, machine: string, day: string, state: string, ms: number): void;
  /**
   * setOpen() for each row, with the same result as in order (of a machine's rows, the last
   * stays). On PostgreSQL one statement per UNNEST_CHUNK (sql.ts) machines; on SQLite per row.
   */
  setOpenMany(rows: readonly OpenWrite[]): void;
  /**
   * add() for each row (a sum: order does not matter). On PostgreSQL one statement per
   * UNNEST_CHUNK (machine, day, state); on SQLite per row.
   */
  addMany(rows: readonly SpanAdd[]): void;
  /** Machines in a known state other than offline, not dead, last heard before `before`. */
  silentSince(before: number): HeardMachine[];
  /** Ids of the machines of a gateway that are not dead. */
  liveOnGateway(group: string, edgeNode: string): string[];
}

export class SqliteStateSpanRepository implements StateSpanRepository {
  readonly #open: SqlStatement<[string, string], { since_state: string | null; since_at: number | null }>;
  readonly #setOpen: SqlStatement<
    [{ enterprise: string; machine: string; state: string | null; at: number }]
  >;
  readonly #add: SqlStatement<[string, string, string, string, number]>;
  readonly #silent: SqlStatement<[number], { enterprise: string; id: string; last_seen_at: number }>;
  readonly #onGateway: SqlStatement<[string, string], { id: string }>;
  /** PostgreSQL only: setOpen() and add() for many rows, one array per column (unnest). */
  readonly #setOpenMany: SqlStatement<[OpenColumns]> | undefined;
  readonly #addMany: SqlStatement<[AddColumns]> | undefined;

  constructor(db: SqlConnection) {
    this.#silent = db.prepare(
      `SELECT enterprise, id, last_seen_at FROM machines
       WHERE dead = 0 AND since_state IS NOT NULL AND since_state <> 'offline' AND last_seen_at < ?`,
    );
    this.#open = db.prepare('SELECT since_state, since_at FROM machines WHERE enterprise = ? AND id = ?');
    this.#setOpen = db.prepare(
      'UPDATE machines SET since_state = @state, since_at = @at WHERE enterprise = @enterprise AND id = @machine',
    );
    this.#add = db.prepare(
      `INSERT INTO machine_state_time (enterprise, machine, day, state, ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (enterprise, machine, day, state) DO UPDATE SET ms = machine_state_time.ms + excluded.ms`,
    );
    this.#onGateway = db.prepare('SELECT id FROM machines WHERE enterprise = ? AND gateway = ? AND dead = 0');
    if (db.dialect === 'postgres') {
      // The same as #setOpen and #add, from one row of arrays; an UPDATE … FROM and an INSERT …
      // ON CONFLICT change each row once, so the rows are merged first.
      this.#setOpenMany = db.prepare(
        `UPDATE machines AS m SET since_state = s.state, since_at = s.at
         FROM unnest(@enterprise::text[], @machine::text[], @state::text[], @at::bigint[])
           AS s(enterprise, id, state, at)
         WHERE m.enterprise = s.enterprise AND m.id = s.id`,
      );
      this.#addMany = db.prepare(
        `INSERT INTO machine_state_time (enterprise, machine, day, state, ms)
         SELECT * FROM unnest(@enterprise::text[], @machine::text[], @day::text[], @state::text[], @ms::bigint[])
         ON CONFLICT (enterprise, machine, day, state) DO UPDATE SET ms = machine_state_time.ms + excluded.ms`,
      );
    }
  }

  setOpenMany(rows: readonly OpenWrite[]): void {
    if (this.#setOpenMany === undefined) {
      for (const r of rows) this.#setOpen.run(r);
      return;
    }
    const last = new Map<string, OpenWrite>();
    for (const r of rows) {
      const key = `${r.enterprise}\u0000${r.machine}`;
      last.delete(key);
      last.set(key, r);
    }
    for (const c of columnChunks([...last.values()], OPEN_COLUMNS)) this.#setOpenMany.run(c);
  }

  addMany(rows: readonly SpanAdd[]): void {
    if (this.#addMany === undefined) {
      for (const r of rows) this.#add.run(r.enterprise, r.machine, r.day, r.state, r.ms);
      return;
    }
    const sums = new Map<string, { -readonly [K in keyof SpanAdd]: SpanAdd[K] }>();
    for (const r of rows) {
      const key = `${r.enterprise}\u0000${r.machine}\u0000${r.day}\u0000${r.state}`;
      const s = sums.get(key);
      if (s === undefined) sums.set(key, { ...r });
      else s.ms += r.ms;
    }
    for (const c of columnChunks([...sums.values()], ADD_COLUMNS)) this.#addMany.run(c);
  }

  open(enterprise: string, machine: string): OpenInterval | undefined {
    const r = this.#open.get(enterprise, machine);
    return r === undefined ? undefined : { state: r.since_state, since: r.since_at };
  }

  setOpen(enterprise: string, machine: string, state: string | null, at: number): void {
    this.#setOpen.run({ enterprise, machine, state, at });
  }

  add(enterprise: string, machine: string, day: string, state: string, ms: number): void {
    this.#add.run(enterprise, machine, day, state, ms);
  }

  silentSince(before: number): HeardMachine[] {
    return this.#silent
      .all(before)
      .map((r) => ({ enterprise: r.enterprise, id: r.id, lastSeenAt: r.last_seen_at }));
  }

  liveOnGateway(group: string, edgeNode: string): string[] {
    return this.#onGateway.all(group, edgeNode).map((r) => r.id);
  }
}

/** An open interval's fields in setOpenMany()'s statement, in its unnest() order. */
const OPEN_COLUMNS = ['enterprise', 'machine', 'state', 'at'] as const;
type OpenColumns = Columns<OpenWrite, (typeof OPEN_COLUMNS)[number]>;

/** A span's fields in addMany()'s statement, in its unnest() order. */
const ADD_COLUMNS = ['enterprise', 'machine', 'day', 'state', 'ms'] as const;
type AddColumns = Columns<SpanAdd, (typeof ADD_COLUMNS)[number]>;
