/**
 * Real time-series servers for tests, from the Debian packages `.ci/run` installs: InfluxDB
 * 1.6 (`influxd`: v1 `/write`, InfluxQL `/query`) and VictoriaMetrics (`/api/v2/write`, no
 * InfluxQL). Each runs on loopback, on a free port, with its data in a temp dir, and is
 * killed afterwards. Without the binary the tests skip with a message, or fail when `CI` is set.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { describe, it } from 'vitest';
import type { LatestValue, SeriesPoint, SeriesQuery } from '../../hub/store/types.js';
import { killOnExit } from './reaper.js';

export type ServerKind = 'influxd' | 'victoria-metrics';

const PACKAGES: Readonly<Record<ServerKind, string>> = {
  influxd: 'influxdb',
  'victoria-metrics': 'victoria-metrics',
};

export function findBinary(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/sbin', '/usr/local/bin'];
  for (const d of dirs) {
    if (d === '') continue;
    const p = join(d, name);
    try {
      accessSync(p, constants.X_OK);
      return p;
    } catch {
      // not here
    }
  }
  return undefined;
}

/**
 * `describe` when the server's binary is installed; otherwise a skipped block whose title
 * says why, or, with `CI` set, one failing test (CI must run every server test).
 */
export function describeWithServer(kind: ServerKind, title: string, fn: () => void): void {
  if (findBinary(kind) !== undefined) {
    describe(title, fn);
    return;
  }
  const why = `${kind} is not installed (apt-get install ${PACKAGES[kind]})`;
  if (process.env.CI) {
    describe(title, () => {
      it(`needs ${kind}`, () => {
        throw new Error(`${why}; CI is set, so this is a failure, not a skip`);
      });
    });
  } else {
    describe.skip(`${title} — skipped: ${why}`, fn);
  }
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

export interface TestServer {
  readonly kind: ServerKind;
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  /** Stops the process (SIGTERM, SIGKILL after 5 s), keeping its data and port. */
  stop(): Promise<void>;
  /** Starts it again on the same port and data; resolves when it answers. */
  start(): Promise<void>;
  /** Stops it and removes its data. Idempotent. */
  close(): Promise<void>;
}

interface Launch {
  readonly kind: ServerKind;
  readonly args: readonly string[];
  readonly readyPath: string;
}

class ServerProcess implements TestServer {
  readonly kind: ServerKind;
  readonly url: string;
  readonly port: number;
  readonly dir: string;
  readonly #launch: Launch;
  #child: ChildProcess | undefined;

  constructor(launch: Launch, port: number, dir: string) {
    this.kind = launch.kind;
    this.port = port;
    this.dir = dir;
    this.url = `http://127.0.0.1:${port}`;
    this.#launch = launch;
  }

  async start(): Promise<void> {
    if (this.#child !== undefined) return;
    const log = openSync(join(this.dir, 'server.log'), 'a');
    const child = spawn(findBinary(this.kind) ?? this.kind, this.#launch.args, {
      stdio: ['ignore', log, log],
    });
    this.#child = child;
    killOnExit(child);
    const deadline = Date.now() + 20_000;
    for (;;) {
      if (child.exitCode !== null) throw new Error(`${this.kind} exited at start:\n${this.#logTail()}`);
      try {
        const res = await fetch(`${this.url}${this.#launch.readyPath}`, {
          signal: AbortSignal.timeout(1_000),
        });
        await res.arrayBuffer();
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      if (Date.now() > deadline) {
        await this.stop();
        throw new Error(`${this.kind} did not answer on ${this.url} within 20 s:\n${this.#logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    const child = this.#child;
    this.#child = undefined;
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.dir, { recursive: true, force: true });
  }

  #logTail(): string {
    try {
      return readFileSync(join(this.dir, 'server.log'), 'utf8').slice(-2_000);
    } catch {
      return '(no log)';
    }
  }
}

/** InfluxDB 1.x with a generated config: HTTP and RPC on loopback, meta/data/wal in a temp dir. */
export async function startInfluxd(): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'wanji-influxd-'));
  const [port, rpcPort] = [await freePort(), await freePort()];
  const config = join(dir, 'influxd.conf');
  writeFileSync(
    config,
    [
      'reporting-disabled = true',
      `bind-address = "127.0.0.1:${rpcPort}"`,
      '[meta]',
      `  dir = "${join(dir, 'meta')}"`,
      '[data]',
      `  dir = "${join(dir, 'data')}"`,
      `  wal-dir = "${join(dir, 'wal')}"`,
      '  query-log-enabled = false',
      '[http]',
      `  bind-address = "127.0.0.1:${port}"`,
      '  log-enabled = false',
      '[logging]',
      '  level = "warn"',
      '[monitor]',
      '  store-enabled = false',
      '[continuous_queries]',
      '  enabled = false',
      '',
    ].join('\n'),
  );
  const server = new ServerProcess(
    { kind: 'influxd', args: ['-config', config], readyPath: '/ping' },
    port,
    dir,
  );
  await server.start();
  return server;
}

/**
 * VictoriaMetrics with deduplication at 1 ms, so a replayed sample (same series, same
 * timestamp) is kept once, as a Wanji deployment must run it; retention long enough for
 * test timestamps in the past.
 */
export async function startVictoriaMetrics(): Promise<TestServer> {
  const dir = mkdtempSync(join(tmpdir(), 'wanji-vm-'));
  const port = await freePort();
  const args = [
    `-httpListenAddr=127.0.0.1:${port}`,
    `-storageDataPath=${join(dir, 'data')}`,
    '-retentionPeriod=100y',
    '-dedup.minScrapeInterval=1ms',
    '-search.latencyOffset=0s',
    '-memory.allowedPercent=20',
    '-loggerLevel=ERROR',
  ];
  const server = new ServerProcess({ kind: 'victoria-metrics', args, readyPath: '/health' }, port, dir);
  await server.start();
  return server;
}

/** Points in an InfluxDB 1.x measurement (every point has a `quality` field). */
export async function countInflux(url: string, db: string, measurement: string): Promise<number> {
  const q = new URLSearchParams({ db, q: `SELECT count("quality") FROM "${measurement}"` });
  const res = await fetch(`${url}/query?${q.toString()}`);
  const body = (await res.json()) as {
    results?: { series?: { values?: unknown[][] }[]; error?: string }[];
  };
  const r = body.results?.[0];
  if (r?.error !== undefined && !r.error.startsWith('database not found')) throw new Error(r.error);
  return Number(r?.series?.[0]?.values?.[0]?.[1] ?? 0);
}

interface ExportedSeries {
  metric: Record<string, string>;
  values: number[];
  timestamps: number[];
}

const label = (s: string): string => `"${s.replace(/[\\"]/g, '\\$&')}"`;

/**
 * Reads what the InfluxDB store wrote to VictoriaMetrics back through VictoriaMetrics' own
 * export API (it has no InfluxQL): `<measurement>_<field>` series with the tags as labels.
 * Tests only; it rebuilds points the way the store's InfluxQL reader does.
 */
export class VmReader {
  readonly #url: string;
  readonly #measurement: string;

  constructor(url: string, measurement: string) {
    this.#url = url;
    this.#measurement = measurement;
  }

  async export(selector: string, from?: number, to?: number): Promise<ExportedSeries[]> {
    await fetch(`${this.#url}/internal/force_flush`).then((r) => r.arrayBuffer());
    const form = new URLSearchParams({ 'match[]': selector, start: String((from ?? 0) / 1000) });
    if (to !== undefined) form.set('end', String(to / 1000));
    const res = await fetch(`${this.#url}/api/v1/export`, { method: 'POST', body: form });
    const text = await res.text();
    if (!res.ok) throw new Error(`VictoriaMetrics export: HTTP ${res.status}: ${text}`);
    return text
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as ExportedSeries);
  }

  /** Stored points of the measurement (one per timestamp and series, counted on `quality`). */
  async count(): Promise<number> {
    const rows = await this.export(`{__name__=${label(`${this.#measurement}_quality`)}}`);
    return rows.reduce((n, r) => n + r.timestamps.length, 0);
  }

  async query(q: SeriesQuery): Promise<SeriesPoint[]> {
    const m = this.#measurement;
    const sel =
      `{__name__=~${label(`${m}_(value|value_bool|quality)`)},enterprise=${label(q.enterprise)},` +
      `machine=${label(q.machine)},metric=${label(q.metric)}}`;
    const byTs = new Map<number, { value?: number; bool?: number; quality?: number }>();
    for (const s of await this.export(sel, q.from, q.to)) {
      const field = s.metric.__name__?.slice(m.length + 1);
      s.timestamps.forEach((ts, i) => {
        const p = byTs.get(ts) ?? {};
        const v = s.values[i];
        if (field === 'value') p.value = v;
        else if (field === 'value_bool') p.bool = v;
        else if (field === 'quality') p.quality = v;
        byTs.set(ts, p);
      });
    }
    const points = [...byTs]
      .sort((a, b) => a[0] - b[0])
      .filter(([ts]) => (q.from === undefined || ts >= q.from) && (q.to === undefined || ts <= q.to))
      .map(([ts, p]): SeriesPoint => {
        const value = p.value ?? (p.bool === undefined ? null : p.bool === 1);
        const quality = (['good', 'uncertain', 'bad'] as const)[p.quality ?? 0] ?? 'bad';
        return quality === 'good' ? { ts, value } : { ts, value, quality };
      });
    return q.limit === undefined ? points : points.slice(-q.limit);
  }

  async latest(enterprise: string, machine: string): Promise<LatestValue[]> {
    const sel = `{__name__=${label(`${this.#measurement}_quality`)},enterprise=${label(enterprise)},machine=${label(machine)}}`;
    const metrics = [...new Set((await this.export(sel)).map((s) => s.metric.metric ?? ''))].sort();
    const out: LatestValue[] = [];
    for (const metric of metrics) {
      const last = (await this.query({ enterprise, machine, metric })).at(-1);
      if (last !== undefined) out.push({ metric, ...last });
    }
    return out;
  }
}
