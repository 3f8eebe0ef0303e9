/**
 * Registry news between two flushes: events in order, "last seen" coalesced per machine and
 * per gateway, so 10,000 machines at 1 Hz cost a few thousand row updates per flush, not a
 * transaction per message. Bounded by the number of machines and gateways.
 *
 * A machine's row that only moves its last-seen and last-sample times may be held over several
 * flushes (take(false)): it merges with what follows, and the machine's row is written once per
 * `lastSeenIntervalMs` (ingest.ts), not once per flush. A row with a state, of a machine born
 * since the last take, or with a born machine's first sample always goes at the next flush:
 * what the statistics count from a birth, a first sample (networked) or a state does not wait.
 */
import type { DeviceActivity, GatewayActivity, IngestBatch, RegistryEvent } from '../registry/types.js';
import { inner } from '../util/maps.js';

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** Adds `b`'s news to `a`, in place: the latest seen and sample times, the newer state. */
function mergeInto(a: Mutable<DeviceActivity>, b: DeviceActivity): void {
  a.gateway = b.gateway;
  if (b.seenAt > a.seenAt) a.seenAt = b.seenAt;
  if (b.sampleAt !== undefined && (a.sampleAt === undefined || b.sampleAt > a.sampleAt)) {
    a.sampleAt = b.sampleAt;
  }
  if (
    b.state !== undefined &&
    (a.state === undefined ||
      (b.stateAt ?? Number.NEGATIVE_INFINITY) >= (a.stateAt ?? Number.NEGATIVE_INFINITY))
  ) {
    a.state = b.state;
    if (b.stateAt === undefined) delete a.stateAt;
    else a.stateAt = b.stateAt;
  }
}

/** Adds `value` to the set of `outer` under `key`. */
function addTo(outer: Map<string, Set<string>>, key: string, value: string): void {
  let set = outer.get(key);
  if (set === undefined) {
    set = new Set();
    outer.set(key, set);
  }
  set.add(value);
}

export class RegistryBatch {
  #events: RegistryEvent[] = [];
  /**
   * By enterprise, then machine: no key string built per message. The rows are the batch's
   * own (a copy of a machine's first activity, merged into after): the caller's are never changed.
   */
  #devices = new Map<string, Map<string, Mutable<DeviceActivity>>>();
  /** By group, then edge node (no key string built per message). */
  #gateways = new Map<string, Map<string, GatewayActivity>>();
  /**
   * The machines whose rows take(false) takes, by enterprise: those with a state, and those
   * born since the last take (a birth's row may come after it, or have been held before it).
   */
  #prompt = new Map<string, Set<string>>();
  /**
   * Machines born and not yet heard with a sample, by enterprise: their first sample (from which
   * they count as networked) goes at the next take too, whenever it comes. Each machine at most
   * once: bounded by the fleet.
   */
  readonly #awaitingSample = new Map<string, Set<string>>();

  get empty(): boolean {
    return this.#events.length === 0 && this.#devices.size === 0 && this.#gateways.size === 0;
  }

  /** Whether there is news that take(false) would not hold back. */
  get due(): boolean {
    return this.#events.length > 0 || this.#gateways.size > 0 || this.#prompt.size > 0;
  }

  event(e: RegistryEvent): void {
    this.#events.push(e);
    if (e.type !== 'deviceBirth') return;
    addTo(this.#prompt, e.group, e.device);
    addTo(this.#awaitingSample, e.group, e.device);
  }

  device(a: DeviceActivity): void {
    if (a.state !== undefined) addTo(this.#prompt, a.enterprise, a.machine);
    if (a.sampleAt !== undefined && this.#awaitingSample.size > 0) {
      const awaiting = this.#awaitingSample.get(a.enterprise);
      if (awaiting?.delete(a.machine) === true) {
        addTo(this.#prompt, a.enterprise, a.machine);
        if (awaiting.size === 0) this.#awaitingSample.delete(a.enterprise);
      }
    }
    const machines = inner(this.#devices, a.enterprise);
    const row = machines.get(a.machine);
    if (row === undefined) machines.set(a.machine, { ...a });
    else mergeInto(row, a);
  }

  gateway(a: GatewayActivity): void {
    const nodes = inner(this.#gateways, a.group);
    const prev = nodes.get(a.edgeNode);
    if (prev === undefined || prev.seenAt < a.seenAt) nodes.set(a.edgeNode, a);
  }

  /**
   * The news gathered so far, and a fresh start. `all` false: machine rows that only move their
   * times stay for a later take (merged with what comes meanwhile).
   */
  take(all = true): IngestBatch {
    let devices: DeviceActivity[];
    if (all) {
      devices = [...this.#devices.values()].flatMap((machines) => [...machines.values()]);
      this.#devices = new Map();
    } else {
      devices = [];
      for (const [enterprise, prompt] of this.#prompt) {
        const machines = this.#devices.get(enterprise);
        if (machines === undefined) continue;
        for (const machine of prompt) {
          const row = machines.get(machine);
          if (row === undefined) continue;
          devices.push(row);
          machines.delete(machine);
        }
        if (machines.size === 0) this.#devices.delete(enterprise);
      }
    }
    const gateways = [...this.#gateways.values()].flatMap((nodes) => [...nodes.values()]);
    const batch = { events: this.#events, devices, gateways };
    this.#events = [];
    this.#gateways = new Map();
    this.#prompt = new Map();
    return batch;
  }
}
