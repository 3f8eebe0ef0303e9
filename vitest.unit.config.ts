/**
 * `npm run test:unit`: the tests that need no server — no network listener, no child process, no
 * Debian peer (pymodbus, mbpoll, openssl, InfluxDB) — for the inner loop; `npm test` runs them
 * too, with everything else. test/support/unit-guard.ts fails a listed test that opens a listener
 * or spawns a process. A new test file that needs no server belongs in this list.
 */
import { defineConfig } from 'vitest/config';

export const UNIT_TESTS = [
  'test/chaos/counting.test.ts',
  'test/cli/store-address.test.ts',
  'test/cli/user-cli.test.ts',
  'test/docs/*.test.ts',
  'test/gateway/config.test.ts',
  'test/gateway/journal-folder.test.ts',
  'test/gateway/journal.test.ts',
  'test/gateway/modbus-decode.test.ts',
  'test/gateway/modbus-planner.test.ts',
  'test/gateway/opcua-units.test.ts',
  'test/gateway/replay-holds.test.ts',
  'test/gateway/sampler.test.ts',
  'test/hub/acks.test.ts',
  'test/hub/api-routes.test.ts',
  'test/hub/api-security.test.ts',
  'test/hub/api-security-input.test.ts',
  'test/hub/api-token-cli.test.ts',
  'test/hub/field-bounds-names.test.ts',
  'test/hub/ingest.test.ts',
  'test/hub/ingest-isolation.test.ts',
  'test/hub/ingest-isolation-days.test.ts',
  'test/hub/int64-convert.test.ts',
  'test/hub/journal-stall-acks.test.ts',
  'test/hub/mqtt-security-acl.test.ts',
  'test/hub/registry.test.ts',
  'test/hub/registry-import.test.ts',
  'test/hub/stats.test.ts',
  'test/hub/store.test.ts',
  'test/hub/users-session.test.ts',
  'test/protocol/*.test.ts',
  'test/simulators/codec.test.ts',
  'test/simulators/fleet.test.ts',
  'test/simulators/profiles.test.ts',
  'test/web/i18n.test.ts',
];

export default defineConfig({
  test: {
    include: UNIT_TESTS,
    setupFiles: ['test/support/unit-guard.ts'],
    testTimeout: 30_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
