/**
 * The hub's ceiling: how many machines one hub process carries at 10 metrics a second each,
 * and what a stored sample costs it in CPU. Prints JSON lines; docs/bench.md explains them.
 *
 *   npm run bench:hub [-- --hosts in-process,tcp --rounds 3 --cost-machines 10000
 *                        --start 5000 --step 5000 --max 60000 --retries 1 --warmup 3 --measure 10
 *                        --devices 100 --publishers 2 --baseline-hub PATH --cpu-prof DIR
 *                        --heap-sampling DIR]
 *
 * The hub runs in this process (SQLite store, its defaults, anonymous MQTT); publisher children
 * (bench/hub-publisher.ts) run synthetic Sparkplug edge nodes of `devices` machines, 10 Double
 * metrics each, every machine one DDATA a second. A measurement: births, `warmup` s, then
 * `measure` s in which the hub's CPU (process.cpuUsage, user + system, all threads), the samples
 * stored and each stored sample's lag (store write done − the sample's timestamp, stamped as the
 * publisher sent it) are counted; then the publishers pause until the hub has stored everything
 * sent (loss = sent − stored). `hostUsPerSample` = hub CPU µs ÷ samples stored in the window.
 *
 * - Cost: every run at `cost-machines`, in `rounds` alternating rounds (a fresh hub each time),
 *   so that all meet the same load; medians and ratios against `tcp` and `baseline`.
 * - Ceiling: per run, steps of `step` machines (edge nodes stay connected) until a step loses a
 *   sample or its store lag p99 exceeds 1 s (after `retries` more tries), or `max` (0: skipped).
 *
 * Runs: `--hosts` picks how the hub's host reaches its embedded broker (HubOptions.hostTransport;
 * `tcp` is the loopback MQTT client it used before); `--baseline-hub PATH` adds another build's
 * compiled hub/hub.js as it comes (an older commit: docs/bench.md says how to make one).
 * `--cpu-prof DIR` writes a V8 CPU profile of each measuring window and prints its top functions;
 * `--heap-sampling DIR` a sampling heap profile of every allocation in it (collected ones too),
 * and prints the functions that allocated most, in bytes per stored sample.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import os, { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { pino } from 'pino';
import { Hub, type HubOptions } from '../hub/hub.js';
import { type FromPublisher, METRICS, type NodeSpec, type ToPublisher } from './hub-publisher.js';
import { LagHistogram, onStoreWrites } from './lag-histogram.js';

type Transport = 'in-process' | 'tcp';
/** A run: one of this build's host transports, or the baseline build as it comes. */
type Run = Transport | 'baseline';
type HubClass = new (options: HubOptions) => Hub;

interface Options {
  hosts: Transport[];
  start: number;
  step: number;
  max: number;
  warmup: number;
  measure: number;
  devices: number;
  publishers: number;
  cpuProf: string | undefined;
  heapSampling: string | undefined;
  baselineHub: string | undefined;
  /** Cost phase: rounds of every run at `costMachines`, alternating; 0 skips it. */
  rounds: number;
  costMachines: number;
  /** A failing ceiling step is measured again this many times before it counts (noise). */
  retries: number;
}

function options(argv: readonly string[]): Options {
  const o: Options = {
    hosts: ['in-process', 'tcp'],
    start: 5_000,
    step: 5_000,
    max: 60_000,
    warmup: 3,
    measure: 10,
    devices: 100,
    publishers: 2,
    cpuProf: undefined,
    heapSampling: undefined,
    baselineHub: undefined,
    rounds: 3,
    costMachines: 10_000,
    retries: 1,
  };
  type NumberKey =
    | 'start'
    | 'step'
    | 'max'
    | 'warmup'
    | 'measure'
    | 'devices'
    | 'publishers'
    | 'rounds'
    | 'costMachines'
    | 'retries';
  const numbers: Record<string, NumberKey> = {
    '--start': 'start',
    '--step': 'step',
    '--max': 'max',
    '--warmup': 'warmup',
    '--measure': 'measure',
    '--devices': 'devices',
    '--publishers': 'publishers',
    '--rounds': 'rounds',
    '--cost-machines': 'costMachines',
    '--retries': 'retries',
  };
  for (let i = 0; i < argv.length; i += 2) {
    const [k = '', v = ''] = [argv[i], argv[i + 1]];
    const key = numbers[k];
    if (key !== undefined) {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`${k} takes a whole number, not "${v}"`);
      o[key] = n;
    } else if (k === '--hosts') {
      const hosts = v.split(',');
      for (const h of hosts) {
        if (h !== 'in-process' && h !== 'tcp') throw new Error(`--hosts: "${h}" is not in-process or tcp`);
      }
      o.hosts = hosts as Transport[];
    } else if (k === '--cpu-prof') o.cpuProf = v;
    else if (k === '--heap-sampling') o.heapSampling = v;
    else if (k === '--baseline-hub') o.baselineHub = v;
    else throw new Error(`unknown option ${k} (see the comment at the top of bench/hub.ts)`);
  }
  for (const [k, v] of [
    ['--start', o.start],
    ['--step', o.step],
    ['--cost-machines', o.costMachines],
  ] as const) {
    if (v <= 0 || v % o.devices !== 0)
      throw new Error(`${k} must be a positive multiple of --devices (${o.devices})`);
  }
  return o;
}

