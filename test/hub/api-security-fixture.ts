/**
 * A hub API over a real registry and store in a temp dir, with three enterprises in two
 * regions, for the security tests: acme and gamma in yiwu, beta in yongkang; one gateway and
 * one machine each, with samples.
 */
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import type { Logger } from 'pino';
import type { Role } from '../../hub/api/access.js';
import { type ApiDeps, buildApi } from '../../hub/api/app.js';
import { rawSqliteForTests } from '../../hub/database/database.js';
import { Registry } from '../../hub/registry/registry.js';
import { AuditLog } from '../../hub/security/audit.js';
import { TokenStore } from '../../hub/security/tokens.js';
import { DEFAULT_WINDOWS } from '../../hub/stats/stats.js';
import { createStore } from '../../hub/store/index.js';
import type { SampleStore } from '../../hub/store/types.js';
import { silentLogger, tempDir } from './helpers.js';

export const NOW = 1_700_000_000_000;
const MIN = 60_000;

export const ENTERPRISES = [
  { code: 'acme', region: 'yiwu', machine: 'm-acme', gateway: 'gw-acme', production: 4 },
  { code: 'beta', region: 'yongkang', machine: 'm-beta', gateway: 'gw-beta', production: 10 },
  { code: 'gamma', region: 'yiwu', machine: 'm-gamma', gateway: 'gw-gamma', production: 5 },
] as const;

export interface Fixture {
  readonly registry: Registry;
  readonly store: SampleStore;
  readonly audit: AuditLog;
  readonly tokens: TokenStore;
  readonly app: FastifyInstance;
  /** ms; tests move it forward to expire tokens. */
  now: number;
  /** `Authorization` header of a new token. */
  token(role: Role, opts?: { enterprise?: string; regions?: string[]; expiresAt?: number }): string;
  /** app.inject with `Bearer <token>` (when given). */
  call(token: string | undefined, opts: InjectOptions): Promise<LightMyRequestResponse>;
  /** Rows of every registry table the API could change, and the audit entries. */
  counts(): Record<string, number>;
  close(): Promise<void>;
}

export async function apiFixture(opts: { http?: ApiDeps['http']; logger?: Logger } = {}): Promise<Fixture> {
  const dir = tempDir();
  const logger = opts.logger ?? silentLogger();
  const state = { now: NOW };
  const clock = () => state.now;
  const registry = new Registry({ path: `${dir.path}/registry.db`, logger, clock });
  const store = createStore({ type: 'sqlite' }, { dataDir: dir.path, logger });
  await registry.start();
  await store.start();
  for (const e of ENTERPRISES) {
    registry.upsertEnterprise(
      {
        code: e.code,
        name: `${e.code} 公司`,
        regionCode: e.region,
        industryCode: 'hardware',
        backbone: true,
        ledger: { productionEquipment: e.production, ncEquipment: 2, robots: 0 },
      },
      'test',
    );
  }
  registry.applyIngest({
    events: ENTERPRISES.flatMap((e) => [
      { type: 'nodeBirth' as const, group: e.code, edgeNode: e.gateway, bdSeq: 0, at: NOW - 10 * MIN },
      {
        type: 'deviceBirth' as const,
        group: e.code,
        edgeNode: e.gateway,
        device: e.machine,
        at: NOW - 10 * MIN,
        properties: { kind: 'cnc', nc: true },
      },
    ]),
    devices: ENTERPRISES.map((e) => ({
      enterprise: e.code,
      machine: e.machine,
      gateway: e.gateway,
      seenAt: NOW - MIN,
      sampleAt: NOW - MIN,
      state: 'running',
      stateAt: NOW - MIN,
    })),
    gateways: [],
  });
  await store.write(
    ENTERPRISES.map((e) => ({
      enterprise: e.code,
      machine: e.machine,
      metric: 'Signals/speed',
      ts: NOW - MIN,
      value: 42,
    })),
  );
  const audit = new AuditLog(registry.database, clock);
  const tokens = new TokenStore(registry.database, audit, { clock });
  const app = buildApi({
    registry,
    store,
    logger,
    clock,
    windows: DEFAULT_WINDOWS,
    health: () => ({
      components: {
        broker: { status: 'up' },
        host: { status: 'up' },
        store: { status: 'up' },
        registry: { status: 'up' },
      },
      counters: {},
    }),
    tokens,
    audit,
    ...(opts.http === undefined ? {} : { http: opts.http }),
  });
  await app.ready();
  const db = rawSqliteForTests(registry.database);
  const fixture: Fixture = {
    registry,
    store,
    audit,
    tokens,
    app,
    get now() {
      return state.now;
    },
    set now(v: number) {
      state.now = v;
    },
    token(role, o = {}) {
      const { token } = tokens.create({ role, ...o }, { actor: 'cli:test', source: 'cli' });
      return token;
    },
    call(token, o) {
      return app.inject({
        ...o,
        headers: { ...o.headers, ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
      });
    },
    counts() {
      const count = (table: string) =>
        (db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n;
      return Object.fromEntries(
        [
          'enterprises',
          'ledger_declarations',
          'gateways',
          'machines',
          'regions',
          'industries',
          'api_tokens',
          'mqtt_credentials',
          'audit_log',
        ].map((t) => [t, count(t)]),
      );
    },
    async close() {
      await app.close();
      await store.close();
      await registry.close();
      dir.remove();
    },
  };
  return fixture;
}

/** The audit entries written since `afterId`, oldest first. */
export function auditSince(f: Fixture, afterId: number) {
  return f.audit
    .list({ limit: 10_000 })
    .filter((e) => e.id > afterId)
    .reverse();
}

export function lastAuditId(f: Fixture): number {
  return f.audit.list({ limit: 1 })[0]?.id ?? 0;
}
