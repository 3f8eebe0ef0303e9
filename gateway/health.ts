/**
 * How each machine's link is doing, as the gateway sees it: its health (online, degraded,
 * offline), why it last changed, and counters of what its driver delivered. Published as the
 * gateway's `Devices/<machineId>/*` node metrics.
 *
 * A driver that reports health itself (`DriverSink.onMachineHealth`) is believed; for one that
 * only reports online/offline, the health follows that.
 */

import type { Clock } from '../protocol/clock.js';
import type { DeviceHealth } from '../protocol/index.js';
import type { MachineConfig } from './config/schema.js';
import type { MachineStatus, TagSample } from './southbound/types.js';

export interface DeviceHealthView {
  readonly health: DeviceHealth;
  readonly reason: string;
  /** When the health last changed (ms). */
  readonly since: number;
  readonly connection: string;
  readonly samples: number;
  readonly badSamples: number;
  readonly outages: number;
}

interface Entry {
  health: DeviceHealth;
  reason: string;
  since: number;
  connection: string;
  samples: number;
  badSamples: number;
  outages: number;
  /** The driver reports health itself; online/offline status then only says offline. */
  explicit: boolean;
}

export class DeviceHealthTracker {
  readonly #clock: Clock;
  readonly #entries = new Map<string, Entry>();

  constructor(machines: readonly MachineConfig[], clock: Clock) {
    this.#clock = clock;
    this.setMachines(machines);
  }

  /** Follows a reloaded machine list: new machines start offline, removed ones are forgotten. */
  setMachines(machines: readonly MachineConfig[]): void {
    const ids = new Set(machines.map((m) => m.id));
    for (const id of this.#entries.keys()) if (!ids.has(id)) this.#entries.delete(id);
    for (const m of machines) {
      const e = this.#entries.get(m.id);
      if (e !== undefined) {
        e.connection = m.connection;
        continue;
      }
      this.#entries.set(m.id, {
        health: 'offline',
        reason: 'not read yet',
        since: this.#clock.now(),
        connection: m.connection,
        samples: 0,
        badSamples: 0,
        outages: 0,
        explicit: false,
      });
    }
  }

  onSample(s: TagSample): void {
    const e = this.#entries.get(s.machineId);
    if (e === undefined) return;
    e.samples++;
    if (s.quality === 'bad') e.badSamples++;
  }

  onMachineStatus(machineId: string, status: MachineStatus, reason: string): void {
    const e = this.#entries.get(machineId);
    if (e === undefined) return;
    if (status === 'offline') this.#set(e, 'offline', reason);
    else if (!e.explicit) this.#set(e, 'online', reason);
  }

  onMachineHealth(machineId: string, health: DeviceHealth, detail: string): void {
    const e = this.#entries.get(machineId);
    if (e === undefined) return;
    e.explicit = true;
    this.#set(e, health, detail);
  }

  get(machineId: string): DeviceHealthView | undefined {
    return this.#entries.get(machineId);
  }

  views(): ReadonlyMap<string, DeviceHealthView> {
    return this.#entries;
  }

  #set(e: Entry, health: DeviceHealth, reason: string): void {
    if (e.health === health) {
      // Same health, newer reason (a Modbus unit's failed-poll count and next poll): keep it current.
      e.reason = reason;
      return;
    }
    if (health === 'offline') e.outages++;
    e.health = health;
    e.reason = reason;
    e.since = this.#clock.now();
  }
}
