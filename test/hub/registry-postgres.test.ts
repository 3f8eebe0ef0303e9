/**
 * The registry on PostgreSQL (docs/hub.md, "The registry on PostgreSQL"): the dialect
 * translation, the migrations, two workers sharing one database, and real hubs — one on SQLite,
 * one on PostgreSQL — fed the same Sparkplug edge node answering /api/v1/statistics with the
 * same figures. The registry's own test files run on PostgreSQL too
 * (registry-postgres-suites*.test.ts). A fresh cluster per run (test/support/postgres.ts).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../../hub/config.js';
import { HubDatabase } from '../../hub/database/database.js';
import { HUB_MIGRATIONS } from '../../hub/database/migrations.js';
import { PostgresConnection } from '../../hub/database/postgres/connection.js';
import { bindValues, translateSql } from '../../hub/database/postgres/dialect.js';
import { PostgresError } from '../../hub/database/postgres/sync-client.js';
import type { Hub } from '../../hub/hub.js';
import { DataType, type Metric } from '../../protocol/index.js';
import { freePort } from '../support/influx-servers.js';
import { describeWithPostgres, startPostgres, type TestPostgres } from '../support/postgres.js';
import { apiToken, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

describe("the repositories' SQLite statements in PostgreSQL's dialect", () => {
  it('numbers ? and @name parameters, one number per name, leaving string literals alone', () => {
    const named = translateSql(
      "UPDATE t SET a = @a, b = max(coalesce(b, 0), @b), c = '@a ? x' WHERE k = @k AND a2 = @a",
    );
    expect(named.text).toBe(
      "UPDATE t SET a = $1, b = max(coalesce(b, 0), $2), c = '@a ? x' WHERE k = $3 AND a2 = $1",
    );
    expect(bindValues(named, [{ a: 1, b: 2, k: 'k', extra: 'ignored' }])).toEqual([1, 2, 'k']);
    expect(() => bindValues(named, [{ a: 1, b: 2 }])).toThrow('missing named parameter @k');
    const positional = translateSql('SELECT * FROM t WHERE a = ? AND b = ?');
    expect(positional.text).toBe('SELECT * FROM t WHERE a = $1 AND b = $2');
    expect(bindValues(positional, ['x', true])).toEqual(['x', 1]);
    expect(() => bindValues(positional, ['x'])).toThrow('wants 2 parameters, got 1');
  });

  it('INSERT OR IGNORE, LIKE, GLOB, a negative LIMIT and mixed-case aliases mean what they do in SQLite', () => {
    expect(translateSql('INSERT OR IGNORE INTO r (code) VALUES (@code)').text).toBe(
      'INSERT INTO r (code) VALUES ($1) ON CONFLICT DO NOTHING',
    );
    expect(translateSql("SELECT 1 FROM m WHERE id LIKE @s ESCAPE '\\'").text).toBe(
      "SELECT 1 FROM m WHERE id ILIKE $1 ESCAPE '\\'",
    );
    expect(translateSql("SELECT * FROM g WHERE name GLOB 'Devices/*/Health_x'").text).toBe(
      "SELECT * FROM g WHERE name LIKE 'Devices/%/Health\\_x'",
    );
    expect(translateSql('SELECT * FROM a LIMIT @limit OFFSET @offset').text).toBe(
      'SELECT * FROM a LIMIT nullif(greatest($1, -1), -1) OFFSET $2',
    );
    expect(translateSql('SELECT count(*) AS poweredOn, 1 AS n FROM m').text).toBe(
      'SELECT count(*) AS "poweredOn", 1 AS n FROM m',
    );
    expect(() => translateSql("SELECT * FROM g WHERE name GLOB 'a?b'")).toThrow('not translated');
  });

  it('the hub config takes a PostgreSQL URL only, naming the fix', () => {
    const c = resolveHubConfig({ dataDir: '/tmp/x', registry: { url: 'postgres://wanji@db/wanji' } });
    expect(c.registry).toEqual({ url: 'postgres://wanji@db/wanji', statementTimeoutMs: 30_000 });
    expect(resolveHubConfig({ dataDir: '/tmp/x' }).registry).toBeUndefined();
    expect(() => resolveHubConfig({ dataDir: '/tmp/x', registry: { url: 'mysql://db/wanji' } })).toThrow(
      /\/registry\/url: .*postgres:\/\/wanji@db\.example:5432\/wanji/,
    );
  });
});

/** A machine's birth: kind, NC, state and one signal (nulls: no valid sample). */
function birth(state: string | null, speed: number | null): Metric[] {
  const ts = Date.now();
  return [
    { name: 'Properties/Kind', alias: 1, datatype: DataType.String, value: 'cnc', timestamp: ts },
    { name: 'Properties/NC', alias: 2, datatype: DataType.Boolean, value: true, timestamp: ts },
    { name: 'State', alias: 3, datatype: DataType.String, value: state, timestamp: ts },
    { name: 'Signals/spindleSpeed', alias: 4, datatype: DataType.Double, value: speed, timestamp: ts },
  ];
}

