/**
 * Time in each machine state, per machine per local day (DOMAIN.md "Machine states"). Each
 * machine row holds its open interval (since_state from since_at); a transition closes it
 * into machine_state_time, split at local midnights, and opens the next. Runs inside the
 * ingest's transaction, so the accumulators and the machine row never disagree.
 *
 * A transition never goes back in time: a state report older than the open interval is ignored
 * (it came late), and a birth or death is taken at max(its time, since_at), so no interval is
 * negative and no span counts twice.
 */
import type Database from 'better-sqlite3';
import { splitByDay } from './days.js';

interface OpenInterval {
  since_state: string | null;
  since_at: number | null;
}

export type Late = 'clamp' | 'ignore';

export class StateClock {
  readonly #get: Database.Statement<[string, string], OpenInterval>;
  readonly #set: Database.Statement<{
    enterprise: string;
    machine: string;
    state: string | null;
    at: number;
  }>;
  readonly #add: Database.Statement<[string, string, string, string, number]>;
  readonly #onGateway: Database.Statement<[string, string], { id: string }>;
  readonly #offsetMin: number;

  constructor(db: Database.Database, offsetMin: number) {
    this.#offsetMin = offsetMin;
    this.#get = db.prepare('SELECT since_state, since_at FROM machines WHERE enterprise = ? AND id = ?');
    this.#set = db.prepare(
      'UPDATE machines SET since_state = @state, since_at = @at WHERE enterprise = @enterprise AND id = @machine',
    );
    this.#add = db.prepare(
      `INSERT INTO machine_state_time (enterprise, machine, day, state, ms) VALUES (?, ?, ?, ?, ?)
       ON CONFLICT (enterprise, machine, day, state) DO UPDATE SET ms = ms + excluded.ms`,
    );
    this.#onGateway = db.prepare('SELECT id FROM machines WHERE enterprise = ? AND gateway = ? AND dead = 0');
  }

  /**
   * The machine is in `state` from `at` on (`late`: what to do when `at` is before the open
   * interval's start: move it up to that start, or ignore a late state report); null = unknown (born, no state reported yet):
   * no time is counted until a state arrives.
   */
  transition(
    enterprise: string,
    machine: string,
    state: string | null,
    at: number,
    late: Late = 'clamp',
  ): void {
    const cur = this.#get.get(enterprise, machine);
    if (cur === undefined || cur.since_state === state) return;
    // A reported state older than the interval it would close came late: the machine has
    // been in a newer state since. The first state after a birth is taken whatever its time
    // (the gateway's clock and the hub's differ a little).
    if (late === 'ignore' && cur.since_state !== null && cur.since_at !== null && at < cur.since_at) return;
    const t = cur.since_at === null ? at : Math.max(at, cur.since_at);
    if (cur.since_state !== null && cur.since_at !== null) {
      for (const [day, ms] of splitByDay(cur.since_at, t, this.#offsetMin)) {
        this.#add.run(enterprise, machine, day, cur.since_state, ms);
      }
    }
    this.#set.run({ enterprise, machine, state, at: t });
  }

  /** Machines of a gateway that are not dead yet (before an NDEATH marks them dead). */
  liveOnGateway(group: string, edgeNode: string): string[] {
    return this.#onGateway.all(group, edgeNode).map((r) => r.id);
  }
}
