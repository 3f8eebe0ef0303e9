/**
 * The ingest's fast path (apply.ts) on machines, in as few statements as it can: what the
 * births and the state clock read of the batch's machines, read in one statement (`know`), and
 * on PostgreSQL (`hold`) their births (machines.bornMany) and the clock's writes
 * (stateSpans.setOpenMany, addMany) held back and sent in one statement each: before anything
 * that reads or writes what they change (a death, a read the cache cannot answer), and at the
 * end of the pass. A failover's thousands of rebirths then cost a few round trips, not three
 * per machine. Without `hold` and `know` every call writes and reads through, row by row.
 */
import {
  type MachineBirth,
  type MachineIngestState,
  type MachineRepository,
  machineKey,
} from '../database/registry/machines.js';
import type { OpenWrite, SpanAdd, StateSpanRepository } from '../database/registry/state-spans.js';

export class HeldMachineWrites {
  /** The clock's view of the state spans: answered from `known`, written through `held`. */
  readonly spans: StateSpanRepository;
  readonly #machines: MachineRepository;
  readonly #stateSpans: StateSpanRepository;
  /**
   * The machines' state read in one statement (null: no such machine), kept current as the
   * clock moves them and as they are born and die.
   */
  #known: Map<string, MachineIngestState | null> | undefined;
  /**
   * Writes held back, sent by send() in one statement each. Only a machine in `known` has its
   * births and open interval held back (what is read of them is answered there); time counted
   * is a sum, so it waits whatever the machine.
   */
  #held: { born: MachineBirth[]; open: OpenWrite[]; add: SpanAdd[] } | undefined;

  constructor(machines: MachineRepository, stateSpans: StateSpanRepository) {
    this.#machines = machines;
    this.#stateSpans = stateSpans;
    this.spans = {
      open: (enterprise, machine) => {
        const k = this.#known?.get(machineKey(enterprise, machine));
        if (k !== undefined) return k === null ? undefined : k.open;
        this.send();
        return stateSpans.open(enterprise, machine);
      },
      setOpen: (enterprise, machine, state, at) => {
        const key = machineKey(enterprise, machine);
        const k = this.#known?.get(key);
        if (this.#held !== undefined && k != null) this.#held.open.push({ enterprise, machine, state, at });
        else {
          this.send();
          stateSpans.setOpen(enterprise, machine, state, at);
        }
        if (k != null) this.#known?.set(key, { dead: k.dead, open: { state, since: at } });
      },
      add: (enterprise, machine, day, state, ms) => {
        if (this.#held !== undefined) this.#held.add.push({ enterprise, machine, day, state, ms });
        else stateSpans.add(enterprise, machine, day, state, ms);
      },
      setOpenMany: (rows) => {
        this.send();
        stateSpans.setOpenMany(rows);
      },
      addMany: (rows) => {
        this.send();
        stateSpans.addMany(rows);
      },
      silentSince: (before) => {
        this.send();
        return stateSpans.silentSince(before);
      },
      liveOnGateway: (group, edgeNode) => {
        this.send();
        return stateSpans.liveOnGateway(group, edgeNode);
      },
    };
  }

  /** Holds births and the clock's writes back until send() (PostgreSQL's fast pass). */
  hold(): void {
    this.#held = { born: [], open: [], add: [] };
  }

  /** Reads what will be asked of these machines, in one statement. */
  know(keys: readonly { readonly enterprise: string; readonly machine: string }[]): void {
    if (keys.length === 0) return;
    const states = this.#machines.ingestStates(keys);
    this.#known = new Map();
    for (const k of keys) {
      const key = machineKey(k.enterprise, k.machine);
      this.#known.set(key, states.get(key) ?? null);
    }
  }

  /** Reads through again. */
  forget(): void {
    this.#known = undefined;
  }

  /** Sends what is held back: before a statement that may read or write it, and at the end. */
  send(): void {
    if (this.#held === undefined) return;
    const { born, open, add } = this.#held;
    // Births first: the open intervals written next may be those of machines they create.
    if (born.length > 0) this.#machines.bornMany(born.splice(0));
    if (open.length > 0) this.#stateSpans.setOpenMany(open.splice(0));
    if (add.length > 0) this.#stateSpans.addMany(add.splice(0));
  }

  /** The pass is over (sent, or rolled back): nothing held or known outlives it. */
  end(): void {
    this.#held = undefined;
    this.#known = undefined;
  }

  isDead(enterprise: string, machine: string): boolean | undefined {
    const k = this.#known?.get(machineKey(enterprise, machine));
    if (k !== undefined) return k === null ? undefined : k.dead;
    this.send();
    return this.#machines.isDead(enterprise, machine);
  }

  /** A machine the database has just marked dead (after send()). */
  markDead(enterprise: string, machine: string): void {
    const key = machineKey(enterprise, machine);
    const k = this.#known?.get(key);
    if (k != null) this.#known?.set(key, { dead: true, open: k.open });
  }

  /** DBIRTH: held back when the machine is known, which then says it is alive. */
  born(birth: MachineBirth): void {
    const key = machineKey(birth.group, birth.device);
    const k = this.#known?.get(key);
    if (this.#held === undefined || k === undefined) {
      this.send();
      this.#machines.born(birth);
      return;
    }
    this.#held.born.push(birth);
    // Created with no open interval, or alive again with the one it had (born() leaves it).
    this.#known?.set(key, { dead: false, open: k?.open ?? { state: null, since: null } });
  }
}
