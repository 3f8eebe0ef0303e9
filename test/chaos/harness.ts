/**
 * The chaos rig: simulated Modbus machines in the test process, the hub and one gateway as
 * child processes (`wanji hub`, `wanji gateway`, from dist/), the gateway's uplink through a
 * TCP proxy the test controls, and the hub's store on a real InfluxDB 1.6 or VictoriaMetrics
 * (or the embedded SQLite store). Each machine's part counter is a sequence number
 * (counter-pump.ts); at the end the rig reads the whole series from the store and counts
 * every value, and watches the gateway's journal backlog return to zero (journal-watch.ts).
 *
 *   machines ──Modbus TCP──▶ gateway ──MQTT──▶ proxy (uplink) ──▶ hub ──▶ InfluxDB | VictoriaMetrics | SQLite
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { stringify } from 'yaml';
import { gatewayConfigsForFleet, gatewayNodeId } from '../../cli/fleet-gateways.js';
import { JOURNAL_METRIC } from '../../protocol/index.js';
import type { FleetPlan } from '../../simulators/fleet.js';
import { SimFleet } from '../../simulators/fleet-runtime.js';
import { freePort, type TestServer } from '../support/influx-servers.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { GiveUp, sleep, until } from '../support/wait.js';
import { assertBuilt, WanjiProcess } from '../support/wanji-process.js';
import { CounterPump } from './counter-pump.js';
import { checkMachine, type LossWindow, type MachineVerdict, verdictOk } from './counting.js';
import { JournalWatch } from './journal-watch.js';
import { type MetricReader, storeFor } from './store-reader.js';

export const HOST_ID = 'wanji-hub';
const ENTERPRISE = 'E001';
const COUNTER = 'partCount';
const COUNTER_METRIC = `Signals/${COUNTER}`;

export interface RigOptions {
  /** InfluxDB 1.6 or VictoriaMetrics; undefined: the hub's embedded SQLite store. */
  readonly server?: TestServer;
  /** Unique per test: the InfluxDB database, or the VictoriaMetrics measurement. */
  readonly name: string;
  /** Simulated machines (default 10). */
  readonly machines?: number;
  /** The hub's ingest buffer bound (store.buffer.maxSamples); default the hub's own. */
  readonly hubMaxSamples?: number;
  /**
   * The hub's ingest flush interval (default the hub's own, 250 ms). Longer holds more
   * samples in the hub's memory at any moment, all lost by a kill -9 unless the gateway
   * still has them.
   */
  readonly hubFlushIntervalMs?: number;
  /** Gateway `journal:` settings (default the gateway's own). */
  readonly journal?: Record<string, unknown>;
}

// The waits live in test/support/wait.ts; re-exported for the chaos tests' one import.
export { GiveUp, sleep, until };

/** One enterprise, `n` state+count CNC machines on two Modbus TCP servers. */
function plan(n: number): FleetPlan {
  return {
    seed: 4,
    enterprises: [
      {
        code: ENTERPRISE,
        name: 'Chaos test works',
        regionCode: '330702',
        industryCode: 'C34',
        backbone: false,
        ledger: { productionEquipment: n, ncEquipment: n, robots: 0 },
      },
    ],
    machines: Array.from({ length: n }, (_, i) => ({
      id: `${ENTERPRISE}-CNC-${String(i + 1).padStart(3, '0')}`,
      enterpriseCode: ENTERPRISE,
      kind: 'cnc' as const,
      protocol: 'modbus' as const,
      nc: true,
      robot: false,
      dataDepth: 'state+count' as const,
      modbusServer: i % 2,
      unitId: Math.floor(i / 2) + 1,
      seed: 100 + i,
    })),
  };
}

export interface HubHealth {
  readonly status: string;
  readonly components: Record<string, { status: string; detail?: string }>;
  readonly counters: Record<string, Record<string, number>>;
}

export interface CountReport {
  readonly verdicts: readonly MachineVerdict[];
  readonly ok: boolean;
  /** Values read from the machines, all together. */
  readonly read: number;
  readonly drainMs: number;
  /** The gateway's Journal/* metrics at the end (undefined: never seen). */
  readonly journal: { backlog?: number; replayed?: number; dropped?: number; released?: number };
  /**
   * Values of machines removed from the gateway (removeMachine) that are not in the store:
   * allowed only as many as the gateway released (Journal/Released), which `ok` checks.
   */
  readonly unstoredOfRemoved: number;
  /** The hub's /healthz at the end (undefined: it did not answer). */
  readonly health: HubHealth | undefined;
}

