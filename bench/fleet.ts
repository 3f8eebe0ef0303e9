/**
 * The fleet at the programme's size, end to end: simulated OPC UA and Modbus machines, real
 * gateways (report by exception, heartbeats, journals on) and the hub into its store. Prints
 * JSON lines; docs/bench.md explains them.
 *
 *   npm run bench:fleet [-- --machines 10000 --seconds 60 --store sqlite|influxdb|victoriametrics|ADDRESS
 *                          --seed 1 --poll-ms 2000 --sim-processes N --gateway-processes N
 *                          --network-timeout 180]
 *
 * `--store influxdb` / `victoriametrics` starts a private server from the Debian package
 * (influxd 1.x, victoria-metrics) in a temporary folder, as the tests do; an address
 * (influxdb://host:8086/DB, victoriametrics://host:8428) uses a running one.
 *
 * The hub runs alone in this process, as `wanji demo` runs it; the simulators and the gateways
 * run in child processes (at least one of each, so the hub's CPU is its own). Phases:
 * - networking: from the start of the gateways until every machine is networked at the hub (or
 *   `network-timeout` s): `networkedSeconds` (from the bench's start, as the demo counts) and
 *   `networkedFromGatewaysSeconds`.
 * - run: `seconds` of steady load: samples stored per second, the store lag of every stored
 *   sample (store write done − the sample's time; an OPC UA sample's time is the simulator's
 *   change of the value, a Modbus sample's the gateway's read, so a Modbus value may wait up to
 *   one poll more before that), CPU (cores) and RSS of the hub, the gateways' and the
 *   simulators' processes.
 * - drain: the gateways stop as a shutdown does (what they read is journalled and published) and
 *   report every value they sent (DDATA and DBIRTH); the hub stores what is in flight; loss =
 *   values sent − values stored when positive. Delivery is at least once: a birth the hub asked
 *   for again (`rebirths`) or a journal replay after a reconnect (`journalReplayed`) sends values
 *   a second time, which the store keeps once per machine, metric and time but the hub counts
 *   as written again (`duplicates`). `journalBacklog`: sent, stored, not yet acknowledged.
 * - result: the figures against the goals of issue 13 (all networked ≤ 60 s, loss 0, p99 < 1 s,
 *   hub < 1 core).
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os, { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import type { DemoGateways } from '../cli/demo-gateways.js';
import { routeOpcuaLogs } from '../cli/opcua-logs.js';
import { storeFromAddress } from '../cli/store-url.js';
import { Hub } from '../hub/hub.js';
import { generateFleet } from '../simulators/fleet.js';
import { startInfluxd, startVictoriaMetrics, type TestServer } from '../test/support/influx-servers.js';
import { LagHistogram, onStoreWrites } from './lag-histogram.js';

interface Options {
  machines: number;
  seconds: number;
  store: string;
  seed: number;
  /** Undefined: the demo's choice (defaults picked once the modules are loaded). */
  pollMs: number | undefined;
  simProcesses: number | undefined;
  gatewayProcesses: number | undefined;
  networkTimeout: number;
  /** A folder for V8 CPU profiles of the gateway and simulator processes. */
  cpuProf: string | undefined;
}

function options(): Options {
  const { values } = parseArgs({
    options: {
      machines: { type: 'string' },
      seconds: { type: 'string' },
      store: { type: 'string' },
      seed: { type: 'string' },
      'poll-ms': { type: 'string' },
      'sim-processes': { type: 'string' },
      'gateway-processes': { type: 'string' },
      'network-timeout': { type: 'string' },
      'cpu-prof': { type: 'string' },
    },
  });
  function num(v: string | undefined, fallback: number): number;
  function num(v: string | undefined, fallback: undefined): number | undefined;
  function num(v: string | undefined, fallback: number | undefined): number | undefined {
    const n = v === undefined ? fallback : Number(v);
    if (n !== undefined && (!Number.isFinite(n) || n < 0)) throw new Error(`not a number: ${v}`);
    return n;
  }
  const machines = num(values.machines, 10_000);
  return {
    machines,
    seconds: num(values.seconds, 60),
    store: values.store ?? 'sqlite',
    seed: num(values.seed, 1),
    pollMs: num(values['poll-ms'], undefined),
    simProcesses: num(values['sim-processes'], undefined),
    gatewayProcesses: num(values['gateway-processes'], undefined),
    networkTimeout: num(values['network-timeout'], 180),
    cpuProf: values['cpu-prof'],
  };
}

