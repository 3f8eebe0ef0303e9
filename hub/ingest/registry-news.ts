/**
 * The ingest's side of the registry: applies each flush's news, counts what the registry
 * refused and logs it, and says how the registry is doing for /healthz.
 *
 * Rows the registry refuses one by one (registry/apply.ts; the rest of the batch applies) are
 * counted in `registryRowErrors` and logged with the enterprise, machine and gateway, at most
 * ROW_LOGS_PER_MINUTE lines a minute (the rest summed up). Rows refused in PERSISTENT_FLUSHES
 * flushes within HEALTH_WINDOW_MS make the registry `degraded`; whole batches failing
 * PERSISTENT_FLUSHES times in a row (the database cannot be written) make it `down`.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import type { ComponentHealth } from '../errors.js';
import type { RefusedRow } from '../registry/apply.js';
import type { Registry } from '../registry/registry.js';
import type { IngestBatch } from '../registry/types.js';
import { errorText, HEALTH_WINDOW_MS, PERSISTENT_FLUSHES, RecentErrors } from './recent-errors.js';

/** Refused registry rows logged one by one per minute; the rest are summed up. */
export const ROW_LOGS_PER_MINUTE = 10;

/** The ingest counters this part adds to. */
export interface RegistryCounters {
  registryErrors: number;
  registryRowErrors: number;
  stateSpansClamped: number;
  nodeDeaths: number;
  staleNodeDeaths: number;
}

export class RegistryNews {
  readonly #registry: Registry;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #counters: RegistryCounters;
  /** Flushes that refused rows. */
  readonly #rowErrors = new RecentErrors();
  /** Batches failed whole in a row: since when, how many, the last error. */
  #failing: { since: number; batches: number; last: string } | undefined;
  /** Refused-row log lines this minute (from `#logSince`) and those left out. */
  #logSince = Number.NEGATIVE_INFINITY;
  #logged = 0;
  #leftOut = 0;

  constructor(registry: Registry, log: Logger, clock: Clock, counters: RegistryCounters) {
    this.#registry = registry;
    this.#log = log;
    this.#clock = clock;
    this.#counters = counters;
  }

  /** Applies one flush's news; never throws (a failed batch is counted and logged). */
  apply(batch: IngestBatch): void {
    const size = {
      events: batch.events.length,
      devices: batch.devices.length,
      gateways: batch.gateways.length,
    };
    try {
      const r = this.#registry.applyIngest(batch);
      this.#counters.nodeDeaths += r.nodeDeaths;
      this.#counters.staleNodeDeaths += r.staleNodeDeaths;
      if (r.spansClamped !== undefined) {
        this.#counters.stateSpansClamped += r.spansClamped;
        this.#log.warn(
          { intervals: r.spansClamped },
          'machine-state intervals longer than the day limit; counted for their last days only',
        );
      }
      if (this.#failing !== undefined) {
        this.#log.info({ batches: this.#failing.batches }, 'registry updates go through again');
        this.#failing = undefined;
      }
      if (r.rowsRefused !== undefined && r.rowsRefused > 0)
        this.#refused(r.rowsRefused, r.refused ?? [], size);
    } catch (err) {
      this.#counters.registryErrors++;
      const now = this.#clock.now();
      this.#failing = {
        since: this.#failing?.since ?? now,
        batches: (this.#failing?.batches ?? 0) + 1,
        last: errorText(err),
      };
      this.#log.error({ err, ...size }, 'registry update failed; batch dropped');
    }
  }

  /** The registry's own health unless its updates fail whole (down) or refuse rows persistently (degraded). */
  health(): ComponentHealth {
    const own = this.#registry.health();
    const refusing = this.#rowErrors.since(this.#clock.now() - HEALTH_WINDOW_MS);
    if (own.status !== 'up') return own;
    const failing = this.#failing;
    if (failing !== undefined && failing.batches >= PERSISTENT_FLUSHES) {
      return {
        status: 'down',
        detail: `registry updates failing since ${new Date(failing.since).toISOString()} (${failing.batches} batches in a row, see registryErrors; last: ${failing.last})`,
      };
    }
    if (refusing >= PERSISTENT_FLUSHES) {
      return {
        status: 'degraded',
        detail: `registry refused rows in ${refusing} flushes within the last ${HEALTH_WINDOW_MS / 1000} s (${this.#rowErrors.items} rows, see registryRowErrors; last: ${this.#rowErrors.last})`,
      };
    }
    return own;
  }

  /** Counts refused rows and logs them, at most ROW_LOGS_PER_MINUTE lines a minute. */
  #refused(rows: number, refused: readonly RefusedRow[], size: Record<string, number>): void {
    const now = this.#clock.now();
    this.#counters.registryRowErrors += rows;
    const last = refused.at(-1);
    this.#rowErrors.add(now, rows, last === undefined ? `${rows} rows` : describeRow(last));
    if (now - this.#logSince >= 60_000) {
      if (this.#leftOut > 0) {
        this.#log.warn(
          { rows: this.#leftOut },
          'registry rows refused in the last minute, not logged one by one',
        );
      }
      this.#logSince = now;
      this.#logged = 0;
      this.#leftOut = 0;
    }
    let logged = 0;
    for (const row of refused) {
      if (this.#logged >= ROW_LOGS_PER_MINUTE) break;
      this.#logged++;
      logged++;
      this.#log.warn(
        {
          kind: row.kind,
          enterprise: row.enterprise,
          gateway: row.gateway,
          ...(row.machine === undefined ? {} : { machine: row.machine }),
          code: row.code ?? 'WANJI_E_REGISTRY_ROW',
          reason: row.reason,
          ...size,
        },
        'registry row refused; the rest of the batch applied',
      );
    }
    // Beyond the allowance (or beyond the rows a result lists): summed up a minute later.
    this.#leftOut += rows - logged;
  }
}

function describeRow(r: RefusedRow): string {
  const what = r.machine === undefined ? r.enterprise : `${r.enterprise}/${r.machine}`;
  return `${r.kind} of ${what} via gateway ${r.gateway}: ${r.code ?? 'WANJI_E_REGISTRY_ROW'}: ${r.reason}`;
}