/** A machine removed from the gateway: what it journalled may be released rather than stored. */
const REMOVED_WINDOW: LossWindow = {
  from: 0,
  to: Number.MAX_SAFE_INTEGER,
  why: 'machine removed from the gateway; its journalled values are released, counted in Journal/Released',
};

export class ChaosRig {
  readonly dir: string;
  readonly fleet: SimFleet;
  readonly pump: CounterPump;
  readonly hub: WanjiProcess;
  readonly gateway: WanjiProcess;
  readonly proxy: TcpProxy;
  readonly reader: MetricReader;
  journal: JournalWatch;
  readonly events: string[] = [];
  readonly #o: RigOptions;
  readonly #t0 = Date.now();
  #mqttPort: number;
  #httpPort: number;
  readonly #storeConfig: Record<string, unknown>;
  /** The gateway's YAML as written, for removeMachine. */
  #gatewayConfig: Record<string, unknown> = {};
  readonly #removed = new Set<string>();
  #closed = false;

  /** Picks the hub's ports: fixed for the rig's life, so a restarted hub comes back on them. */
  static async create(options: RigOptions): Promise<ChaosRig> {
    return new ChaosRig(options, await freePort(), await freePort());
  }

  private constructor(options: RigOptions, mqttPort: number, httpPort: number) {
    assertBuilt();
    this.#o = options;
    this.#mqttPort = mqttPort;
    this.#httpPort = httpPort;
    this.dir = mkdtempSync(join(tmpdir(), `wanji-chaos-${options.name}-`));
    this.fleet = new SimFleet(plan(options.machines ?? 10), { logger: pino({ level: 'silent' }), tickMs: 0 });
    this.pump = new CounterPump(this.fleet.machines(), COUNTER);
    const store = storeFor(options.server, options.name, COUNTER_METRIC, join(this.dir, 'hub-data'));
    this.reader = store.reader;
    this.hub = new WanjiProcess(
      'hub',
      ['hub', '-c', join(this.dir, 'hub.yaml'), '--log-level', 'info'],
      this.dir,
    );
    this.gateway = new WanjiProcess(
      'gateway',
      ['gateway', '-c', join(this.dir, 'gateway.yaml'), '--log-level', 'info'],
      this.dir,
    );
    this.proxy = new TcpProxy(mqttPort);
    this.journal = new JournalWatch(`mqtt://127.0.0.1:${mqttPort}`, ENTERPRISE, gatewayNodeId(ENTERPRISE));
    this.#storeConfig = store.config;
  }

  /** Machines, hub, uplink, gateway; resolves once every machine's counter reaches the store. */
  async start(): Promise<void> {
    this.#writeHubConfig();
    await this.proxy.start();
    await this.fleet.start();
    this.pump.start();
    await this.#firstHubStart();
    this.journal.start();
    await this.#startGatewayAndWait();
  }