const line = (o: object): void => {
  process.stdout.write(`${JSON.stringify({ bench: 'fleet', ...o })}\n`);
};
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const round = (n: number, digits = 3): number => +n.toFixed(digits);

/** CPU seconds (user + system) and RSS of a process, from /proc. */
function procUsage(pid: number): { cpuSeconds: number; rssMb: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(fields[11]) + Number(fields[12]);
    const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return { cpuSeconds: ticks / 100, rssMb: rss === null ? 0 : Number(rss[1]) / 1024 };
  } catch {
    return undefined;
  }
}

/** CPU seconds and RSS summed over processes. */
function usageOf(pids: readonly (number | undefined)[]): { cpuSeconds: number; rssMb: number } {
  let cpuSeconds = 0;
  let rssMb = 0;
  for (const pid of pids) {
    const u = pid === undefined ? undefined : procUsage(pid);
    if (u === undefined) continue;
    cpuSeconds += u.cpuSeconds;
    rssMb += u.rssMb;
  }
  return { cpuSeconds, rssMb };
}

function hubUsage(): { cpuSeconds: number; rssMb: number } {
  const c = process.cpuUsage();
  return { cpuSeconds: (c.user + c.system) / 1e6, rssMb: process.memoryUsage().rss / 2 ** 20 };
}