const line = (o: object): void => {
  process.stdout.write(`${JSON.stringify({ bench: 'hub', ...o })}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

class Publishers {
  readonly #children: ChildProcess[] = [];
  readonly #exited: Promise<unknown>[] = [];
  /** Per child, who waits for its next answer (one question at a time). */
  readonly #waiting = new Map<ChildProcess, (m: FromPublisher) => void>();

  constructor(count: number, url: string) {
    for (let i = 0; i < count; i++) {
      const child = fork(fileURLToPath(new URL('./hub-publisher.js', import.meta.url)), [url], {
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      });
      child.on('message', (m: FromPublisher) => {
        if (m.kind === 'error') {
          process.stderr.write(`publisher: ${m.message}\n`);
          return;
        }
        const waiting = this.#waiting.get(child);
        this.#waiting.delete(child);
        waiting?.(m);
      });
      this.#children.push(child);
      this.#exited.push(new Promise((resolve) => child.once('exit', resolve)));
    }
  }

  /** Sends each child its command; resolves with each child's answer. */
  #ask(commands: ToPublisher[]): Promise<FromPublisher[]> {
    return Promise.all(
      this.#children.map(
        (child, i) =>
          new Promise<FromPublisher>((resolve) => {
            this.#waiting.set(child, resolve);
            child.send(commands[i]!);
          }),
      ),
    );
  }

  /** Connects and births these nodes, spread over the children. */
  async add(nodes: readonly NodeSpec[]): Promise<void> {
    const per: NodeSpec[][] = this.#children.map(() => []);
    for (const [i, n] of nodes.entries()) per[i % per.length]!.push(n);
    await this.#ask(per.map((p) => ({ cmd: 'add', nodes: p })));
  }

  run(): void {
    for (const c of this.#children) c.send({ cmd: 'run' } satisfies ToPublisher);
  }

  /** Stops sending; the samples sent in total. */
  async pause(): Promise<number> {
    const answers = await this.#ask(this.#children.map(() => ({ cmd: 'pause' })));
    return answers.reduce((sum, a) => sum + (a.kind === 'paused' ? a.samples : 0), 0);
  }

  async close(): Promise<void> {
    for (const c of this.#children) if (c.connected) c.send({ cmd: 'stop' } satisfies ToPublisher);
    const timer = setTimeout(() => {
      for (const c of this.#children) c.kill('SIGKILL');
    }, 10_000);
    await Promise.all(this.#exited);
    clearTimeout(timer);
  }
}

interface Step {
  machines: number;
  samplesPerSec: number;
  hubCores: number;
  hostUsPerSample: number;
  systemUsPerSample: number;
  lagP50: number;
  lagP99: number;
  lost: number;
  rssMB: number;
  ok: boolean;
}

/** Top functions by self time of a V8 CPU profile. */
interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

/** A profile's function as the printed summaries name it: name, file (from the package), line. */
function frameName(f: CallFrame): string {
  const file = f.url.replace(/^.*\/(node_modules\/|wanji-bench\/)/, '$1');
  return `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
}

/** Writes a profile as `name` (spaces made dashes) in `dir`. */
function saveProfile(dir: string, name: string, profile: unknown): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name.replaceAll(' ', '-')), JSON.stringify(profile));
}

function topSelf(profile: {
  nodes: { id: number; callFrame: CallFrame }[];
  samples?: number[];
}): { fn: string; share: number }[] {
  const counts = new Map<number, number>();
  for (const s of profile.samples ?? []) counts.set(s, (counts.get(s) ?? 0) + 1);
  const total = profile.samples?.length ?? 0;
  const byFn = new Map<string, number>();
  for (const n of profile.nodes) {
    const c = counts.get(n.id) ?? 0;
    if (c === 0) continue;
    const key = frameName(n.callFrame);
    byFn.set(key, (byFn.get(key) ?? 0) + c);
  }
  return [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([fn, c]) => ({ fn, share: +(c / total).toFixed(3) }));
}

