/**
 * The seam between the gateway and its southbound protocols: every driver (one folder per
 * protocol, chosen by the connection's `type` in registry.ts) turns its machines' tags into
 * samples and says when a machine is reachable.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import type { GatewayConfigIds, MetricValue, Quality } from '../../protocol/index.js';
import type { ConnectionConfig, MachineConfig } from '../config/schema.js';

/**
 * One tag's value at one time, as a driver delivers it (the hub's stored sample is
 * hub/store/types.ts's Sample, keyed by enterprise, machine and metric).
 */
export interface TagSample {
  readonly machineId: string;
  /** The tag's `name` in the config. */
  readonly tag: string;
  /** Already of the tag's datatype; null when the quality is bad and there is no value. */
  readonly value: MetricValue;
  readonly quality: Quality;
  /** Milliseconds since the epoch, from the source when it gives one. */
  readonly sourceTime: number;
  /** Why the quality is not good, for people ("exception 2 (illegal data address)"). */
  readonly reason?: string;
}

export type MachineStatus = 'online' | 'offline';

/**
 * A finer view than MachineStatus, for status pages and gateway metrics: `degraded` is a
 * machine that stopped answering but is not yet given up on (still online as a status).
 */
export type MachineHealth = 'online' | 'degraded' | 'offline';

/** Where a driver delivers. Calls are synchronous and never throw back into the driver. */
export interface DriverSink {
  onSample(sample: TagSample): void;
  /** `reason` says why, for people ("connected", "timeout after 1000 ms", "BadNotConnected"). */
  onMachineStatus(machineId: string, status: MachineStatus, reason: string): void;
  /**
   * Optional: each change of a machine's health or of its detail, for people ("no answer within
   * 1000 ms (2 failed polls in a row; next poll in 2000 ms)"). Drivers that know no more than
   * online/offline need not call it.
   */
  onMachineHealth?(machineId: string, health: MachineHealth, detail: string): void;
}

export interface DriverContext<C extends ConnectionConfig = ConnectionConfig> {
  readonly connection: C;
  /** The machines that use this connection. */
  readonly machines: readonly MachineConfig[];
  readonly sink: DriverSink;
  readonly logger: Logger;
  readonly clock: Clock;
  /** The gateway's data directory: a driver may keep files under it (certificates, caches). */
  readonly dataDir: string;
  /** The gateway's Sparkplug identity, e.g. for an OPC UA application URI. */
  readonly gateway?: GatewayConfigIds;
}

/**
 * One connection to one server, shared by its machines. `start()` returns once the driver
 * runs, without waiting for the server: a dead server is retried in the background and shows
 * as offline machines, never as a rejected start. `close()` is idempotent.
 */
export interface Driver {
  readonly connectionId: string;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Monotonic counters for status and metrics: reads, errors, timeouts, reconnects, … */
  counters(): Readonly<Record<string, number>>;
  /**
   * Optional: writes `value` to a machine's tag (a DCMD). Resolves once the device confirmed
   * it; rejects with a typed error (unknown tag, not writable, bad value, timeout, exception).
   */
  write?(machineId: string, tag: string, value: MetricValue): Promise<void>;
}

export type DriverFactory<C extends ConnectionConfig = ConnectionConfig> = (ctx: DriverContext<C>) => Driver;
