/**
 * Reads one metric of every machine straight from the store server, not through the hub:
 * InfluxQL `/query` on InfluxDB 1.x, the export API on VictoriaMetrics (it has no InfluxQL),
 * the hub's samples.db file (opened read-only beside the running hub) for the embedded store.
 * Points at the same timestamp are one point (that is how both servers key them).
 */
import { existsSync } from 'node:fs';
import { MAX_QUERY_LIMIT } from '../../hub/store/types.js';
import { type TestServer, VmReader } from '../support/influx-servers.js';
import { readSampleFile } from '../support/sample-file.js';
import type { StoredPoint } from './counting.js';

export interface MetricReader {
  /** machine id → points of the metric, by time. */
  read(): Promise<Map<string, StoredPoint[]>>;
}

function byTime(points: Map<number, number>): StoredPoint[] {
  return [...points].sort((a, b) => a[0] - b[0]).map(([ts, value]) => ({ ts, value }));
}

interface InfluxResponse {
  results?: {
    error?: string;
    series?: { tags?: Record<string, string>; values?: [number, number | null][] }[];
  }[];
  error?: string;
}

const quoteString = (s: string): string => `'${s.replace(/['\\]/g, '\\$&')}'`;
const quoteIdent = (s: string): string => `"${s.replace(/["\\]/g, '\\$&')}"`;

export class InfluxQlReader implements MetricReader {
  constructor(
    readonly url: string,
    readonly database: string,
    readonly measurement: string,
    readonly metric: string,
  ) {}

  async read(): Promise<Map<string, StoredPoint[]>> {
    const q =
      `SELECT "value" FROM ${quoteIdent(this.measurement)} WHERE "metric" = ${quoteString(this.metric)} ` +
      'GROUP BY "machine"';
    const params = new URLSearchParams({ db: this.database, q, epoch: 'ms' });
    const res = await fetch(`${this.url}/query?${params.toString()}`, {
      signal: AbortSignal.timeout(10_000),
    });
    const body = (await res.json()) as InfluxResponse;
    const r = body.results?.[0];
    const error = body.error ?? r?.error;
    const out = new Map<string, StoredPoint[]>();
    if (error !== undefined) {
      if (error.startsWith('database not found')) return out;
      throw new Error(`InfluxQL: ${error}`);
    }
    for (const s of r?.series ?? []) {
      const machine = s.tags?.machine ?? '';
      const points = new Map<number, number>();
      for (const [ts, v] of s.values ?? []) if (v !== null) points.set(ts, v);
      out.set(machine, byTime(points));
    }
    return out;
  }
}

export class VictoriaReader implements MetricReader {
  readonly #vm: VmReader;
  readonly #selector: string;

  constructor(url: string, measurement: string, metric: string) {
    this.#vm = new VmReader(url, measurement);
    this.#selector = `{__name__=${JSON.stringify(`${measurement}_value`)},metric=${JSON.stringify(metric)}}`;
  }

  async read(): Promise<Map<string, StoredPoint[]>> {
    const out = new Map<string, Map<number, number>>();
    for (const s of await this.#vm.export(this.#selector)) {
      const machine = s.metric.machine ?? '';
      const points = out.get(machine) ?? new Map<number, number>();
      s.timestamps.forEach((ts, i) => {
        const v = s.values[i];
        if (v !== undefined) points.set(ts, v);
      });
      out.set(machine, points);
    }
    return new Map([...out].map(([m, points]) => [m, byTime(points)]));
  }
}

export class SqliteReader implements MetricReader {
  constructor(
    readonly path: string,
    readonly metric: string,
  ) {}

  async read(): Promise<Map<string, StoredPoint[]>> {
    const out = new Map<string, StoredPoint[]>();
    if (!existsSync(this.path)) return out;
    // Another process's file: its landing rows (the running hub's head) and its parts.
    await readSampleFile(this.path, async (file) => {
      for (const series of await file.seriesOf(this.metric)) {
        const points = await file.query({ ...series, limit: MAX_QUERY_LIMIT });
        const list = points.flatMap((p) =>
          typeof p.value === 'number' ? [{ ts: p.ts, value: p.value }] : [],
        );
        if (list.length > 0) out.set(series.machine, list);
      }
    });
    return out;
  }
}

/**
 * The hub's store settings for a test server, and a reader of what it wrote: without a
 * server, the embedded SQLite store (the hub's default) in the hub's data dir;
 * InfluxDB 1.6 in v1 mode (its own database per test), VictoriaMetrics through the v2 write
 * API (its own measurement per test; VictoriaMetrics has no databases).
 */
export function storeFor(
  server: TestServer | undefined,
  name: string,
  metric: string,
  hubDataDir: string,
): { config: Record<string, unknown>; reader: MetricReader } {
  if (server === undefined) {
    return { config: { type: 'sqlite' }, reader: new SqliteReader(`${hubDataDir}/samples.db`, metric) };
  }
  if (server.kind === 'influxd') {
    const measurement = 'machine_samples';
    return {
      config: {
        type: 'influxdb',
        api: 'v1',
        url: server.url,
        database: name,
        createDatabase: true,
        measurement,
      },
      reader: new InfluxQlReader(server.url, name, measurement, metric),
    };
  }
  return {
    config: {
      type: 'influxdb',
      api: 'v2',
      url: server.url,
      bucket: 'wanji',
      measurement: name,
      history: 'none',
      writeStrings: false,
    },
    reader: new VictoriaReader(server.url, name, metric),
  };
}
