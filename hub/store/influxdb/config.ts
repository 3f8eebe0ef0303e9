/**
 * The InfluxDB store's options: one TypeBox schema gives defaults, validation and type.
 * Validated when the hub builds the store, so a bad option fails at startup, naming
 * `/store/<key>` and the fix.
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { checkSchema, problemLine } from '../../../protocol/config-check.js';
import { HubConfigError } from '../../errors.js';

export const InfluxStoreConfigSchema = Type.Object(
  {
    type: Type.Literal('influxdb'),
    /** Base URL of the server, e.g. http://127.0.0.1:8086 (no path). */
    url: Type.String({
      pattern: '^https?://[^/]+/?$',
      fix: 'the server base URL without a path, e.g. http://127.0.0.1:8086',
    }),
    /**
     * `v2`: @influxdata/influxdb-client's WriteApi on `/api/v2/write` (InfluxDB 2.x, 3.x,
     * 1.8+, VictoriaMetrics). `v1`: line protocol POSTed to `/write?db=&rp=` (InfluxDB ≤ 1.7).
     */
    api: Type.Union([Type.Literal('v2'), Type.Literal('v1')], {
      default: 'v2',
      fix: '"v2" (InfluxDB 2.x/3.x/1.8+, VictoriaMetrics) or "v1" (InfluxDB 1.0–1.7)',
    }),
    /** v2: organisation (ignored by 1.8 and VictoriaMetrics). */
    org: Type.String({ default: '' }),
    /** v2: bucket; on InfluxDB 1.8 "database/retention-policy". Required with `api: v2`. */
    bucket: Type.Optional(
      Type.String({
        minLength: 1,
        fix: 'with api "v2", the bucket (InfluxDB 1.8: "database/retention-policy")',
      }),
    ),
    /** v2: API token; on InfluxDB 1.8 "username:password". Never logged. */
    token: Type.Optional(Type.String()),
    /** v1: database (required); both modes: the database InfluxQL history queries read. */
    database: Type.Optional(
      Type.String({ minLength: 1, fix: 'with api "v1", the database to write and query' }),
    ),
    /** v1: retention policy; default the database's default. */
    retentionPolicy: Type.Optional(Type.String({ minLength: 1 })),
    /** v1: credentials (HTTP basic auth). Never logged. */
    username: Type.Optional(Type.String()),
    password: Type.Optional(Type.String()),
    /** v1: `CREATE DATABASE` (a no-op when it exists) at start and when a write finds it missing. */
    createDatabase: Type.Boolean({ default: false }),
    measurement: Type.String({ minLength: 1, default: 'machine_samples' }),
    /** `influxql`: history through `/query`. `none`: the server has no InfluxQL (VictoriaMetrics). */
    history: Type.Union([Type.Literal('influxql'), Type.Literal('none')], { default: 'influxql' }),
    /** false for servers that cannot hold string fields (VictoriaMetrics stores them as 0). */
    writeStrings: Type.Boolean({ default: true }),
    /** Lines per HTTP request. */
    batchLines: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 }),
    /** v2: gzip request bodies (worth it over a WAN; on a LAN it only costs CPU). */
    gzip: Type.Boolean({ default: false }),
    /** Retries of one request within one `write()` (network, 5xx, 429); the ingest retries beyond. */
    maxRetries: Type.Integer({ minimum: 0, maximum: 10, default: 2 }),
    /** First retry delay; doubles per retry, at most 5 s. */
    retryDelayMs: Type.Integer({ minimum: 0, maximum: 60_000, default: 200 }),
    /** Per HTTP request. */
    timeoutMs: Type.Integer({ minimum: 100, maximum: 600_000, default: 10_000 }),
    /** The hub's ingest buffer settings (hub/config.ts); not the store's. */
    buffer: Type.Optional(Type.Unknown()),
  },
  { additionalProperties: false },
);

export type InfluxStoreConfig = Static<typeof InfluxStoreConfigSchema>;

const fixOf = (key: 'bucket' | 'database'): string => String(InfluxStoreConfigSchema.properties[key].fix);

/** Fills defaults and validates; throws HubConfigError naming `/store/<key>` and the fix. */
export function resolveInfluxConfig(input: unknown): Readonly<InfluxStoreConfig> {
  const value = Value.Default(InfluxStoreConfigSchema, Value.Clone(input));
  const problems = checkSchema(InfluxStoreConfigSchema, value).map((p) => problemLine(p, '/store'));
  if (problems.length === 0) {
    const c = value as InfluxStoreConfig;
    if (c.api === 'v2' && c.bucket === undefined) {
      problems.push(`/store/bucket: required when api is "v2" (${fixOf('bucket')})`);
    }
    if (c.api === 'v1' && c.database === undefined) {
      problems.push(`/store/database: required when api is "v1" (${fixOf('database')})`);
    }
  }
  if (problems.length > 0) throw new HubConfigError('store', problems);
  return Object.freeze(value as InfluxStoreConfig);
}

/** The database (and retention policy) InfluxQL reads: `database`, else the v2 bucket "db/rp". */
export function queryTarget(c: InfluxStoreConfig): { db: string; rp: string | undefined } {
  if (c.database !== undefined) return { db: c.database, rp: c.retentionPolicy };
  const [db, rp] = (c.bucket ?? '').split('/', 2);
  return { db: db ?? '', rp: rp === undefined || rp === '' ? undefined : rp };
}