interface HeapNode {
  callFrame: CallFrame;
  selfSize: number;
  children: HeapNode[];
}

/** The functions that allocated most in a sampling heap profile, in bytes per stored sample. */
function topAllocations(
  profile: { head: HeapNode },
  samples: number,
): { fn: string; bytesPerSample: number }[] {
  const byFn = new Map<string, number>();
  const visit = (n: HeapNode): void => {
    if (n.selfSize > 0) {
      const key = frameName(n.callFrame);
      byFn.set(key, (byFn.get(key) ?? 0) + n.selfSize);
    }
    for (const c of n.children) visit(c);
  };
  visit(profile.head);
  return [...byFn.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, 20)
    .map(([fn, bytes]) => ({ fn, bytesPerSample: +(bytes / Math.max(1, samples)).toFixed(1) }));
}

async function search(host: Run, o: Options, HubOf: HubClass, phase: string): Promise<Step[]> {
  const dataDir = mkdtempSync(join(tmpdir(), 'wanji-bench-hub-'));
  const hub = new HubOf({
    dataDir,
    mqtt: { port: 0, allowAnonymous: true },
    http: { port: 0 },
    logger: pino({ level: process.env.WANJI_BENCH_LOG ?? 'silent' }),
    ...(host === 'baseline' ? {} : { hostTransport: host }),
  });
  await hub.start();
  // Each stored sample's lag, from the publisher's stamp to the end of its store write.
  let lags: LagHistogram | undefined;
  onStoreWrites(hub.store, (samples, now) => {
    if (lags === undefined) return;
    // Samples of one message share their timestamp: one histogram entry per run of them.
    let run = 0;
    let ts = Number.NaN;
    for (const s of samples) {
      if (s.ts !== ts) {
        if (run > 0) lags.add(now - ts, run);
        ts = s.ts;
        run = 0;
      }
      run++;
    }
    if (run > 0) lags.add(now - ts, run);
  });
  const idle0 = process.cpuUsage();
  await sleep(2_000);
  const idle = process.cpuUsage(idle0);
  line({ phase, host, idleCores: +((idle.user + idle.system) / 2e6).toFixed(3) });
  const publishers = new Publishers(o.publishers, hub.mqttUrl);
  const steps: Step[] = [];
  const written = (): number => hub.ingest.counters.samplesWritten;
  let nodes = 0;
  let sentTotal = 0;
  try {
    for (let machines = o.start; machines <= o.max; machines += o.step) {
      const add: NodeSpec[] = [];
      for (; nodes * o.devices < machines; nodes++) {
        add.push({ group: `bench${nodes % 10}`, node: `gw${nodes}`, devices: o.devices });
      }
      const births = written();
      await publishers.add(add);
      // The births (10 samples per machine) stored before the clock starts.
      const birthSamples = add.length * o.devices * METRICS;
      while (written() < births + birthSamples) await sleep(50);
      let step: Step | undefined;
      for (let attempt = 0; attempt <= o.retries && step?.ok !== true; attempt++) {
        const sentBefore = written();
        publishers.run();
        await sleep(o.warmup * 1_000);
        lags = new LagHistogram();
        const profiler = o.cpuProf === undefined ? undefined : new Session();
        if (profiler !== undefined) {
          profiler.connect();
          await profiler.post('Profiler.enable');
          await profiler.post('Profiler.start');
        }
        const heap = o.heapSampling === undefined ? undefined : new Session();
        if (heap !== undefined) {
          heap.connect();
          await heap.post('HeapProfiler.enable');
          // Every allocation sampled, collected or not: what the garbage collector has to handle.
          await heap.post('HeapProfiler.startSampling', {
            samplingInterval: 16_384,
            includeObjectsCollectedByMajorGC: true,
            includeObjectsCollectedByMinorGC: true,
          });
        }
        const [w0, c0, t0] = [written(), process.cpuUsage(), performance.now()];
        await sleep(o.measure * 1_000);
        const [w1, c, t1] = [written(), process.cpuUsage(c0), performance.now()];
        const window = lags;
        lags = undefined;
        if (heap !== undefined && o.heapSampling !== undefined) {
          const { profile } = await heap.post('HeapProfiler.stopSampling');
          heap.disconnect();
          saveProfile(o.heapSampling, `hub-${phase}-${host}-${machines}-${attempt}.heapprofile`, profile);
          line({ phase, host, machines, allocated: topAllocations(profile, w1 - w0) });
        }
        if (profiler !== undefined && o.cpuProf !== undefined) {
          const { profile } = await profiler.post('Profiler.stop');
          profiler.disconnect();
          saveProfile(o.cpuProf, `hub-${phase}-${host}-${machines}-${attempt}.cpuprofile`, profile);
          line({ phase, host, machines, profile: topSelf(profile) });
        }
        const total = await publishers.pause();
        const sent = total - sentTotal;
        sentTotal = total;
        // Drained: everything sent is stored, or nothing more arrives for 5 s.
        let last = -1;
        let still = 0;
        while (written() - sentBefore < sent && still < 100) {
          still = written() === last ? still + 1 : 0;
          last = written();
          await sleep(50);
        }
        const c2 = hub.ingest.counters;
        const lost = sent - (written() - sentBefore);
        const seconds = (t1 - t0) / 1000;
        const cpuUs = c.user + c.system;
        step = {
          machines,
          samplesPerSec: Math.round((w1 - w0) / seconds),
          hubCores: +(cpuUs / 1e6 / seconds).toFixed(3),
          hostUsPerSample: +(cpuUs / Math.max(1, w1 - w0)).toFixed(2),
          // Of which in the kernel (socket reads, the store's and registry's file writes).
          systemUsPerSample: +(c.system / Math.max(1, w1 - w0)).toFixed(2),
          lagP50: window.quantile(0.5),
          lagP99: window.quantile(0.99),
          lost,
          rssMB: Math.round(process.memoryUsage().rss / 1e6),
          ok: false,
        };
        step.ok = lost === 0 && step.lagP99 <= 1;
        line({
          phase,
          host,
          ...step,
          attempt,
          targetSamplesPerSec: machines * METRICS,
          refused: c2.samplesRefused,
          seqGaps: hub.host.counters.seqGaps,
          rebirthRequests: hub.host.counters.rebirthRequests,
          load: os.loadavg().map((l) => +l.toFixed(2)),
        });
      }
      steps.push(step!);
      if (!step!.ok) break;
      // The publishers could not send at the rate: the machine, not the hub, is the limit here.
      if (step!.samplesPerSec < 0.95 * machines * METRICS) {
        line({
          phase,
          host,
          machines,
          note: 'stored < 95 % of the target rate with no loss: publishers or machine limited',
        });
        break;
      }
    }
  } finally {
    await publishers.close();
    await hub.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return steps;
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
  const runs: [Run, HubClass][] = o.hosts.map((h) => [h, Hub]);
  if (o.baselineHub !== undefined) {
    const mod = (await import(pathToFileURL(resolve(o.baselineHub)).href)) as { Hub: HubClass };
    runs.unshift(['baseline', mod.Hub]);
  }
  // Cost: every run at one level, in alternating rounds, so that all meet the same load.
  const costs = new Map<Run, number[]>();
  const fixed = { ...o, start: o.costMachines, step: o.costMachines, max: o.costMachines, retries: 0 };
  for (let r = 0; r < o.rounds; r++) {
    for (const [host, HubOf] of runs) {
      const [step] = await search(host, fixed, HubOf, `cost round ${r + 1}`);
      if (step !== undefined) costs.set(host, [...(costs.get(host) ?? []), step.hostUsPerSample]);
    }
  }
  const median = (xs: number[]): number => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length === 0
      ? Number.NaN
      : s.length % 2 === 1
        ? s[(s.length - 1) / 2]!
        : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
  };
  if (costs.size > 0) {
    const medians = Object.fromEntries([...costs].map(([h, xs]) => [h, +median(xs).toFixed(2)]));
    const fast = medians['in-process'];
    const ratios = Object.fromEntries(
      (['tcp', 'baseline'] as const)
        .filter((b) => fast !== undefined && medians[b] !== undefined)
        .map((b) => [`in-process ÷ ${b}`, +(fast! / medians[b]!).toFixed(3)]),
    );
    line({
      phase: 'cost',
      machines: o.costMachines,
      hostUsPerSampleMedian: medians,
      perRound: Object.fromEntries(costs),
      ratio: ratios,
      goal: 'hostUsPerSample ≤ 3 µs',
      met: fast !== undefined && fast <= 3,
    });
  }
  // Ceiling: the step search, run after run (`--max 0` skips it).
  for (const [host, HubOf] of o.max < o.start ? [] : runs) {
    const steps = await search(host, o, HubOf, 'ceiling');
    const best = steps.filter((s) => s.ok).at(-1);
    line({
      phase: 'ceiling',
      host,
      ceilingMachines: best?.machines ?? 0,
      limitedBy: steps.at(-1)?.ok === false ? 'loss or lag p99 > 1 s' : 'steps or publishers',
      hostUsPerSampleAtCeiling: best?.hostUsPerSample,
      hubCoresAtCeiling: best?.hubCores,
      goal: '30,000 machines',
      met: (best?.machines ?? 0) >= 30_000,
    });
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:hub failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
