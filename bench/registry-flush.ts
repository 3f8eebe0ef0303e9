/**
 * `npm run bench:registry-flush`: what one ingest flush costs the hub on a PostgreSQL registry,
 * row by row (the path before: a statement per machine, three for one reporting its state)
 * against batched (machines.seenMany and friends: a handful of statements per flush), on the
 * same database in alternating rounds, with SQLite beside them for reference.
 *
 * Each flush: every machine heard once with a sample, one in ten also reporting the state it is
 * in (the heartbeat's re-report), every gateway heard; what the host hands the registry each
 * second at 1 Hz. Per flush (median of the rounds): the calling thread's wait (ms), the hub
 * process's CPU (ms, all its threads: the bridge's worker included), the PostgreSQL backend's
 * CPU (ms, from /proc; 10 ms ticks, so small figures are coarse) and the round trips. One JSON
 * line per engine, size and path, and one for the births before (every machine announced at
 * once, batched too: machines.bornMany and the clock's setOpenMany, addMany).
 *
 * Then the failover's flush (`flush: "rebirths"`): every gateway and machine born again at once,
 * as the gateways answer the rebirth request of the worker that took over their groups, every
 * machine reporting its state in the same flush (each birth closes the machine's interval, its
 * state opens the next): row by row against batched, alternating, --rebirth-rounds rounds.
 * Options: --machines N,N (default 1000,10000), --rounds N (default 5), --rebirth-rounds N
 * (default 3).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import pg from 'pg';
import { HubDatabase } from '../hub/database/database.js';
import { postgresRoundTrips } from '../hub/database/postgres/sync-client.js';
import { IngestApplier } from '../hub/registry/apply.js';
import type { IngestBatch, RegistryEvent } from '../hub/registry/types.js';
import { startPostgres } from '../test/support/postgres-server.js';
import { tempDir } from '../test/support/temp.js';

function arg(name: string): string | undefined {
  const i = process.argv.indexOf(`--${name}`);
  return i < 0 ? undefined : process.argv[i + 1];
}

const SIZES = (arg('machines') ?? '1000,10000').split(',').map((x) => {
  const n = Number(x);
  if (!Number.isInteger(n) || n < 100)
    throw new Error(`--machines ${x}: want whole numbers ≥ 100, comma-separated`);
  return n;
});
const ROUNDS = Math.max(1, Number(arg('rounds') ?? 5));
const REBIRTH_ROUNDS = Math.max(1, Number(arg('rebirth-rounds') ?? 3));
const PER_GATEWAY = 100;
const T0 = Date.now() - 3_600_000;

function emit(o: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify({ bench: 'registry-flush', ...o })}\n`);
}

interface Fleet {
  readonly enterprise: string;
  readonly gateway: string;
  readonly machine: string;
}

function fleetOf(n: number): Fleet[] {
  return Array.from({ length: n }, (_x, i) => {
    const g = Math.floor(i / PER_GATEWAY);
    return {
      enterprise: `E${String(Math.floor(g / 10)).padStart(3, '0')}`,
      gateway: `gw${g}`,
      machine: `m${i}`,
    };
  });
}

function births(fleet: readonly Fleet[], at = T0, state = 'running'): IngestBatch {
  const gateways = new Map(fleet.map((f) => [`${f.enterprise}/${f.gateway}`, f]));
  return {
    events: [
      ...[...gateways.values()].map(
        (f): RegistryEvent => ({
          type: 'nodeBirth',
          group: f.enterprise,
          edgeNode: f.gateway,
          bdSeq: 0,
          at,
        }),
      ),
      ...fleet.map(
        (f): RegistryEvent => ({
          type: 'deviceBirth',
          group: f.enterprise,
          edgeNode: f.gateway,
          device: f.machine,
          at,
          properties: { kind: 'cnc', nc: true },
        }),
      ),
    ],
    devices: fleet.map((f) => ({ ...f, seenAt: at, state, stateAt: at })),
    gateways: [],
  };
}

function flush(fleet: readonly Fleet[], at: number): IngestBatch {
  const gateways = new Map(fleet.map((f) => [`${f.enterprise}/${f.gateway}`, f]));
  return {
    events: [],
    devices: fleet.map((f, i) => ({
      ...f,
      seenAt: at,
      sampleAt: at,
      ...(i % 10 === 0 ? { state: 'running', stateAt: at } : {}),
    })),
    gateways: [...gateways.values()].map((f) => ({ group: f.enterprise, edgeNode: f.gateway, seenAt: at })),
  };
}

/** utime + stime of a process, in ms (Linux). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // After the command: state is field 3, utime 14 and stime 15 (1-based over the whole line).
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}

interface Sample {
  readonly waitMs: number;
  readonly cpuMs: number;
  readonly serverCpuMs: number | null;
  readonly roundTrips: number;
}

function measure(apply: () => unknown, backend: number | undefined): Sample {
  const server0 = backend === undefined ? 0 : processCpuMs(backend);
  const trips0 = postgresRoundTrips();
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  apply();
  const waitMs = Number(process.hrtime.bigint() - t0) / 1e6;
  const cpu = process.cpuUsage(cpu0);
  return {
    waitMs,
    cpuMs: (cpu.user + cpu.system) / 1000,
    serverCpuMs: backend === undefined ? null : processCpuMs(backend) - server0,
    roundTrips: postgresRoundTrips() - trips0,
  };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
};
const r1 = (x: number): number => Math.round(x * 10) / 10;

function summary(samples: readonly Sample[]): Record<string, number | null> {
  const server = samples.map((s) => s.serverCpuMs);
  return {
    waitMsPerFlush: r1(median(samples.map((s) => s.waitMs))),
    cpuMsPerFlush: r1(median(samples.map((s) => s.cpuMs))),
    serverCpuMsPerFlush: server.includes(null) ? null : r1(median(server as number[])),
    roundTripsPerFlush: median(samples.map((s) => s.roundTrips)),
  };
}

/** Alternating rounds of both paths on one database; one line per path. */
function run(engine: 'sqlite' | 'postgres', db: HubDatabase, machines: number, backend?: number): void {
  const fleet = fleetOf(machines);
  const paths = {
    rowByRow: new IngestApplier(db, 480, 5 * 60_000, true),
    batched: new IngestApplier(db, 480, 5 * 60_000),
  };
  // Every gateway and machine born at once (a hub's start): one statement for the births.
  const born = measure(() => paths.batched.apply(births(fleet)), backend);
  emit({ engine, machines, path: 'births', ...summary([born]) });
  const samples: Record<keyof typeof paths, Sample[]> = { rowByRow: [], batched: [] };
  let at = T0;
  for (let r = 0; r < ROUNDS + 1; r++) {
    for (const path of ['rowByRow', 'batched'] as const) {
      at += 1_000;
      const batch = flush(fleet, at);
      const s = measure(() => paths[path].apply(batch), backend);
      if (r > 0) samples[path].push(s); // the first round warms up the statements
    }
  }
  const row = summary(samples.rowByRow);
  const batched = summary(samples.batched);
  for (const [path, s] of [
    ['rowByRow', row],
    ['batched', batched],
  ] as const) {
    emit({ engine, machines, path, rounds: ROUNDS, ...s });
  }
  emit({
    engine,
    machines,
    cpuRatio: r1((row.cpuMsPerFlush ?? 0) / Math.max(0.1, batched.cpuMsPerFlush ?? 0)),
    waitRatio: r1((row.waitMsPerFlush ?? 0) / Math.max(0.1, batched.waitMsPerFlush ?? 0)),
  });

  // The failover: every machine born again and reporting its state (alternately idle and
  // running, so each birth closes an interval and the report opens the next).
  const reborn: Record<keyof typeof paths, Sample[]> = { rowByRow: [], batched: [] };
  for (let r = 0; r < REBIRTH_ROUNDS; r++) {
    for (const path of ['rowByRow', 'batched'] as const) {
      at += 60_000;
      const batch = births(fleet, at, (at / 60_000) % 2 === 0 ? 'idle' : 'running');
      reborn[path].push(measure(() => paths[path].apply(batch), backend));
    }
  }
  const rebornRow = summary(reborn.rowByRow);
  const rebornBatched = summary(reborn.batched);
  for (const [path, s] of [
    ['rowByRow', rebornRow],
    ['batched', rebornBatched],
  ] as const) {
    emit({ engine, machines, flush: 'rebirths', path, rounds: REBIRTH_ROUNDS, ...s });
  }
  emit({
    engine,
    machines,
    flush: 'rebirths',
    cpuRatio: r1((rebornRow.cpuMsPerFlush ?? 0) / Math.max(0.1, rebornBatched.cpuMsPerFlush ?? 0)),
    waitRatio: r1((rebornRow.waitMsPerFlush ?? 0) / Math.max(0.1, rebornBatched.waitMsPerFlush ?? 0)),
  });
}

const dir = tempDir('wanji-bench-flush-');
const server = await startPostgres();
try {
  for (const machines of SIZES) {
    const sqlite = HubDatabase.open(join(dir.path, `registry-${machines}.db`));
    run('sqlite', sqlite, machines);
    sqlite.close();

    const url = await server.createDatabase();
    const postgres = HubDatabase.openPostgres(url);
    // The backend serving the hub's connection, to read its CPU.
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const res = await client.query<{ pid: number }>(
      "SELECT pid FROM pg_stat_activity WHERE application_name = 'wanji-hub' AND datname = current_database()",
    );
    await client.end();
    run('postgres', postgres, machines, res.rows.length === 1 ? res.rows[0]!.pid : undefined);
    postgres.close();
  }
} finally {
  await server.close();
  dir.remove();
}
