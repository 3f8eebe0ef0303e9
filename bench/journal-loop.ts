/**
 * Journal event-loop benchmark: how long the event loop of one process stalls while N gateways'
 * journals append in it (issue 13: the demo runs ~100 gateways per child process), with the
 * journal's housekeeping on the event loop (`io: 'blocking'`, what every gateway did before)
 * and off it (`io: 'background'`, the gateway's now). Same command, same load, alternating
 * rounds; one JSON line per round and a summary with the ratios.
 *
 *   npm run bench:journal-loop [-- --journals 100 --machines 50 --metrics 10 --seconds 20
 *                                 --rounds 2 --segment-bytes 262144 --fsync-ms 1000 --dir DIR]
 *
 * Each journal takes `machines` messages of `metrics` metrics a second, spread over ten ticks,
 * and gets the gateway's housekeeping: maintain() every second (the periodic fsync, the state
 * file, expiry) and an acknowledgement of all it held a second before (the hub's). Segments of
 * `segment-bytes` fill and are sealed (deflated, renamed, indexed) as they would in a gateway.
 * The event-loop delay is perf_hooks.monitorEventLoopDelay (10 ms resolution), from the start
 * of the load to its end. CPU is process.cpuUsage (the thread pool's work included). The
 * journals live under `dir` (default the system's temp folder): put it on the disk a gateway
 * would use, since fsync on a RAM disk costs nothing.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import pino from 'pino';
import { Journal, type JournalIo } from '../gateway/journal/index.js';
import type { MetricUpdate } from '../protocol/metrics.js';

const { values: args } = parseArgs({
  options: {
    journals: { type: 'string', default: '100' },
    machines: { type: 'string', default: '50' },
    metrics: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '20' },
    rounds: { type: 'string', default: '2' },
    'segment-bytes': { type: 'string', default: String(256 * 1024) },
    'fsync-ms': { type: 'string', default: '1000' },
    dir: { type: 'string' },
  },
});

/** A positive integer option, or an exit naming the option and what it takes. */
function positive(name: keyof typeof args, min = 1): number {
  const n = Number(args[name]);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name} takes an integer ≥ ${min}, got ${String(args[name])}\n`);
    process.exit(2);
  }
  return n;
}

const JOURNALS = positive('journals');
const MACHINES = positive('machines');
const METRICS = positive('metrics');
const SECONDS = positive('seconds');
const ROUNDS = positive('rounds');
const SEGMENT_BYTES = positive('segment-bytes', 4096);
const FSYNC_MS = positive('fsync-ms', 0);
const TICK_MS = 100;

const logger = pino({ level: 'warn' }, process.stderr);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 3) => (Number.isFinite(n) ? Number(n.toPrecision(digits)) : null);
const ms = (ns: number) => round(ns / 1e6);

function emit(o: object): void {
  process.stdout.write(`${JSON.stringify({ bench: 'journal-loop', ...o })}\n`);
}

/** One machine's message: `METRICS` values that move, as a poll would give them. */
function message(machine: number, n: number, at: number): MetricUpdate[] {
  const out: MetricUpdate[] = [];
  for (let i = 0; i < METRICS; i++) {
    out.push({
      name: `Signals/tag${i}`,
      value: (n * 31 + i * 7 + machine) % 10_000,
      quality: 'good',
      timestamp: at,
    });
  }
  return out;
}

interface RoundResult {
  readonly io: JournalIo;
  readonly round: number;
  /** What the load asked for; fewer appended means the feed's timer was held up. */
  readonly expectedAppends: number;
  readonly appended: number;
  readonly writeErrors: number;
  readonly loopDelayMs: { p50: number | null; p99: number | null; max: number | null };
  readonly cpuS: number | null;
  readonly cpuUsPerAppend: number | null;
  readonly closeMs: number | null;
}

async function runRound(io: JournalIo, index: number, base: string): Promise<RoundResult> {
  const dir = await mkdtemp(join(base, `wanji-journal-loop-${io}-`));
  const journals: Journal[] = [];
  for (let j = 0; j < JOURNALS; j++) {
    journals.push(
      new Journal({
        dir: join(dir, `gw${j}`),
        logger,
        now: Date.now,
        io,
        segmentBytes: SEGMENT_BYTES,
        fsyncIntervalMs: FSYNC_MS,
      }),
    );
  }
  const perTick = (MACHINES * TICK_MS) / 1000;
  let carry = 0;
  let n = 0;
  const heldBefore = journals.map(() => 0);
  const h = monitorEventLoopDelay({ resolution: 10 });
  const cpu0 = process.cpuUsage();
  h.enable();
  const feed = setInterval(() => {
    carry += perTick;
    const count = Math.floor(carry);
    carry -= count;
    const at = Date.now();
    for (const journal of journals) {
      for (let m = 0; m < count; m++) journal.append(`M${m % MACHINES}`, message(m, n, at));
    }
    n++;
  }, TICK_MS);
  // The gateway's housekeeping timer (link.ts) and the hub's acknowledgements, once a second.
  const housekeeping = setInterval(() => {
    for (const [j, journal] of journals.entries()) {
      journal.ack(heldBefore[j]!);
      heldBefore[j] = journal.head;
      journal.maintain();
    }
  }, 1000);
  await sleep(SECONDS * 1000);
  clearInterval(feed);
  clearInterval(housekeeping);
  h.disable();
  const cpu = process.cpuUsage(cpu0);
  const closing = process.hrtime.bigint();
  for (const journal of journals) journal.close();
  await Promise.all(journals.map((journal) => journal.settled()));
  const closeNs = Number(process.hrtime.bigint() - closing);
  const appended = journals.reduce((s, journal) => s + journal.counters.appended, 0);
  const writeErrors = journals.reduce((s, journal) => s + journal.counters.writeErrors, 0);
  await rm(dir, { recursive: true, force: true });
  const cpuS = (cpu.user + cpu.system) / 1e6;
  return {
    io,
    round: index,
    expectedAppends: JOURNALS * MACHINES * SECONDS,
    appended,
    writeErrors,
    loopDelayMs: { p50: ms(h.percentile(50)), p99: ms(h.percentile(99)), max: ms(h.max) },
    cpuS: round(cpuS),
    cpuUsPerAppend: round((cpuS * 1e6) / Math.max(1, appended)),
    closeMs: ms(closeNs),
  };
}

async function main(): Promise<void> {
  const base = args.dir ?? tmpdir();
  emit({
    config: {
      journals: JOURNALS,
      machinesPerJournal: MACHINES,
      metricsPerMessage: METRICS,
      appendsPerSecond: JOURNALS * MACHINES,
      seconds: SECONDS,
      rounds: ROUNDS,
      segmentBytes: SEGMENT_BYTES,
      fsyncIntervalMs: FSYNC_MS,
      dir: base,
    },
  });
  const results: RoundResult[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    for (const io of ['blocking', 'background'] as const) {
      const result = await runRound(io, r, base);
      results.push(result);
      emit(result);
    }
  }
  const worst = (io: JournalIo, key: 'p99' | 'max') =>
    Math.max(...results.filter((x) => x.io === io).map((x) => x.loopDelayMs[key] ?? 0));
  const cpu = (io: JournalIo) =>
    results.filter((x) => x.io === io).reduce((s, x) => s + (x.cpuUsPerAppend ?? 0), 0) / ROUNDS;
  emit({
    summary: true,
    blocking: {
      p99Ms: worst('blocking', 'p99'),
      maxMs: worst('blocking', 'max'),
      cpuUsPerAppend: round(cpu('blocking')),
    },
    background: {
      p99Ms: worst('background', 'p99'),
      maxMs: worst('background', 'max'),
      cpuUsPerAppend: round(cpu('background')),
    },
    ratio: {
      p99: round(worst('background', 'p99') / worst('blocking', 'p99')),
      max: round(worst('background', 'max') / worst('blocking', 'max')),
      cpuPerAppend: round(cpu('background') / cpu('blocking')),
    },
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exitCode = 1;
});
