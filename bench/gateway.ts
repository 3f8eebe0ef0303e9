/**
 * Gateway benchmark: points per second, CPU seconds per 10,000 points and RSS, for Modbus and
 * OPC UA, at 10,000 and 100,000 points read once a second. One JSON line per scenario.
 *
 *   npm run bench:gateway [-- --only modbus-10k,opcua-10k] [--measure 20] [--warmup-max 60]
 *                          [--cpu-prof DIR] [--heap-snapshot DIR] [--heap-sampling DIR]
 *                          [--child-flags="--max-semi-space-size=4"]
 *
 * Three processes: the peer (synthetic servers and an aedes broker, sim-child.ts), and the
 * measured one (gateway-child.ts), which runs the whole gateway, then the drivers alone (the
 * raw read loop, a baseline), and once per protocol an idle gateway (the other baseline). The
 * machine is shared and noisy: compare the gateway with the baselines of the same run.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { ChildStats, Mode } from './gateway-child.js';
import {
  type Endpoints,
  gatewayConfig,
  idleConfig,
  type Protocol,
  points,
  SCENARIOS,
  type Scenario,
} from './scenarios.js';

const MB = 1024 * 1024;
/** Wanji's goal: 10,000 points/s within 10 % of one core and 150 MB RSS. */
const GOAL = { cpuSecPer10kPoints: 0.1, cpuCoresAt10k: 0.1, rssMBAt10k: 150 };
/** The published mark: EMQ Neuron, Modbus, on a 4-core machine. */
const NEURON: Readonly<Record<number, { cpuCores: number; rssMB: number }>> = {
  10000: { cpuCores: 0.03 * 4, rssMB: 199 },
  100000: { cpuCores: 0.3 * 4, rssMB: 497 },
};

const { values: args } = parseArgs({
  options: {
    only: { type: 'string' },
    measure: { type: 'string', default: '20' },
    'warmup-max': { type: 'string', default: '60' },
    'cpu-prof': { type: 'string' },
    /** Writes a heap snapshot of each measured process at the end of its run into DIR. */
    'heap-snapshot': { type: 'string' },
    /**
     * After each run, samples for 10 s what is allocated and then collected by a full GC (what
     * lived long enough to be promoted, then died: what makes the heap grow) into DIR.
     */
    'heap-sampling': { type: 'string' },
    /** Node/V8 flags for the measured process, e.g. to try heap settings. */
    'child-flags': { type: 'string' },
  },
});
const measureS = Number(args.measure);
const warmupMaxS = Number(args['warmup-max']);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 3) => (Number.isFinite(n) ? Number(n.toPrecision(digits)) : null);

function start(file: string, execArgv: string[] = []): ChildProcess {
  return fork(fileURLToPath(new URL(file, import.meta.url)), [], {
    // Children write to our stderr: stdout carries only the JSON lines (node-opcua prints
    // its warnings on stdout).
    stdio: ['ignore', 2, 2, 'ipc'],
    execArgv,
  });
}