const ACME = {
  code: 'acme',
  name: 'Acme',
  regionCode: 'wucheng',
  industryCode: 'hardware',
  backbone: true,
  ledger: { productionEquipment: 10, ncEquipment: 8, robots: 0 },
} as const;
const BETA = { ...ACME, code: 'beta', name: 'Beta', regionCode: 'yiwu', backbone: false } as const;

/**
 * Feeds one edge node (enterprise `group`) to a hub: three machines with values (one reporting
 * powered_off), one with only nulls, one that dies; returns, connected, when the hub has stored
 * it all (the caller closes it).
 */
async function feed(hub: Hub, group: string, nodes: TestEdgeNode[]): Promise<void> {
  const node = new TestEdgeNode(group, 'gw-1', 1);
  nodes.push(node);
  await node.connect(hub.mqttUrl);
  await node.nbirth();
  await node.dbirth('m1', birth('running', 1200));
  await node.dbirth('m2', birth('idle', 0));
  await node.dbirth('m3', birth('powered_off', 0));
  await node.dbirth('m4', birth(null, null));
  await node.dbirth('m5', birth('running', 800));
  await node.ddeath('m5');
  await waitFor(async () => {
    await hub.flush();
    const ms = hub.registry.machines({ enterprise: group });
    return ms.length === 5 && ms.find((m) => m.id === 'm5')?.dead === true;
  }, `the hub has taken in ${group}'s five machines and m5's death`);
}

