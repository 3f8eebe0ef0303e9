/**
 * The seam between the gateway and its southbound protocols: every driver (one folder per
 * protocol, chosen by the connection's `type` in registry.ts) turns its machines' tags into
 * samples and says when a machine is reachable.
 */
import type { Logger } from 'pino';
import type { MetricValue, Quality } from '../../protocol/index.js';
import type { Clock } from '../clock.js';
import type { ConnectionConfig, MachineConfig } from '../config/schema.js';

export type { Quality };

export interface Sample {
  readonly machineId: string;
  /** The tag's `name` in the config. */
  readonly tag: string;
  /** Already of the tag's datatype; null when the quality is bad and there is no value. */
  readonly value: MetricValue;
  readonly quality: Quality;
  /** Milliseconds since the epoch, from the source when it gives one. */
  readonly sourceTime: number;
}

export type MachineStatus = 'online' | 'offline';

/** Where a driver delivers. Calls are synchronous and never throw back into the driver. */
export interface DriverSink {
  onSample(sample: Sample): void;
  /** `reason` says why, for people ("connected", "timeout after 1000 ms", "BadNotConnected"). */
  onMachineStatus(machineId: string, status: MachineStatus, reason: string): void;
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
}

export type DriverFactory<C extends ConnectionConfig = ConnectionConfig> = (ctx: DriverContext<C>) => Driver;