/** Sends `msg` and resolves with the child's next message of type `reply`. */
function ask<T>(c: ChildProcess, msg: object, reply: string, timeoutMs = 300_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${reply} within ${timeoutMs} ms`)), timeoutMs);
    const onMessage = (m: { type?: string }) => {
      if (m.type !== reply) return;
      cleanup();
      resolve(m as T);
    };
    const onExit = (code: number | null) => {
      cleanup();
      reject(new Error(`child exited (${code}) before ${reply}`));
    };
    const cleanup = () => {
      clearTimeout(timer);
      c.off('message', onMessage);
      c.off('exit', onExit);
    };
    c.on('message', onMessage);
    c.on('exit', onExit);
    c.send(msg);
  });
}

async function stop(c: ChildProcess): Promise<void> {
  if (c.exitCode !== null) return;
  const exited = once(c, 'exit');
  c.send({ type: 'stop' });
  const timer = setTimeout(() => c.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

interface Measured {
  readonly pointsPerSec: number;
  readonly cpuCores: number;
  readonly cpuSecPer10kPoints: number | null;
  readonly rssMB: number;
  readonly rssMaxMB: number;
  readonly heapUsedMB: number;
  readonly heapTotalMB: number;
  readonly liveHeapMB: number;
  readonly metricsPerSec: number;
  readonly messagesPerSec: number;
  readonly warmupS: number;
}

async function measure(s: Scenario, mode: Mode, endpoints: Endpoints): Promise<Measured> {
  const dataDir = await mkdtemp(join(tmpdir(), 'wanji-bench-gw-'));
  const prof = args['cpu-prof'];
  const flags = args['child-flags']?.split(' ').filter((f) => f !== '') ?? [];
  const child = start('./gateway-child.js', [
    ...flags,
    ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`, `--cpu-prof-name=${s.name}-${mode}.cpuprofile`] : []),
  ]);
  try {
    const config = mode === 'idle' ? idleConfig(s.protocol, endpoints) : gatewayConfig(s, endpoints);
    await ask(child, { type: 'start', mode, protocol: s.protocol, config, dataDir }, 'ready');
    const stats = () => ask<ChildStats>(child, { type: 'stats' }, 'stats');
    // Warm up until two 2-second windows in a row deliver ≥ 95 % of the points, or, when the
    // peer cannot deliver that many, until the rate has stopped growing (30 s in, the last five
    // windows within 10 % of each other).
    const began = Date.now();
    let prev = await stats();
    if (mode === 'idle') await sleep(5000);
    else {
      let steady = 0;
      const rates: number[] = [];
      const plateau = () => {
        const last = rates.slice(-5);
        if (Date.now() - began < 30_000 || last.length < 5) return false;
        return Math.max(...last) > 0 && Math.min(...last) >= 0.9 * Math.max(...last);
      };
      while (steady < 2 && !plateau() && Date.now() - began < warmupMaxS * 1000) {
        await sleep(2000);
        const cur = await stats();
        const rate = (cur.samples - prev.samples) / ((cur.wallMs - prev.wallMs) / 1000);
        rates.push(rate);
        steady = rate >= 0.95 * points(s) ? steady + 1 : 0;
        prev = cur;
      }
      if (process.env.WANJI_BENCH_DEBUG) process.stderr.write(`${s.name} ${mode}: ${JSON.stringify(prev)}\n`);
      if (steady < 2) {
        process.stderr.write(
          `${s.name} ${mode}: ${Math.round(rates.at(-1) ?? 0)} of ${points(s)} points/s after ${Math.round((Date.now() - began) / 1000)} s; measuring that\n`,
        );
      }
    }
    const warmupS = (Date.now() - began) / 1000;
    const a = await stats();
    await sleep(measureS * 1000);
    const b = await stats();
    // The live heap, when the child runs with --expose-gc (--child-flags=--expose-gc).
    const live = await ask<ChildStats>(child, { type: 'stats', gc: true }, 'stats');
    const snapshots = args['heap-snapshot'];
    if (snapshots !== undefined) {
      const path = join(snapshots, `${s.name}-${mode}.heapsnapshot`);
      await ask(child, { type: 'snapshot', path }, 'snapshot');
    }
    const sampling = args['heap-sampling'];
    if (sampling !== undefined) {
      const path = join(sampling, `${s.name}-${mode}.heapprofile`);
      await ask(child, { type: 'heap-sampling', path, ms: 10_000 }, 'heap-sampling');
    }
    if (process.env.WANJI_BENCH_DEBUG) process.stderr.write(`${s.name} ${mode}: ${JSON.stringify(b)}\n`);
    const wallS = (b.wallMs - a.wallMs) / 1000;
    const cpuS = (b.cpuUs - a.cpuUs) / 1e6;
    const samples = b.samples - a.samples;
    return {
      pointsPerSec: samples / wallS,
      cpuCores: cpuS / wallS,
      cpuSecPer10kPoints: samples > 0 ? (cpuS / samples) * 10_000 : null,
      rssMB: b.rss / MB,
      rssMaxMB: b.rssMax / MB,
      heapUsedMB: b.heapUsed / MB,
      heapTotalMB: b.heapTotal / MB,
      liveHeapMB: live.heapUsed / MB,
      metricsPerSec: (b.publishedMetrics - a.publishedMetrics) / wallS,
      messagesPerSec: (b.messages - a.messages) / wallS,
      warmupS,
    };
  } finally {
    await stop(child);
    await rm(dataDir, { recursive: true, force: true });
  }
}

