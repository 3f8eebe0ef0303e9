/**
 * The registry's and the statistics' own test files, run again with the hub database on
 * PostgreSQL (test/support/postgres.ts runOnPostgres: each database path a test opens is a
 * fresh PostgreSQL database), so the same assertions hold on both engines. Listed: files whose
 * every test speaks through the hub's interfaces; not those that reach into the SQLite file
 * itself (raw handles, PRAGMA user_version, read-only files, CLI commands that look for
 * registry.db). test/hub/registry-postgres-suites-api.test.ts runs the API-side files.
 */
import { runOnPostgres } from '../support/postgres.js';

await runOnPostgres(
  'the registry and statistics test files on PostgreSQL',
  [
    './stats.test.js',
    './ingest.test.js',
    './stats-time.test.js',
    './stats-fleet.test.js',
    './programme-targets.test.js',
    './official-count.test.js',
    './networked-definition.test.js',
    './alerts-lifecycle.test.js',
    './registry-import.test.js',
  ],
  (s) => import(s),
);