/** GET /api/v1/statistics as admin, without the time it was made. */
async function statistics(hub: Hub): Promise<unknown> {
  const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/statistics`, {
    headers: apiToken(hub.registry, 'admin'),
  });
  expect(r.status).toBe(200);
  const body = (await r.json()) as Record<string, unknown>;
  expect(typeof body.generatedAt).toBe('string');
  delete body.generatedAt;
  return body;
}

describeWithPostgres('the hub database on PostgreSQL', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startPostgres();
  });
  afterAll(async () => {
    await server?.close();
  });

  const connect = (url: string): PostgresConnection =>
    new PostgresConnection({ url, statementTimeoutMs: 10_000, replyTimeoutMs: 20_000 });

  it("migrates to SQLite's schema version once, and refuses a database newer than this hub", async () => {
    const url = await server.createDatabase();
    HubDatabase.openPostgres(url).close();
    const db = HubDatabase.openPostgres(url); // again: nothing to do
    expect(db.dialect).toBe('postgres');
    expect(db.reference.regions()).toEqual([]);
    db.close();
    const raw = connect(url);
    try {
      expect(raw.query('SELECT version FROM wanji_schema')).toEqual([{ version: HUB_MIGRATIONS.length }]);
      expect(raw.query("SELECT count(*) AS n FROM programme_targets WHERE kind = 'networked'")).toEqual([
        { n: 1 },
      ]);
      raw.query('UPDATE wanji_schema SET version = version + 1');
    } finally {
      raw.close();
    }
    expect(() => HubDatabase.openPostgres(url)).toThrow(
      `schema version ${HUB_MIGRATIONS.length + 1} is newer than this hub understands (${HUB_MIGRATIONS.length})`,
    );
  });

  it("two workers on one database: each counts the other's machines, and sees a target the other changed", async () => {
    const url = await server.createDatabase();
    const a = HubDatabase.openPostgres(url);
    const b = HubDatabase.openPostgres(url);
    try {
      const born = (db: HubDatabase, group: string, device: string, at: number): void =>
        db.transaction(() => {
          db.gateways.born({ group, edgeNode: 'gw', bdSeq: 0, at });
          db.machines.born({
            group,
            edgeNode: 'gw',
            device,
            at,
            kind: 'cnc',
            nc: 1,
            robot: 0,
            dataDepth: null,
          });
          db.machines.seen({
            enterprise: group,
            machine: device,
            gateway: 'gw',
            seenAt: at,
            sampleAt: at,
            state: 'running',
            stateAt: at,
          });
        });
      born(a, 'acme', 'm1', 1_000);
      born(b, 'beta', 'm1', 2_000);
      born(b, 'beta', 'm2', 3_000);
      for (const db of [a, b]) {
        expect(db.machines.activityByEnterprise(0, 0)).toEqual([
          expect.objectContaining({ enterprise: 'acme', machines: 1, networked: 1, networkedNc: 1 }),
          expect.objectContaining({ enterprise: 'beta', machines: 2, networked: 2, networkedNc: 2 }),
        ]);
      }
      const before = a.targets.version();
      expect(a.targets.version()).toBe(before);
      b.targets.put({
        kind: 'networked',
        region: '',
        year: 2022,
        value: 12_000,
        updated_by: 'b',
        updated_at: 5,
      });
      expect(a.targets.version()).not.toBe(before);
      expect(a.targets.get('networked', '', 2022)?.value).toBe(12_000);
    } finally {
      a.close();
      b.close();
    }
  });

  it('a failing row in a savepoint rolls back alone, and the error carries the SQLSTATE', async () => {
    const db = HubDatabase.openPostgres(await server.createDatabase());
    try {
      db.transaction(() => {
        db.gateways.born({ group: 'acme', edgeNode: 'gw', bdSeq: 0, at: 1 });
        const err = (() => {
          try {
            db.transaction(() => {
              db.gateways.born({ group: 'acme', edgeNode: 'gw2', bdSeq: 0, at: 1 });
              db.machines.born({
                group: 'acme',
                edgeNode: 'gw2',
                device: null as unknown as string, // NOT NULL: refused by the server
                at: 1,
                kind: null,
                nc: null,
                robot: null,
                dataDepth: null,
              });
            });
          } catch (e) {
            return e;
          }
          return undefined;
        })();
        expect(err).toBeInstanceOf(PostgresError);
        expect((err as PostgresError).code).toBe('23502'); // not_null_violation
        expect(db.inTransaction).toBe(true);
      });
      expect(db.gateways.list().map((g) => g.edge_node)).toEqual(['gw']);
    } finally {
      db.close();
    }
  });

  it('a server that is not there: the hub does not start, naming the URL without its password', async () => {
    const dir = tempDir();
    const port = await freePort();
    const hub = testHub(dir.path, {
      registry: { url: `postgres://wanji:s3cret@127.0.0.1:${port}/wanji`, statementTimeoutMs: 1_000 },
    });
    try {
      const failure = await hub.start().then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure).toMatchObject({ code: 'WANJI_E_REGISTRY' });
      const message = String((failure as Error).message);
      expect(message).toContain(`cannot open registry postgres://wanji@127.0.0.1:${port}/wanji`);
      expect(message).not.toContain('s3cret');
    } finally {
      await hub.close();
      dir.remove();
    }
  });

  it('a hub on PostgreSQL takes in a Sparkplug edge node and answers /api/v1/statistics as a hub on SQLite does', async () => {
    const sqliteDir = tempDir();
    const pgDir = tempDir();
    const onSqlite = testHub(sqliteDir.path);
    const nodes: TestEdgeNode[] = [];
    const onPostgres = testHub(pgDir.path, {
      registry: { url: await server.createDatabase(), statementTimeoutMs: 30_000 },
    });
    try {
      for (const hub of [onSqlite, onPostgres]) {
        await hub.start();
        hub.registry.upsertEnterprise(ACME, 'test');
        hub.registry.upsertEnterprise(BETA, 'test');
        await feed(hub, 'acme', nodes);
        await feed(hub, 'beta', nodes);
      }
      expect(onPostgres.registry.database.dialect).toBe('postgres');
      expect(onSqlite.registry.database.dialect).toBe('sqlite');
      const fromPostgres = await statistics(onPostgres);
      expect(fromPostgres).toEqual(await statistics(onSqlite));
      // The figures themselves: m1–m3 and m5 networked (m4 sent only nulls), all but the dead m5
      // online, and of those all but m3 (powered_off) powered on.
      const acme = (fromPostgres as { byEnterprise: Record<string, unknown>[] }).byEnterprise.find(
        (e) => e.code === 'acme',
      );
      expect(acme).toMatchObject({ networked: 4, networkedMeasured: 4, online: 4, poweredOn: 3 });
    } finally {
      for (const n of nodes) await n.close();
      await onSqlite.close();
      await onPostgres.close();
      sqliteDir.remove();
      pgDir.remove();
    }
  });

  it('two hubs (workers) on one PostgreSQL registry, each with its own edge node, both answer the whole statistics', async () => {
    const url = await server.createDatabase();
    const dirs = [tempDir(), tempDir()];
    const workers = dirs.map((d) => testHub(d.path, { registry: { url, statementTimeoutMs: 30_000 } }));
    const nodes: TestEdgeNode[] = [];
    try {
      for (const w of workers) await w.start();
      workers[0]!.registry.upsertEnterprise(ACME, 'test');
      workers[1]!.registry.upsertEnterprise(BETA, 'test');
      await feed(workers[0]!, 'acme', nodes);
      await feed(workers[1]!, 'beta', nodes);
      const [one, two] = await Promise.all(workers.map(statistics));
      expect(one).toEqual(two);
      const rows = (one as { byEnterprise: { code: string; networked: number }[] }).byEnterprise;
      expect(rows.map((e) => [e.code, e.networked])).toEqual([
        ['acme', 4],
        ['beta', 4],
      ]);
    } finally {
      for (const n of nodes) await n.close();
      for (const w of workers) await w.close();
      for (const d of dirs) d.remove();
    }
  });
});