function shape(m: Measured) {
  return {
    pointsPerSec: round(m.pointsPerSec),
    cpuCores: round(m.cpuCores),
    cpuSecPer10kPoints: m.cpuSecPer10kPoints === null ? null : round(m.cpuSecPer10kPoints),
    rssMB: round(m.rssMB),
    rssMaxMB: round(m.rssMaxMB),
    heapUsedMB: round(m.heapUsedMB),
    heapTotalMB: round(m.heapTotalMB),
    ...(args['child-flags']?.includes('--expose-gc') ? { liveHeapMB: round(m.liveHeapMB) } : {}),
  };
}

async function main(): Promise<void> {
  const only = args.only?.split(',');
  const scenarios = SCENARIOS.filter((s) => only === undefined || only.includes(s.name));
  const idle = new Map<Protocol, Measured>();
  for (const s of scenarios) {
    const sim = start('./sim-child.js');
    try {
      const endpoints = await ask<Endpoints & { type: string }>(sim, { type: 'start', scenario: s }, 'ready');
      if (!idle.has(s.protocol)) idle.set(s.protocol, await measure(s, 'idle', endpoints));
      const driver = await measure(s, 'driver', endpoints);
      const gateway = await measure(s, 'gateway', endpoints);
      const base = idle.get(s.protocol)!;
      const n = points(s);
      const neuron = NEURON[n];
      const line = {
        scenario: s.name,
        protocol: s.protocol,
        points: n,
        machines: s.machines,
        tagsPerMachine: s.tags,
        connections: Math.ceil(s.machines / s.perConnection),
        ...shape(gateway),
        metricsPublishedPerSec: round(gateway.metricsPerSec),
        messagesPerSec: round(gateway.messagesPerSec),
        baseline: {
          idle: { cpuCores: round(base.cpuCores), rssMB: round(base.rssMB) },
          driverOnly: shape(driver),
        },
        // The drivers alone could not read every point: the peer (one process of synthetic
        // servers on a shared machine) is the limit, and only the per-point figures compare.
        peerLimited: driver.pointsPerSec < 0.9 * n,
        ratio: {
          cpuVsDriverOnly: round(gateway.cpuCores / driver.cpuCores),
          cpuAboveIdleCores: round(gateway.cpuCores - base.cpuCores),
          rssAboveIdleMB: round(gateway.rssMB - base.rssMB),
        },
        goal: {
          cpuSecPer10kPoints: GOAL.cpuSecPer10kPoints,
          ...(n === 10_000 ? { cpuCores: GOAL.cpuCoresAt10k, rssMB: GOAL.rssMBAt10k } : {}),
          met:
            gateway.cpuSecPer10kPoints !== null &&
            gateway.cpuSecPer10kPoints <= GOAL.cpuSecPer10kPoints &&
            (n !== 10_000 || gateway.rssMB <= GOAL.rssMBAt10k),
        },
        ...(neuron === undefined
          ? {}
          : {
              neuronModbus: {
                cpuCores: neuron.cpuCores,
                cpuSecPer10kPoints: round((neuron.cpuCores / n) * 10_000),
                rssMB: neuron.rssMB,
              },
            }),
        measuredS: measureS,
        warmupS: round(gateway.warmupS),
        node: process.version,
      };
      process.stdout.write(`${JSON.stringify(line)}\n`);
    } finally {
      await stop(sim);
    }
  }
}

main().catch((err: unknown) => {
  process.stderr.write(
    `bench:gateway failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
  );
  process.exitCode = 1;
});
