/**
 * API benchmark: how long the reads behind the web pages take at the programme's size. One
 * JSON line per route.
 *
 *   npm run bench:api [-- --enterprises 1000 --machines-per 10 --days 30 --runs 15]
 *
 * A hub on port 0 gets `enterprises` declared enterprises, each announcing `machines-per`
 * machines over MQTT with its gateway's health metrics (bench/fleet-registry.ts), and `days`
 * daily snapshots (the past days' and today's). Each route is then asked `runs` times over
 * real HTTP, each time right after the baseline (GET /healthz, which reads counters only), so
 * `ratio` (route ÷ baseline, medians) says what the route costs on a shared, noisy machine;
 * `cpuMs` is the median CPU time this process spent on one request (hub and client).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Hub } from '../hub/hub.js';
import { localDay } from '../hub/registry/days.js';
import { AuditLog } from '../hub/security/audit.js';
import { TokenStore } from '../hub/security/tokens.js';
import { takeSnapshot } from '../hub/stats/snapshot.js';
import { DEFAULT_WINDOWS } from '../hub/stats/stats.js';
import { REGION_SEEDS } from '../protocol/index.js';
import { buildFleet } from './fleet-registry.js';

const { values: args } = parseArgs({
  options: {
    enterprises: { type: 'string', default: '1000' },
    'machines-per': { type: 'string', default: '10' },
    days: { type: 'string', default: '30' },
    runs: { type: 'string', default: '15' },
    only: { type: 'string' },
  },
});
const ENTERPRISES = Number(args.enterprises);
const PER = Number(args['machines-per']);
const DAYS = Number(args.days);
const RUNS = Number(args.runs);
const ONLY = args.only?.split(',');

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
const emit = (o: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ bench: 'api', ...o })}\n`);
};

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'wanji-bench-api-'));
  const hub = new Hub({
    dataDir: dir,
    mqtt: { port: 0, allowAnonymous: true },
    http: { port: 0, rateLimit: { enabled: false, windowMs: 60_000, perToken: 6_000, perIp: 120 } },
    logger: pino({ level: 'warn' }),
  });
  try {
    await hub.start();
    const base = `http://127.0.0.1:${hub.httpPort}`;
    let t0 = performance.now();
    await buildFleet(hub, { enterprises: ENTERPRISES, machinesPer: PER, gatewayHealth: true });
    emit({
      step: 'fleet',
      enterprises: ENTERPRISES,
      machines: ENTERPRISES * PER,
      seconds: Math.round(performance.now() - t0) / 1000,
    });

    t0 = performance.now();
    const now = Date.now();
    const days: string[] = [];
    for (let d = DAYS - 1; d >= 0; d--) {
      const day = localDay(now - d * 86_400_000, hub.registry.utcOffsetMin);
      days.push(day);
      takeSnapshot(hub.registry, now, DEFAULT_WINDOWS, day);
    }
    emit({ step: 'snapshots', days: DAYS, seconds: Math.round(performance.now() - t0) / 1000 });

    const tokens = new TokenStore(hub.registry.database, new AuditLog(hub.registry.database));
    const by = { actor: 'cli:bench', source: 'cli' } as const;
    const admin = tokens.create({ role: 'admin', name: 'bench' }, by).token;
    const county = tokens.create(
      { role: 'bureau', name: 'bench county', regions: [REGION_SEEDS[0]!.code] },
      by,
    ).token;

    // Wall time, and this process's CPU time (the hub's work and the client's): the CPU time is
    // steadier than the wall time when others load the machine.
    const get = async (
      path: string,
      token?: string,
    ): Promise<{ ms: number; cpuMs: number; bytes: number }> => {
      const t = performance.now();
      const c = process.cpuUsage();
      const res = await fetch(`${base}${path}`, {
        headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
      });
      const body = await res.arrayBuffer();
      const ms = performance.now() - t;
      const used = process.cpuUsage(c);
      const cpuMs = (used.user + used.system) / 1000;
      if (!res.ok)
        throw new Error(`GET ${path}: ${res.status} ${Buffer.from(body).toString().slice(0, 300)}`);
      return { ms, cpuMs, bytes: body.byteLength };
    };

    const from = days[0]!;
    // What the pages ask (web/src): overview and wall, enterprises, fleet.
    const routes: { name: string; path: string; token: string; page: string }[] = [
      { name: 'statistics', path: '/api/v1/statistics', token: admin, page: 'overview, enterprises' },
      { name: 'statistics-county', path: '/api/v1/statistics', token: county, page: 'overview (county)' },
      {
        name: 'statistics-summary',
        path: '/api/v1/statistics?enterprises=summary',
        token: admin,
        page: 'overview (enterprises ranked by the hub)',
      },
      { name: 'stats', path: '/api/v1/stats', token: admin, page: 'API' },
      { name: 'enterprises', path: '/api/v1/enterprises', token: admin, page: 'API' },
      { name: 'trend-city', path: '/api/v1/statistics/trend?level=city', token: admin, page: 'overview' },
      {
        name: 'trend-region-county',
        path: `/api/v1/statistics/trend?level=region&code=${REGION_SEEDS[0]!.code}`,
        token: county,
        page: 'overview (county)',
      },
      {
        name: 'trend-enterprises-networked',
        path: `/api/v1/statistics/trend?level=enterprise&figures=networked&from=${from}`,
        token: admin,
        page: 'enterprises',
      },
      {
        name: 'trend-enterprises-networked-county',
        path: `/api/v1/statistics/trend?level=enterprise&figures=networked&from=${from}`,
        token: county,
        page: 'enterprises (county)',
      },
      {
        name: 'trend-enterprises-all',
        path: `/api/v1/statistics/trend?level=enterprise&from=${from}`,
        token: admin,
        page: 'API',
      },
      {
        name: 'machines-attention',
        path: '/api/v1/machines?order=attention&limit=50&offset=0',
        token: admin,
        page: 'fleet',
      },
      {
        name: 'machines-attention-page-100',
        path: '/api/v1/machines?order=attention&limit=50&offset=4950',
        token: admin,
        page: 'fleet',
      },
      {
        name: 'machines-attention-search',
        path: '/api/v1/machines?order=attention&limit=50&offset=0&search=E05',
        token: admin,
        page: 'fleet',
      },
      { name: 'gateways', path: '/api/v1/gateways', token: admin, page: 'fleet' },
    ];

    for (const r of routes) {
      if (ONLY !== undefined && !ONLY.includes(r.name)) continue;
      // Warm: the first answer compiles the route's serializer and fills SQLite's page cache.
      await get(r.path, r.token);
      await get('/healthz');
      const baseline: number[] = [];
      const times: number[] = [];
      const cpu: number[] = [];
      let bytes = 0;
      for (let i = 0; i < RUNS; i++) {
        baseline.push((await get('/healthz')).ms);
        const a = await get(r.path, r.token);
        times.push(a.ms);
        cpu.push(a.cpuMs);
        bytes = a.bytes;
      }
      const ms = median(times);
      const b = median(baseline);
      emit({
        route: r.name,
        path: r.path,
        page: r.page,
        machines: ENTERPRISES * PER,
        enterprises: ENTERPRISES,
        days: DAYS,
        medianMs: Number(ms.toFixed(1)),
        baselineMs: Number(b.toFixed(1)),
        ratio: Number((ms / b).toFixed(1)),
        cpuMs: Number(median(cpu).toFixed(1)),
        bytes,
        runs: times.map((x) => Math.round(x)),
      });
    }
  } finally {
    await hub.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
