/**
 * The API's and the host's test files that read and write the registry, run again with the hub
 * database on PostgreSQL (see registry-postgres-suites.test.ts).
 */
import { runOnPostgres } from '../support/postgres.js';

await runOnPostgres(
  'the API and host test files on PostgreSQL',
  [
    './alerts-kinds.test.js',
    './audit-page-filters.test.js',
    './export-for-people.test.js',
    './fleet-page-api.test.js',
    './gateway-death-health.test.js',
    './gateway-health.test.js',
    './hub.test.js',
    './lookalike-codes.test.js',
    './mqtt-security-login.test.js',
    './page-anomalies.test.js',
    './reported-unannounced-read.test.js',
    './targets-api.test.js',
    './trend-figures-store.test.js',
    './journal-stall.test.js',
    './login-throttle.test.js',
  ],
  (s) => import(s),
);
