/**
 * PostgreSQL in tests: `describeWithPostgres` (skip with the reason without the server, or fail
 * when `CI` is set, as test/web/browser.ts does for Chromium), `runOnPostgres` (existing test
 * files again with the hub database on PostgreSQL), and the cluster itself
 * (postgres-server.ts: initdb + postgres on loopback, as `nobody` when run as root).
 */
import { afterAll, describe, it } from 'vitest';
import { POSTGRES_ROOT, postgresBinDir, startPostgres } from './postgres-server.js';

export { postgresBinDir, startPostgres, type TestPostgres } from './postgres-server.js';

/**
 * `describe` when PostgreSQL is installed; otherwise a skipped block whose title says why, or,
 * with `CI` set, one failing test (CI must run every server test).
 */
export function describeWithPostgres(title: string, fn: () => void): void {
  if (postgresBinDir() !== undefined) {
    describe(title, fn);
    return;
  }
  const why = `PostgreSQL is not installed (apt-get install postgresql; ${POSTGRES_ROOT}/<version>/bin/postgres not found)`;
  if (process.env.CI) {
    describe(title, () => {
      it('needs PostgreSQL', () => {
        throw new Error(`${why}; CI is set, so this is a failure, not a skip`);
      });
    });
  } else {
    describe.skip(`${title} — skipped: ${why}`, fn);
  }
}

/**
 * Runs existing test files with the hub database on PostgreSQL: every `HubDatabase.open(path)`
 * they make (directly, through a Registry or a Hub) opens a fresh PostgreSQL database for that
 * path instead (the same one when the path is opened again). Call at the top level of a test
 * file, with an importer relative to it (`(s) => import(s)`); the files' tests run in it.
 */
export async function runOnPostgres(
  title: string,
  suites: readonly string[],
  load: (suite: string) => Promise<unknown>,
): Promise<void> {
  if (postgresBinDir() === undefined) {
    describeWithPostgres(title, () => undefined);
    return;
  }
  const { HubDatabase } = await import('../../hub/database/database.js');
  const { PostgresConnection } = await import('../../hub/database/postgres/connection.js');
  const server = await startPostgres();
  const admin = new PostgresConnection({
    url: `postgres://wanji@127.0.0.1:${server.port}/postgres`,
    statementTimeoutMs: 30_000,
    replyTimeoutMs: 60_000,
  });
  const byPath = new Map<string, string>();
  let n = 0;
  const openPostgres = HubDatabase.openPostgres.bind(HubDatabase);
  HubDatabase.open = (path: string) => {
    let url = byPath.get(path);
    if (url === undefined) {
      const name = `wanji_suite_${process.pid}_${++n}`;
      admin.exec(`CREATE DATABASE ${name}`);
      url = `postgres://wanji@127.0.0.1:${server.port}/${name}`;
      byPath.set(path, url);
    }
    return openPostgres(url);
  };
  afterAll(async () => {
    admin.close();
    await server.close();
    // The files did open the hub database, through PostgreSQL.
    if (byPath.size === 0) throw new Error(`${title}: no test opened a hub database on PostgreSQL`);
  });
  for (const suite of suites) await load(suite);
}
