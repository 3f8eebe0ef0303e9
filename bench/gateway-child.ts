/**
 * The measured process of the gateway benchmark, in one of three modes:
 * - `gateway`: a whole Gateway (drivers → sampler → edge node → MQTT);
 * - `driver`: the same drivers delivering to a sink that only counts (the raw read loop);
 * - `idle`: a Gateway with no machines, connected to the broker, the protocol's driver loaded.
 * It reports its own CPU time, RSS and counts over IPC when asked.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { performance } from 'node:perf_hooks';
import { writeHeapSnapshot } from 'node:v8';
import { pino } from 'pino';
import { validateGatewayConfig } from '../gateway/config/index.js';
import { Gateway } from '../gateway/gateway.js';
import { createDriver, DRIVERS } from '../gateway/southbound/registry.js';
import type { Driver, DriverSink } from '../gateway/southbound/types.js';
import { systemClock } from '../protocol/clock.js';
import type { Protocol } from './scenarios.js';

export type Mode = 'gateway' | 'driver' | 'idle';

interface Start {
  readonly type: 'start';
  readonly mode: Mode;
  readonly protocol: Protocol;
  readonly config: Record<string, unknown>;
  readonly dataDir: string;
}

export interface ChildStats {
  readonly type: 'stats';
  readonly cpuUs: number;
  readonly wallMs: number;
  readonly rss: number;
  /** The most RSS seen since the last stats request. */
  readonly rssMax: number;
  readonly heapUsed: number;
  readonly heapTotal: number;
  readonly external: number;
  readonly samples: number;
  readonly publishedMetrics: number;
  readonly messages: number;
  readonly bufferedBytes?: number;
}

const logger = pino({ level: process.env.WANJI_BENCH_LOG ?? 'warn' }, pino.destination(2));
let rssMax = 0;
const watchRss = setInterval(() => {
  rssMax = Math.max(rssMax, process.memoryUsage.rss());
}, 250);
watchRss.unref();

type Counts = Pick<ChildStats, 'samples' | 'publishedMetrics' | 'messages' | 'bufferedBytes'>;

async function main(m: Start): Promise<() => Counts> {
  const config = validateGatewayConfig(m.config, `${m.mode} config`);
  if (m.mode === 'driver') {
    let samples = 0;
    const sink: DriverSink = {
      onSample: () => {
        samples++;
      },
      onMachineStatus: () => {},
    };
    const drivers: Driver[] = [];
    for (const connection of config.connections) {
      const machines = config.machines.filter((x) => x.connection === connection.id);
      drivers.push(
        await createDriver({ connection, machines, sink, logger, clock: systemClock, dataDir: m.dataDir }),
      );
    }
    for (const d of drivers) await d.start();
    return () => ({ samples, publishedMetrics: 0, messages: 0 });
  }
  if (m.mode === 'idle') await DRIVERS[m.protocol === 'modbus' ? 'modbus-tcp' : 'opcua']();
  const gw = new Gateway(config, { logger, dataDir: m.dataDir, software: 'wanji bench' });
  await gw.start();
  return () => {
    const s = gw.status();
    return {
      samples: s.sampler.samples ?? 0,
      publishedMetrics: s.sampler.published ?? 0,
      messages: s.edgeNode.counters.published ?? 0,
      bufferedBytes: s.edgeNode.bufferedBytes,
    };
  };
}

/**
 * Samples allocations for `ms` and keeps those a full (major) GC collected: objects that lived
 * long enough to be promoted to the old generation, then died there. Written as a
 * .heapprofile (Chrome DevTools reads it).
 */
async function sampleHeap(path: string, ms: number): Promise<void> {
  const session = new Session();
  session.connect();
  try {
    await session.post('HeapProfiler.startSampling', {
      samplingInterval: 4096,
      includeObjectsCollectedByMajorGC: true,
      includeObjectsCollectedByMinorGC: false,
    } as never);
    await new Promise((r) => setTimeout(r, ms));
    const { profile } = await session.post('HeapProfiler.stopSampling');
    writeFileSync(path, JSON.stringify(profile));
  } finally {
    session.disconnect();
  }
}

process.once('message', (m: Start) => {
  main(m).then(
    (counts) => {
      process.on('message', (q: { type: string; gc?: boolean; path?: string; ms?: number }) => {
        if (q.type === 'heap-sampling' && q.path !== undefined) {
          void sampleHeap(q.path, q.ms ?? 10_000).then(
            () => process.send?.({ type: 'heap-sampling', path: q.path }),
            (err: unknown) => process.stderr.write(`heap sampling failed: ${String(err)}\n`),
          );
        }
        if (q.type === 'snapshot' && q.path !== undefined) {
          // A heap snapshot of what is live now (writing it collects garbage first).
          writeHeapSnapshot(q.path);
          process.send?.({ type: 'snapshot', path: q.path });
        }
        if (q.type === 'stats') {
          // With --expose-gc, the parent can ask for the live heap (after a full collection).
          const gc = (globalThis as { gc?: () => void }).gc;
          if (q.gc === true && gc !== undefined) gc();
          const cpu = process.cpuUsage();
          const mem = process.memoryUsage();
          const rss = mem.rss;
          const stats: ChildStats = {
            type: 'stats',
            cpuUs: cpu.user + cpu.system,
            wallMs: performance.now(),
            rss,
            rssMax: Math.max(rssMax, rss),
            heapUsed: mem.heapUsed,
            heapTotal: mem.heapTotal,
            external: mem.external + mem.arrayBuffers,
            ...counts(),
          };
          rssMax = 0;
          process.send?.(stats);
        }
        if (q.type === 'stop') process.exit(0);
      });
      process.send?.({ type: 'ready' });
    },
    (err: unknown) => {
      process.stderr.write(
        `gateway child failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
      );
      process.exit(1);
    },
  );
});
