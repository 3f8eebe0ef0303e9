/**
 * A registry on SQLite beside one on a real PostgreSQL (Debian's, test/support/postgres.ts), to
 * apply the same ingest batches to both and compare what they wrote, table by table. For the
 * tests of the ingest's batched PostgreSQL writes (test/hub/registry-postgres-*-batch.test.ts).
 * Call inside a describeWithPostgres block: it registers its own beforeAll and afterAll.
 */
import { pino } from 'pino';
import { afterAll, beforeAll, expect } from 'vitest';
import { rawSqliteForTests } from '../../hub/database/database.js';
import { PostgresConnection } from '../../hub/database/postgres/connection.js';
import { Registry } from '../../hub/registry/registry.js';
import { tempDir } from '../hub/helpers.js';
import { startPostgres, type TestPostgres } from './postgres.js';

type Row = Record<string, unknown>;
const sortRows = (rows: Row[]): Row[] =>
  rows.sort((x, y) => JSON.stringify(x).localeCompare(JSON.stringify(y)));

/** What the ingest writes, whole. */
const TABLES = ['machines', 'gateways', 'machine_state_time'] as const;

export interface RegistryPair {
  readonly sqlite: Registry;
  readonly postgres: Registry;
  /** Another registry on a database of its own on the same server. */
  another(name: string): Promise<{ registry: Registry; url: string }>;
  /** A table's rows on PostgreSQL, in a stable order. */
  onPostgres(table: string): Row[];
  /** A query on the PostgreSQL registry's database. */
  query(sql: string): Row[];
  /** Every table the ingest writes holds the same rows on both. */
  expectSameTables(): void;
}

export function registryPair(clockMs: number): RegistryPair {
  const dir = tempDir();
  let pg: TestPostgres;
  let sqlite: Registry;
  let postgres: Registry;
  let peek: PostgresConnection;
  const opened: Registry[] = [];

  const open = async (name: string, url?: string): Promise<Registry> => {
    const reg = new Registry({
      path: `${dir.path}/${name}.db`,
      logger: pino({ level: 'silent' }),
      clock: () => clockMs,
      ...(url !== undefined ? { postgres: { url, statementTimeoutMs: 30_000 } } : {}),
    });
    await reg.start();
    opened.push(reg);
    return reg;
  };

  beforeAll(async () => {
    pg = await startPostgres();
    const url = await pg.createDatabase();
    sqlite = await open('sqlite');
    postgres = await open('pg', url);
    peek = new PostgresConnection({ url, statementTimeoutMs: 30_000, replyTimeoutMs: 60_000 });
  }, 60_000);
  afterAll(async () => {
    peek?.close();
    for (const r of opened) await r.close();
    await pg?.close();
    dir.remove();
  });

  const onSqlite = (table: string): Row[] =>
    sortRows(rawSqliteForTests(sqlite.database).prepare(`SELECT * FROM ${table}`).all() as Row[]);
  const onPostgres = (table: string): Row[] => sortRows(peek.query(`SELECT * FROM ${table}`));
  return {
    get sqlite() {
      return sqlite;
    },
    get postgres() {
      return postgres;
    },
    another: async (name) => {
      const url = await pg.createDatabase();
      return { registry: await open(name, url), url };
    },
    onPostgres,
    query: (sql) => peek.query(sql),
    expectSameTables: () => {
      for (const t of TABLES) expect(onPostgres(t), t).toEqual(onSqlite(t));
    },
  };
}
