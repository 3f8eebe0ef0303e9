/**
 * `npm run bench:registry-postgres`: what a registry statement costs the hub on each engine.
 * The same repository calls on the SQLite file and on a PostgreSQL database on loopback (a
 * throwaway cluster, test/support/postgres-server.ts), through the synchronous bridge the hub
 * uses (hub/database/postgres/sync-client.ts), beside the same statements awaited on `pg`
 * directly (what an async repository would cost). Per query: the hub process's CPU (all its
 * threads: the bridge's worker included; not the PostgreSQL server's) and the wall time the
 * calling thread waits. One JSON line per case. Options: --queries N (default 5000),
 * --batch N (machines in the ingest transaction, default 1000).
 */
import { join } from 'node:path';
import pg from 'pg';
import { HubDatabase } from '../hub/database/database.js';
import { startPostgres } from '../test/support/postgres-server.js';
import { tempDir } from '../test/support/temp.js';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  const v = i < 0 ? undefined : Number(process.argv[i + 1]);
  return v !== undefined && Number.isInteger(v) && v > 0 ? v : fallback;
}

const QUERIES = arg('queries', 5_000);
const BATCH = arg('batch', 1_000);

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ bench: 'registry-postgres', ...o })}\n`);
}

interface Cost {
  readonly cpuUsPerOp: number;
  readonly wallUsPerOp: number;
}

function measure(ops: number, fn: () => void): Cost {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUsPerOp: (cpu.user + cpu.system) / ops, wallUsPerOp: wall / ops };
}

async function measureAsync(ops: number, fn: () => Promise<void>): Promise<Cost> {
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  await fn();
  const wall = Number(process.hrtime.bigint() - t0) / 1_000;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUsPerOp: (cpu.user + cpu.system) / ops, wallUsPerOp: wall / ops };
}

const round = (c: Cost): Cost => ({
  cpuUsPerOp: Math.round(c.cpuUsPerOp * 10) / 10,
  wallUsPerOp: Math.round(c.wallUsPerOp * 10) / 10,
});

/** The three cases on one hub database: a read by key, an update, an ingest transaction. */
function runCases(db: HubDatabase): Record<string, Cost> {
  db.transaction(() => {
    db.gateways.born({ group: 'acme', edgeNode: 'gw', bdSeq: 0, at: 1 });
    for (let i = 0; i < BATCH; i++) {
      db.machines.born({
        group: 'acme',
        edgeNode: 'gw',
        device: `m${i}`,
        at: 1,
        kind: 'cnc',
        nc: 1,
        robot: 0,
        dataDepth: null,
      });
    }
  });
  const read = measure(QUERIES, () => {
    for (let i = 0; i < QUERIES; i++) db.machines.isDead('acme', `m${i % BATCH}`);
  });
  const update = measure(QUERIES, () => {
    for (let i = 0; i < QUERIES; i++) db.gateways.seen('acme', 'gw', 2 + i);
  });
  const rounds = Math.max(1, Math.floor(QUERIES / BATCH));
  let at = 10;
  const ingest = measure(rounds * BATCH, () => {
    for (let r = 0; r < rounds; r++) {
      db.transaction(() => {
        at++;
        for (let i = 0; i < BATCH; i++) {
          db.machines.seen({
            enterprise: 'acme',
            machine: `m${i}`,
            gateway: 'gw',
            seenAt: at,
            sampleAt: at,
            state: 'running',
            stateAt: at,
          });
        }
      });
    }
  });
  const stats = measure(100, () => {
    for (let i = 0; i < 100; i++) db.machines.activityByEnterprise(0, 0);
  });
  return { read, update, ingest, stats };
}

const dir = tempDir('wanji-bench-registry-');
const server = await startPostgres();
try {
  const sqlite = HubDatabase.open(join(dir.path, 'registry.db'));
  const onSqlite = runCases(sqlite);
  sqlite.close();

  const url = await server.createDatabase();
  const postgres = HubDatabase.openPostgres(url);
  const onPostgres = runCases(postgres);
  postgres.close();

  // The same read and update awaited on pg in this thread: the floor an async repository would pay.
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const asyncRead = await measureAsync(QUERIES, async () => {
    for (let i = 0; i < QUERIES; i++) {
      await client.query('SELECT dead FROM machines WHERE enterprise = $1 AND id = $2', [
        'acme',
        `m${i % BATCH}`,
      ]);
    }
  });
  const asyncUpdate = await measureAsync(QUERIES, async () => {
    for (let i = 0; i < QUERIES; i++) {
      await client.query(
        'UPDATE gateways SET last_seen_at = max(coalesce(last_seen_at, 0), $1) WHERE group_id = $2 AND edge_node = $3',
        [1_000_000 + i, 'acme', 'gw'],
      );
    }
  });
  await client.end();

  for (const c of ['read', 'update', 'ingest', 'stats'] as const) {
    const s = round(onSqlite[c]!);
    const p = round(onPostgres[c]!);
    emit({
      case: c,
      what: {
        read: 'machines.isDead (SELECT by key)',
        update: 'gateways.seen (UPDATE by key)',
        ingest: `machines.seen in one transaction of ${BATCH} (per machine)`,
        stats: 'machines.activityByEnterprise (GROUP BY over the machines, per call)',
      }[c],
      sqlite: s,
      postgresBridge: p,
      cpuRatio: Math.round((p.cpuUsPerOp / s.cpuUsPerOp) * 10) / 10,
      ...(c === 'read' ? { postgresAsync: round(asyncRead) } : {}),
      ...(c === 'update' ? { postgresAsync: round(asyncUpdate) } : {}),
    });
  }
} finally {
  await server.close();
  dir.remove();
}
