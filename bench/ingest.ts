/**
 * Ingest benchmark: samples per second from MQTT to the store, against writing the same line
 * protocol (or, for SQLite, the same samples) straight to the same database, in one run.
 * The ratio pipeline ÷ direct is the figure (goal ≥ 0.5). Prints JSON lines.
 *
 *   npm run bench:ingest [-- --rounds 3 --direct-seconds 3 --pipeline-seconds 6 --publishers 2
 *                           --publisher-nice 0 --machines 500 --stores sqlite,influxdb-v1,influxdb-v2]
 *
 * Pipeline: child processes run mqtt.js edge nodes that publish Sparkplug DDATA (10 Double
 * metrics each) to the hub's embedded broker; the hub's host decodes, the ingest batches, the
 * store writes. Publishers are flow-controlled by what the store has written (a window of
 * samples ahead of `samplesWritten`, below the ingest's bound), the way journal
 * acknowledgements will pace gateways, so nothing is refused and the store is the limit.
 * Direct: the same samples, same batch size, one request in flight, no MQTT and no hub.
 * The two alternate in rounds so that both meet the same load on the machine.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Hub } from '../hub/hub.js';
import { createStore } from '../hub/store/index.js';
import { encodeSamples, SeriesKeys } from '../hub/store/influxdb/line-protocol.js';
import type { Sample } from '../hub/store/types.js';
import { findBinary, startInfluxd, startVictoriaMetrics } from '../test/support/influx-servers.js';
import { METRICS, type PublisherData, T0 } from './ingest-publisher.js';

const BATCH = 10_000;
const WINDOW = 100_000;

interface Options {
  rounds: number;
  directSeconds: number;
  pipelineSeconds: number;
  publishers: number;
  /**
   * Niceness of the publisher processes. In production they are other machines; a positive
   * value gives them only the CPU the hub and the database leave (on a machine with other
   * load, it starves them instead).
   */
  publisherNice: number;
  machines: number;
  stores: string[];
}

function options(argv: readonly string[]): Options {
  const o: Options = {
    rounds: 3,
    directSeconds: 3,
    pipelineSeconds: 6,
    publishers: 2,
    publisherNice: 0,
    machines: 500,
    stores: ['sqlite', 'influxdb-v1', 'influxdb-v2'],
  };
  type NumberKey =
    | 'rounds'
    | 'directSeconds'
    | 'pipelineSeconds'
    | 'publishers'
    | 'publisherNice'
    | 'machines';
  const numbers: Record<string, NumberKey> = {
    '--rounds': 'rounds',
    '--direct-seconds': 'directSeconds',
    '--pipeline-seconds': 'pipelineSeconds',
    '--publishers': 'publishers',
    '--publisher-nice': 'publisherNice',
    '--machines': 'machines',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [k = '', v = ''] = [argv[i], argv[i + 1]];
    const key = numbers[k];
    if (key !== undefined) o[key] = Number(v);
    else if (k === '--stores') o.stores = v.split(',');
    else throw new Error(`unknown option ${k} (see the comment at the top of bench/ingest.ts)`);
  }
  return o;
}