async function main(): Promise<void> {
  const o = options();
  const began = Date.now();
  const dataDir = mkdtempSync(join(tmpdir(), 'wanji-bench-fleet-'));
  const logFile = join(tmpdir(), `wanji-bench-fleet-${began}.log`);
  const logger = pino(
    { level: process.env.WANJI_BENCH_LOG ?? 'warn' },
    pino.destination({ dest: logFile, sync: false }),
  );
  // Before node-opcua speaks: its notices go to the log file, not to stdout.
  routeOpcuaLogs(logger);
  const { DemoGateways } = await import('../cli/demo-gateways.js');
  const { MACHINES_PER_GATEWAY_PROCESS } = await import('../cli/gateway-pool.js');
  const { demoModbusTimeoutMs, demoPollIntervalMs, DEMO_JOURNAL_FSYNC_MS, GATEWAY_START_SPACING_MS } =
    await import('../cli/demo.js');
  const { gatewayConfigsForFleet } = await import('../cli/fleet-gateways.js');
  const { SimFleetProcesses, MACHINES_PER_SIM_PROCESS } = await import('../simulators/fleet-processes.js');
  // As the demo runs them, but always in child processes: the hub's CPU is then its own.
  const pollMs = o.pollMs ?? demoPollIntervalMs(o.machines);
  const simProcesses = o.simProcesses ?? Math.ceil(o.machines / MACHINES_PER_SIM_PROCESS);
  const gatewayProcesses = o.gatewayProcesses ?? Math.ceil(o.machines / MACHINES_PER_GATEWAY_PROCESS);
  const plan = generateFleet({ machines: o.machines, seed: o.seed });
  const protocolOf = new Map(plan.machines.map((m) => [m.id, m.protocol]));
  line({
    phase: 'config',
    machines: plan.machines.length,
    enterprises: plan.enterprises.length,
    opcua: plan.machines.filter((m) => m.protocol === 'opcua').length,
    modbus: plan.machines.filter((m) => m.protocol !== 'opcua').length,
    store: o.store.replace(/\/\/[^@/]*@/, '//***@'),
    pollMs,
    seconds: o.seconds,
    simProcesses,
    gatewayProcesses,
    cores: os.availableParallelism(),
    load1: round(os.loadavg()[0]!, 2),
    log: logFile,
  });

  // A private store server, when asked for by kind rather than address.
  let storeServer: TestServer | undefined;
  let storeAddress = o.store;
  if (o.store === 'influxdb') {
    storeServer = await startInfluxd();
    storeAddress = `influxdb://127.0.0.1:${storeServer.port}/wanji`;
  } else if (o.store === 'victoriametrics') {
    storeServer = await startVictoriaMetrics();
    storeAddress = `victoriametrics://127.0.0.1:${storeServer.port}`;
  }
  const hub = new Hub({
    dataDir,
    mqtt: { host: '127.0.0.1', port: 0, allowAnonymous: true },
    http: { host: '127.0.0.1', port: 0 },
    store: storeFromAddress(storeAddress),
    logger,
  });
  await hub.start();
  for (const e of plan.enterprises) hub.registry.upsertEnterprise(e, 'bench:fleet');

  // Each stored sample's lag, by protocol; counted only in the run window.
  let lags: { opcua: LagHistogram; modbus: LagHistogram } | undefined;
  onStoreWrites(hub.store, (samples, now) => {
    if (lags === undefined) return;
    for (const s of samples)
      (protocolOf.get(s.machine) === 'opcua' ? lags.opcua : lags.modbus).add(now - s.ts);
  });

  const fleet = new SimFleetProcesses(
    { machines: o.machines, seed: o.seed },
    {
      logger,
      processes: simProcesses,
      ...(o.cpuProf !== undefined ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', o.cpuProf] } : {}),
      onChildExit: (exit) => line({ phase: 'error', what: `simulator process ${exit.index} died` }),
    },
  );
  let gateways: DemoGateways | undefined;
  try {
    await fleet.start();
    const configs = gatewayConfigsForFleet(fleet, {
      mqttUrl: hub.mqttUrl,
      primaryHost: hub.config.hostId,
      dataDir: join(dataDir, 'gateways'),
      opcuaPkiDir: join(dataDir, 'gateways', 'pki'),
      pollIntervalMs: pollMs,
      modbusTimeoutMs: demoModbusTimeoutMs(o.machines),
      journalFsyncIntervalMs: DEMO_JOURNAL_FSYNC_MS,
    });
    gateways = new DemoGateways(configs, {
      logger,
      disconnectMqttClient: (id) => hub.disconnectMqttClient(id),
      startSpacingMs: GATEWAY_START_SPACING_MS,
      processes: gatewayProcesses,
      ...(o.cpuProf !== undefined ? { execArgv: ['--cpu-prof', '--cpu-prof-dir', o.cpuProf] } : {}),
      onChildExit: (exit) => line({ phase: 'error', what: `gateway process ${exit.index} died` }),
    });
    const gatewaysBegan = Date.now();
    await gateways.start();
    const total = plan.machines.length;
    let networked = 0;
    let lastPrint = 0;
    while (Date.now() - gatewaysBegan < o.networkTimeout * 1000) {
      networked = hub.stats().networked;
      if (networked >= total) break;
      if (Date.now() - lastPrint >= 5000) {
        lastPrint = Date.now();
        line({ phase: 'networking', seconds: round((Date.now() - began) / 1000, 1), networked, total });
      }
      await sleep(250);
    }
    const networkedSeconds = round((Date.now() - began) / 1000, 1);
    line({
      phase: 'networked',
      networked,
      total,
      networkedSeconds,
      networkedFromGatewaysSeconds: round((Date.now() - gatewaysBegan) / 1000, 1),
    });

    // The run: steady load.
    const children = { gateways: gateways.pids, sims: fleet.pids };
    const at0 = {
      hub: hubUsage(),
      gw: usageOf(children.gateways),
      sim: usageOf(children.sims),
      t: Date.now(),
    };
    const written0 = hub.ingest.counters.samplesWritten;
    lags = { opcua: new LagHistogram(), modbus: new LagHistogram() };
    let peakHubRss = 0;
    let peakGwRss = 0;
    for (let s = 0; s < o.seconds; s++) {
      await sleep(1000);
      peakHubRss = Math.max(peakHubRss, hubUsage().rssMb);
      peakGwRss = Math.max(peakGwRss, usageOf(children.gateways).rssMb);
    }
    const at1 = {
      hub: hubUsage(),
      gw: usageOf(children.gateways),
      sim: usageOf(children.sims),
      t: Date.now(),
    };
    const window = lags;
    lags = undefined;
    const secs = (at1.t - at0.t) / 1000;
    const cores = (a: { cpuSeconds: number }, b: { cpuSeconds: number }): number =>
      round((b.cpuSeconds - a.cpuSeconds) / secs);
    const run = {
      phase: 'run',
      seconds: round(secs, 1),
      samplesPerSecond: Math.round((hub.ingest.counters.samplesWritten - written0) / secs),
      lagP50: round(Math.max(window.opcua.quantile(0.5), window.modbus.quantile(0.5)), 2),
      lagP99: round(Math.max(window.opcua.quantile(0.99), window.modbus.quantile(0.99)), 2),
      opcua: {
        samples: window.opcua.count,
        lagP50: window.opcua.quantile(0.5),
        lagP99: window.opcua.quantile(0.99),
      },
      modbus: {
        samples: window.modbus.count,
        lagP50: window.modbus.quantile(0.5),
        lagP99: window.modbus.quantile(0.99),
      },
      hubCores: cores(at0.hub, at1.hub),
      hubRssMb: Math.round(peakHubRss),
      gatewayCores: cores(at0.gw, at1.gw),
      gatewayRssMb: Math.round(peakGwRss),
      simCores: cores(at0.sim, at1.sim),
      simRssMb: Math.round(at1.sim.rssMb),
      networkedAtEnd: hub.stats().networked,
      onlineAtEnd: hub.stats().online,
    };
    line(run);

    // The drain: every value the gateways sent, against every value the hub stored.
    const sent = await gateways.stopAll();
    let stored = hub.ingest.counters.samplesWritten;
    for (let still = 0; still < 6; ) {
      await sleep(500);
      const now = hub.ingest.counters.samplesWritten;
      still = now === stored && hub.ingest.pendingSamples === 0 ? still + 1 : 0;
      stored = now;
    }
    const generated = sent.published + sent.birthValues;
    const c = hub.ingest.counters;
    line({
      phase: 'drain',
      gateways: sent.gateways,
      valuesSent: generated,
      ddataValues: sent.published,
      birthValues: sent.birthValues,
      births: sent.births,
      samplesStored: stored,
      loss: Math.max(0, generated - stored),
      duplicates: Math.max(0, stored - generated),
      journalBacklog: sent.backlog,
      rebirths: sent.rebirths,
      journalReplayed: sent.replayed,
      samplesDropped: c.samplesDropped,
      storeErrors: c.storeErrors,
    });
    line({
      phase: 'result',
      machines: total,
      store: o.store.split(':')[0],
      networkedSeconds,
      lagP99: run.lagP99,
      hubCores: run.hubCores,
      loss: Math.max(0, generated - stored),
      goals: {
        allNetworkedWithin60s: networked >= total && networkedSeconds <= 60,
        lossZero: stored >= generated,
        lagP99Under1s: run.lagP99 < 1,
        hubUnder1Core: run.hubCores < 1,
      },
    });
  } finally {
    await gateways?.close().catch(() => undefined);
    await fleet.close().catch(() => undefined);
    await hub.close().catch(() => undefined);
    await storeServer?.close().catch(() => undefined);
    if (process.env.WANJI_BENCH_KEEP === undefined) rmSync(dataDir, { recursive: true, force: true });
  }
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(
      `bench:fleet failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`,
    );
    process.exit(1);
  },
);
