/**
 * Time in each machine state, per machine per local day (docs/domain.md, "Machine states"). Each
 * machine row holds its open interval (since_state from since_at); a transition closes it
 * into machine_state_time, split at local midnights, and opens the next. Runs inside the
 * ingest's transaction, so the accumulators and the machine row never disagree.
 *
 * A transition never goes back in time: a state report older than the open interval is ignored
 * (it came late), and a birth or death is taken at max(its time, since_at), so no interval is
 * negative and no span counts twice.
 *
 * A machine heard again after a silence longer than the online window, with no death
 * certificate in between (a hub restart, a broken link), was offline from the last time it was
 * heard: resume() counts that gap as offline rather than as the state it was in before.
 *
 * Bounded by construction: a time that is not a day time (NaN, Infinity, 8.64e15) is refused
 * with WANJI_E_REGISTRY_ROW before it reaches SQL, and an interval longer than MAX_SPLIT_DAYS
 * is counted for its last MAX_SPLIT_DAYS only (`spansClamped`), never looped day by day.
 */
import type { StateSpanRepository } from '../database/registry/state-spans.js';
import { HubError } from '../errors.js';
import { isDayTime, MAX_DAY_TIME_MS, splitDays } from './days.js';

export type Late = 'clamp' | 'ignore';

export class StateClock {
  readonly #spans: StateSpanRepository;
  readonly #offsetMin: number;
  readonly silenceMs: number;
  /** Intervals longer than MAX_SPLIT_DAYS, counted for their last MAX_SPLIT_DAYS only. */
  spansClamped = 0;

  constructor(spans: StateSpanRepository, offsetMin: number, silenceMs: number) {
    this.#spans = spans;
    this.#offsetMin = offsetMin;
    this.silenceMs = silenceMs;
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
    checkTime('state change', enterprise, machine, at);
    const cur = this.#spans.open(enterprise, machine);
    if (cur === undefined || cur.state === state) return;
    // A reported state older than the interval it would close came late: the machine has
    // been in a newer state since. The first state after a birth is taken whatever its time
    // (the gateway's clock and the hub's differ a little).
    if (late === 'ignore' && cur.state !== null && cur.since !== null && at < cur.since) return;
    const t = cur.since === null ? at : Math.max(at, cur.since);
    if (cur.state !== null && cur.since !== null) {
      this.#count(enterprise, machine, cur.state, cur.since, t);
    }
    this.#spans.setOpen(enterprise, machine, state, t);
  }

  /**
   * Machines in a known state, not dead, last heard before `before`, by "enterprise\0id":
   * those a report now may find silent. One query per ingest batch, not one per machine.
   */
  silentSince(before: number): Map<string, number> {
    return new Map(
      this.#spans.silentSince(before).map((r) => [`${r.enterprise}\u0000${r.id}`, r.lastSeenAt]),
    );
  }

  /**
   * The machine, silent since `lastSeen`, is heard again at `at` (hub time), possibly with a
   * new `state` reported at `stateAt`: its state until `lastSeen`, offline from then until it
   * came back, then `state` (or the state it had).
   */
  resume(
    enterprise: string,
    machine: string,
    lastSeen: number,
    at: number,
    state?: string,
    stateAt?: number,
  ): void {
    checkTime('resume', enterprise, machine, lastSeen);
    checkTime('resume', enterprise, machine, at);
    if (stateAt !== undefined) checkTime('resume', enterprise, machine, stateAt);
    const cur = this.#spans.open(enterprise, machine);
    if (cur?.state == null || cur.state === 'offline' || cur.since === null) return;
    const from = Math.max(cur.since, Math.min(lastSeen, at));
    const back = state === undefined ? at : Math.min(at, Math.max(from, stateAt ?? at));
    this.#count(enterprise, machine, cur.state, cur.since, from);
    this.#count(enterprise, machine, 'offline', from, back);
    this.#spans.setOpen(enterprise, machine, state ?? cur.state, back);
  }

  #count(enterprise: string, machine: string, state: string, from: number, to: number): void {
    const { parts, droppedMs } = splitDays(from, to, this.#offsetMin);
    if (droppedMs > 0) this.spansClamped++;
    for (const [day, ms] of parts) this.#spans.add(enterprise, machine, day, state, ms);
  }

  /** Machines of a gateway that are not dead yet (before an NDEATH marks them dead). */
  liveOnGateway(group: string, edgeNode: string): string[] {
    return this.#spans.liveOnGateway(group, edgeNode);
  }
}

function checkTime(what: string, enterprise: string, machine: string, at: number): void {
  if (isDayTime(at)) return;
  throw new HubError(
    'WANJI_E_REGISTRY_ROW',
    `${what} of ${enterprise}/${machine} at ${at} is not a time the state clock can count (want ms since the epoch, 0 to ${MAX_DAY_TIME_MS})`,
  );
}
