/**
 * The sample store seam. One folder per implementation (`sqlite/`, later `influxdb/`),
 * chosen from STORE_FACTORIES (hub/store/index.ts) by the config's `type`.
 */
import type { Logger } from 'pino';
import type { MachineRef } from '../../protocol/naming.js';
import type { Quality } from '../../protocol/quality.js';
import type { ComponentHealth } from '../errors.js';

/**
 * A bigint only for an integer a number cannot hold exactly (beyond ±(2^53−1): Int64 and
 * UInt64 extremes); every other number is a number. See values.ts.
 */
export type SampleValue = number | bigint | string | boolean | null;

/**
 * A stored sample: one value of one machine's metric at one time, keyed by the programme's ids
 * (MachineRef: enterprise = Sparkplug group id, machine = device id; protocol/naming.ts). A
 * gateway driver's reading of a tag is another thing, gateway/southbound/types.ts's TagSample.
 */
export interface Sample extends MachineRef {
  /** Metric name as born, e.g. "State" or "Signals/spindleSpeed". */
  readonly metric: string;
  /** Sample time, milliseconds since the epoch. */
  readonly ts: number;
  readonly value: SampleValue;
  /** Absent means good. */
  readonly quality?: Quality;
}

export interface SeriesQuery extends MachineRef {
  readonly metric: string;
  /** Inclusive, ms. */
  readonly from?: number;
  /** Inclusive, ms. */
  readonly to?: number;
  /** Newest `limit` points of the range, returned oldest first. */
  readonly limit?: number;
}

export interface SeriesPoint {
  readonly ts: number;
  readonly value: SampleValue;
  readonly quality?: Quality;
}

export interface LatestValue extends SeriesPoint {
  readonly metric: string;
}

export interface SampleStore {
  readonly type: string;
  start(): Promise<void>;
  close(): Promise<void>;
  /**
   * Writes a batch; resolves once the store holds it durably. Idempotent per series and
   * timestamp: writing the same sample twice (a journal replay) leaves one point.
   */
  write(samples: readonly Sample[]): Promise<void>;
  query(q: SeriesQuery): Promise<SeriesPoint[]>;
  /** The newest point of every metric of one machine. */
  latest(enterprise: string, machine: string): Promise<LatestValue[]>;
  health(): ComponentHealth;
}

export interface StoreContext {
  readonly dataDir: string;
  readonly logger: Logger;
}

/** Store configs are discriminated by `type`; each implementation adds its own fields. */
export interface StoreConfig {
  readonly type: string;
  readonly [key: string]: unknown;
}

export type StoreFactory = (config: StoreConfig, ctx: StoreContext) => SampleStore;

/** Query limits shared by every implementation. */
export const DEFAULT_QUERY_LIMIT = 10_000;
export const MAX_QUERY_LIMIT = 100_000;
