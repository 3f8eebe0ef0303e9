/**
 * The time machines spend in each state, as the ingest writes it: each machine's open interval
 * (`machines.since_state` from `since_at`) and the closed spans per local day
 * (`machine_state_time`). hub/registry/state-clock.ts decides what a transition closes and
 * opens; ../state-time.ts is what the statistics read.
 */
import type { SqlConnection, SqlStatement } from '../sql.js';

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

/** Backend-neutral: no driver types in the signatures. */
export interface StateSpanRepository {
  /** The machine's open interval; undefined when there is no such machine. */
  open(enterprise: string, machine: string): OpenInterval | undefined;
  /** Opens the machine's next interval: `state` (null: unknown) from `at`. */
  setOpen(enterprise: string, machine: string, state: string | null, at: number): void;
  /** Adds `ms` in `state` to the machine's local day `day` (`YYYY-MM-DD`). */
  add(enterprise: string, machine: string, day: string, state: string, ms: number): void;
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