const line = (o: object): void => {
  process.stdout.write(`${JSON.stringify({ bench: 'ingest', ...o })}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** The same shape of samples the publishers send (machines × 10 Double metrics), batch by batch. */
function* sampleBatches(machines: number): Generator<Sample[]> {
  for (let n = 0; ; ) {
    const batch: Sample[] = [];
    while (batch.length < BATCH) {
      const machine = `d${n % machines}`;
      const ts = T0 + 1 + Math.floor(n / machines);
      for (let k = 0; k < METRICS; k++) {
        batch.push({ enterprise: 'bench', machine, metric: `Signals/s${k}`, ts, value: n + k });
      }
      n++;
    }
    yield batch;
  }
}

interface Scenario {
  readonly name: string;
  /** The hub's store config. */
  readonly store: Record<string, unknown>;
  /** One batch written straight to the database; resolves when it has it. */
  direct(batch: Sample[]): Promise<void>;
  close(): Promise<void>;
}

async function post(url: string, body: string, expect = 204): Promise<void> {
  const res = await fetch(url, { method: 'POST', body, headers: { 'content-type': 'text/plain' } });
  const text = await res.text();
  if (res.status !== expect) throw new Error(`${url}: HTTP ${res.status}: ${text}`);
}

async function scenario(name: string, dataDir: string): Promise<Scenario | undefined> {
  if (name === 'sqlite') {
    const logger = pino({ level: 'silent' });
    const store = createStore({ type: 'sqlite', path: join(dataDir, 'direct.db') }, { dataDir, logger });
    await store.start();
    return { name, store: { type: 'sqlite' }, direct: (b) => store.write(b), close: () => store.close() };
  }
  const v1 = name === 'influxdb-v1';
  const kind = v1 ? 'influxd' : 'victoria-metrics';
  if (findBinary(kind) === undefined) {
    line({ store: name, skipped: `${kind} is not installed` });
    return undefined;
  }
  const server = v1 ? await startInfluxd() : await startVictoriaMetrics();
  const keys = new SeriesKeys('bench_direct');
  const body = (b: Sample[]): string => encodeSamples(b, { keys, writeStrings: true }).lines.join('\n');
  const close = (): Promise<void> => server.close();
  if (v1) {
    await post(`${server.url}/query?q=${encodeURIComponent('CREATE DATABASE bench')}`, '', 200);
    const store = { type: 'influxdb', api: 'v1', url: server.url, database: 'bench' };
    return { name, store, direct: (b) => post(`${server.url}/write?db=bench&precision=ms`, body(b)), close };
  }
  const store = { type: 'influxdb', url: server.url, bucket: 'bench', history: 'none', writeStrings: false };
  return {
    name,
    store,
    direct: (b) => post(`${server.url}/api/v2/write?bucket=bench&precision=ms`, body(b)),
    close,
  };
}

/** Direct writes for `seconds`: samples written. */
async function direct(s: Scenario, batches: Generator<Sample[]>, seconds: number): Promise<number> {
  let samples = 0;
  const start = performance.now();
  while (performance.now() - start < seconds * 1000) {
    const b = batches.next().value as Sample[];
    await s.direct(b);
    samples += b.length;
  }
  return samples;
}

/**
 * The hub with its store and the publisher processes, which it paces: together they may run
 * ahead of what the store has written by WINDOW samples, or are paused.
 */
class PipelineRig {
  readonly hub: Hub;
  /** ms a store write was in flight. */
  busyMs = 0;
  readonly #o: Options;
  readonly #publishers: ChildProcess[] = [];
  #exited: Promise<unknown>[] = [];
  #allowance = 0;
  #pacer: NodeJS.Timeout | undefined;
  #births = 0;

  constructor(s: Scenario, o: Options, dataDir: string) {
    this.#o = o;
    this.hub = new Hub({
      dataDir,
      mqtt: { port: 0, allowAnonymous: true },
      http: { port: 0 },
      logger: pino({ level: process.env.WANJI_BENCH_LOG ?? 'silent' }),
      store: s.store,
    });
  }

  get written(): number {
    return this.hub.ingest.counters.samplesWritten;
  }

  async start(): Promise<void> {
    await this.hub.start();
    // Measures how much of the time a store write is in flight: near 1, the store is the limit.
    const store = this.hub.store;
    const write = store.write.bind(store);
    Object.assign(store, {
      write: async (samples: readonly Sample[]): Promise<void> => {
        const t = performance.now();
        try {
          await write(samples);
        } finally {
          this.busyMs += performance.now() - t;
        }
      },
    });
    const o = this.#o;
    for (let index = 0; index < o.publishers; index++) {
      const data: PublisherData = { url: this.hub.mqttUrl, index, machines: o.machines };
      const child = fork(
        fileURLToPath(new URL('./ingest-publisher.js', import.meta.url)),
        [JSON.stringify(data)],
        {
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        },
      );
      if (child.pid !== undefined && o.publisherNice !== 0) os.setPriority(child.pid, o.publisherNice);
      this.#publishers.push(child);
      this.#exited.push(new Promise((resolve) => child.once('exit', resolve)));
    }
    this.#births = o.publishers * o.machines * METRICS;
    await this.#waitFor(() => this.written >= this.#births);
  }

  resume(): void {
    const o = this.#o;
    const pace = (): void => {
      const each = Math.max(0, Math.floor((this.written - this.#births + WINDOW) / METRICS / o.publishers));
      if (each !== this.#allowance) this.#allow(each);
    };
    pace();
    this.#pacer = setInterval(pace, 5);
  }

  /** Stops the publishers where they are and waits until the hub has stored everything sent. */
  async pause(): Promise<void> {
    clearInterval(this.#pacer);
    const hostMessages = (): number => this.hub.host.counters.messages;
    let last = -1;
    while (last !== hostMessages() || this.hub.ingest.pendingSamples > 0) {
      last = hostMessages();
      await sleep(100);
    }
  }

  async close(): Promise<void> {
    clearInterval(this.#pacer);
    this.#allow(-1);
    const timer = setTimeout(() => {
      for (const p of this.#publishers) p.kill('SIGKILL');
    }, 10_000);
    await Promise.all(this.#exited);
    clearTimeout(timer);
    await this.hub.close();
  }

  #allow(messages: number): void {
    this.#allowance = messages;
    for (const p of this.#publishers) if (p.connected) p.send({ allow: messages });
  }

  async #waitFor(cond: () => boolean): Promise<void> {
    while (!cond()) await sleep(20);
  }
}

const RAMP_MS = 1_000;

/**
 * Rounds of direct writes (publishers paused, hub idle) and pipeline (publishers on), so
 * that both see the same machine load; the rates are totals over all rounds.
 */
async function run(s: Scenario, o: Options, dataDir: string): Promise<void> {
  const batches = sampleBatches(o.publishers * o.machines);
  for (let i = 0; i < 3; i++) await s.direct(batches.next().value as Sample[]);
  const rig = new PipelineRig(s, o, dataDir);
  const t = { direct: 0, directSec: 0, pipeline: 0, pipelineSec: 0, busyMs: 0 };
  const ratios: number[] = [];
  try {
    await rig.start();
    for (let r = 0; r < o.rounds; r++) {
      const d0 = performance.now();
      const d = await direct(s, batches, o.directSeconds);
      const dSec = (performance.now() - d0) / 1000;
      rig.resume();
      await sleep(RAMP_MS);
      const [p0, w0, b0] = [performance.now(), rig.written, rig.busyMs];
      await sleep(o.pipelineSeconds * 1000);
      const [p, pSec] = [rig.written - w0, (performance.now() - p0) / 1000];
      t.busyMs += rig.busyMs - b0;
      await rig.pause();
      Object.assign(t, {
        direct: t.direct + d,
        directSec: t.directSec + dSec,
        pipeline: t.pipeline + p,
        pipelineSec: t.pipelineSec + pSec,
      });
      ratios.push(+(p / pSec / (d / dSec)).toFixed(3));
    }
    const c = rig.hub.ingest.counters;
    const directRate = t.direct / t.directSec;
    const pipelineRate = t.pipeline / t.pipelineSec;
    const common = { store: s.name, rounds: o.rounds };
    line({
      ...common,
      phase: 'direct',
      samples: t.direct,
      seconds: +t.directSec.toFixed(2),
      samplesPerSec: Math.round(directRate),
    });
    line({
      ...common,
      phase: 'pipeline',
      samples: t.pipeline,
      seconds: +t.pipelineSec.toFixed(2),
      samplesPerSec: Math.round(pipelineRate),
      publishers: o.publishers,
      machines: o.publishers * o.machines,
      metricsPerMessage: METRICS,
      refused: c.samplesRefused,
      storeErrors: c.storeErrors,
      maxPendingSamples: c.maxPendingSamples,
      storeBusy: +(t.busyMs / 1000 / t.pipelineSec).toFixed(2),
    });
    const ratio = +(pipelineRate / directRate).toFixed(3);
    line({ ...common, ratio, ratioPerRound: ratios, goal: 0.5, meetsGoal: ratio >= 0.5 });
  } finally {
    await rig.close();
  }
}

async function main(): Promise<void> {
  const o = options(process.argv.slice(2));
  line({
    start: new Date().toISOString(),
    node: process.version,
    cpus: os.cpus().length,
    load: os.loadavg().map((l) => +l.toFixed(2)),
    options: o,
  });
  for (const name of o.stores) {
    const dataDir = mkdtempSync(join(tmpdir(), `wanji-bench-${name}-`));
    const s = await scenario(name, dataDir);
    if (s === undefined) continue;
    try {
      await run(s, o, dataDir);
    } finally {
      await s.close();
      rmSync(dataDir, { recursive: true, force: true });
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:ingest failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