  /** The hub's YAML on the rig's current ports. */
  #writeHubConfig(): void {
    const hubConfig = {
      dataDir: join(this.dir, 'hub-data'),
      hostId: HOST_ID,
      // Anonymous on loopback: credentials are not what these tests are about.
      mqtt: { host: '127.0.0.1', port: this.#mqttPort, allowAnonymous: true },
      http: { host: '127.0.0.1', port: this.#httpPort },
      ...(this.#o.hubFlushIntervalMs !== undefined ? { flushIntervalMs: this.#o.hubFlushIntervalMs } : {}),
      store: {
        ...this.#storeConfig,
        // Short retry backoff, so a test does not wait 30 s for the hub's next try.
        buffer: {
          retryMinDelayMs: 100,
          retryMaxDelayMs: 2_000,
          ...(this.#o.hubMaxSamples !== undefined ? { maxSamples: this.#o.hubMaxSamples } : {}),
        },
      },
    };
    writeFileSync(join(this.dir, 'hub.yaml'), stringify(hubConfig));
  }

  /**
   * The first start of the hub. Its ports were free when the rig picked them, but another test
   * process may take one before the hub binds it (EADDRINUSE): then new ports, and again.
   */
  async #firstHubStart(): Promise<void> {
    for (let attempt = 1; ; attempt++) {
      try {
        await this.startHub();
        return;
      } catch (err) {
        if (attempt >= 3 || !/EADDRINUSE/.test(this.hub.tail())) throw err;
        this.note(`a port was taken before the hub bound it; new ports (try ${attempt + 1})`);
        this.#mqttPort = await freePort();
        this.#httpPort = await freePort();
        this.proxy.retarget(this.#mqttPort);
        this.journal = new JournalWatch(
          `mqtt://127.0.0.1:${this.#mqttPort}`,
          ENTERPRISE,
          gatewayNodeId(ENTERPRISE),
        );
        this.#writeHubConfig();
      }
    }
  }

  /** The gateway's YAML and the gateway; resolves once every machine's counter reaches the store. */
  async #startGatewayAndWait(): Promise<void> {
    const [config] = gatewayConfigsForFleet(this.fleet, {
      mqttUrl: this.proxy.url,
      primaryHost: HOST_ID,
      pollIntervalMs: 100,
      heartbeatMs: 10_000,
      modbusTimeoutMs: 500,
      dataDir: join(this.dir, 'gateways'),
    });
    // Node metrics (Journal/Backlog …) every second rather than every 10 s.
    const gatewayConfig = {
      ...config,
      statusIntervalMs: 1_000,
      ...(this.#o.journal === undefined ? {} : { journal: this.#o.journal }),
    };
    this.#gatewayConfig = gatewayConfig;
    writeFileSync(join(this.dir, 'gateway.yaml'), stringify(gatewayConfig));
    await this.startGateway();
    await until(
      'every machine counter in the store (steady ingest)',
      async () => {
        if (!this.gateway.running) throw new GiveUp(`the gateway exited:\n${this.gateway.tail()}`);
        const stored = await this.reader.read();
        return this.fleet.machines().every((m) => (stored.get(m.id)?.length ?? 0) >= 3) ? true : undefined;
      },
      60_000,
      500,
    );
    this.note('steady ingest: every machine in the store');
  }

  /** Milliseconds since the rig was made, for the event log. */
  get elapsed(): number {
    return Date.now() - this.#t0;
  }

  note(what: string): void {
    this.events.push(`+${(this.elapsed / 1000).toFixed(1)} s ${what}`);
  }

  async startHub(): Promise<void> {
    this.#assertOpen();
    this.hub.start();
    await until(
      'the hub to answer HTTP',
      async () => {
        if (!this.hub.running) throw new GiveUp(`the hub exited:\n${this.hub.tail()}`);
        const res = await fetch(`http://127.0.0.1:${this.#httpPort}/healthz`, {
          signal: AbortSignal.timeout(1_000),
        });
        await res.arrayBuffer();
        return true;
      },
      60_000, // generous: CI runs other test files beside this one on two cores
      100,
    );
    this.note(`hub up (start ${this.hub.starts})`);
  }

  /** The hub's /healthz body: component status and counters. */
  async health(): Promise<HubHealth> {
    const res = await fetch(`http://127.0.0.1:${this.#httpPort}/healthz`, {
      signal: AbortSignal.timeout(5_000),
    });
    return (await res.json()) as HubHealth;
  }

  async killHub(): Promise<void> {
    await this.hub.kill();
    this.note('hub killed (SIGKILL)');
  }

  async startGateway(): Promise<void> {
    this.#assertOpen();
    this.gateway.start();
    this.note(`gateway started (start ${this.gateway.starts})`);
  }

  /** Stops the gateway as a service manager does (SIGTERM), waiting for it to exit. */
  async stopGateway(): Promise<void> {
    await this.gateway.stop('SIGTERM', 10_000);
    this.note('gateway stopped (SIGTERM)');
  }

  /**
   * Takes `machine` out of the gateway's YAML, as an operator would; the gateway reads it at
   * its next start. Its simulator keeps running, unread from then on.
   */
  removeMachine(machine: string): void {
    const machines = this.#gatewayConfig.machines;
    if (!Array.isArray(machines)) throw new Error('the gateway config has no machines');
    const kept = machines.filter((m: { id?: unknown }) => m.id !== machine);
    if (kept.length === machines.length) throw new Error(`${machine} is not in the gateway config`);
    this.#gatewayConfig = { ...this.#gatewayConfig, machines: kept };
    writeFileSync(join(this.dir, 'gateway.yaml'), stringify(this.#gatewayConfig));
    this.#removed.add(machine);
    this.note(`${machine} removed from gateway.yaml`);
  }

  async killGateway(): Promise<void> {
    await this.gateway.kill();
    this.note('gateway killed (SIGKILL)');
  }

  /**
   * Stops the counters, waits (up to `drainMs`) until the store holds every value read, or
   * gives up, lets late writes land, and counts. Never throws on a count fault: the report
   * says what was lost.
   */
  async finish(
    lossWindows: readonly LossWindow[] = [],
    drainMs = envSeconds('WANJI_CHAOS_DRAIN_S', 90),
    quietMs = envSeconds('WANJI_CHAOS_QUIET_S', 20),
  ): Promise<CountReport> {
    this.pump.stop();
    this.note('counters stopped');
    const began = Date.now();
    const check = (stored: Map<string, { ts: number; value: number }[]>) =>
      this.fleet.machines().map((m) =>
        checkMachine(m.id, this.pump.served(m.id), stored.get(m.id) ?? [], {
          lossWindows: this.#removed.has(m.id) ? [...lossWindows, REMOVED_WINDOW] : lossWindows,
        }),
      );
    // Done when nothing is missing; given up when the store has not changed for `quietMs`
    // (nothing more is coming) or after `drainMs` in all. A failed read is retried.
    let points = -1;
    let changedAt = Date.now();
    for (;;) {
      const stored = await this.reader.read().catch(() => undefined);
      if (stored !== undefined) {
        if (check(stored).every((v) => v.missing.length === 0)) break;
        const n = [...stored.values()].reduce((sum, p) => sum + p.length, 0);
        if (n !== points) {
          points = n;
          changedAt = Date.now();
        }
      }
      if (Date.now() - changedAt > quietMs) {
        this.note(`store still missing values, unchanged for ${quietMs / 1000} s`);
        break;
      }
      if (Date.now() - began > drainMs) {
        this.note(`store still missing values after ${drainMs / 1000} s`);
        break;
      }
      await sleep(1_000);
    }
    const drained = Date.now() - began;
    await sleep(2_000); // late duplicates (replays still in flight) land now
    const verdicts = check(await this.reader.read());
    this.note('counted');
    const unstoredOfRemoved = verdicts
      .filter((v) => this.#removed.has(v.machine))
      .reduce((sum, v) => sum + v.excused.length, 0);
    const ok = verdicts.every(verdictOk);
    // Acknowledged means freed: the journal's backlog returns to zero (no use waiting when
    // the count already failed).
    if (ok) {
      await until(
        'the journal backlog to reach 0',
        () => (this.journal.backlog === 0 ? true : undefined),
        30_000,
      ).catch(() => this.note(`journal backlog still ${this.journal.backlog} after 30 s`));
    }
    const journal = {
      backlog: this.journal.backlog,
      replayed: this.journal.value(JOURNAL_METRIC.replayed),
      dropped: this.journal.value(JOURNAL_METRIC.dropped),
      released: this.journal.value(JOURNAL_METRIC.released),
    };
    // Each released message carries at most one value of a machine's counter.
    const releasedOk = unstoredOfRemoved <= (journal.released ?? 0);
    if (!releasedOk) {
      this.note(
        `${unstoredOfRemoved} values of removed machines neither stored nor released (${journal.released})`,
      );
    }
    const health = await this.health().catch(() => undefined);
    return {
      health,
      verdicts,
      ok: ok && releasedOk,
      read: this.pump.readCount,
      drainMs: drained,
      journal,
      unstoredOfRemoved,
    };
  }

  /** A scenario still running after a timeout closed the rig must not start processes again. */
  #assertOpen(): void {
    if (this.#closed) throw new Error('the chaos rig is closed');
  }

  /** The event log and the tails of every process log, for a failing test. */
  diagnostics(): string {
    return [
      `events:\n  ${this.events.join('\n  ')}`,
      `proxy: ${JSON.stringify(this.proxy.counters)}`,
      `--- hub log (${this.hub.logFile}) ---\n${this.hub.tail()}`,
      `--- gateway log (${this.gateway.logFile}) ---\n${this.gateway.tail()}`,
    ].join('\n');
  }

  /** Kills the children, closes the proxy and the machines; keeps the dir when `keep`. */
  async close(keep = false): Promise<void> {
    this.#closed = true;
    this.pump.stop();
    await this.journal.close();
    await this.gateway.stop('SIGTERM', 5_000);
    await this.hub.stop('SIGTERM', 5_000);
    await this.proxy.close();
    await this.fleet.close();
    if (!keep) rmSync(this.dir, { recursive: true, force: true });
  }
}

/** A duration from the environment in seconds, as milliseconds. */
export function envSeconds(name: string, fallbackS: number): number {
  const s = Number(process.env[name] ?? fallbackS);
  return (Number.isFinite(s) && s > 0 ? s : fallbackS) * 1_000;
}
