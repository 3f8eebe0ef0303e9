/**
 * The edge gateway: southbound drivers → sampler → Sparkplug edge node, plus the gateway's
 * own metrics (machine health and counters) as node metrics.
 *
 *   const gw = new Gateway(config, { logger });
 *   await gw.start();          // returns once running; servers and broker are retried in the background
 *   gw.status();
 *   await gw.reload(newConfig); // applies only what changed (see reload.ts)
 *   await gw.close();          // drivers stop, NDEATH is published, MQTT disconnects
 */
import type { Logger } from 'pino';
import { type Clock, systemClock, type TimerHandle } from '../protocol/clock.js';
import { DEFAULT_DATA_DIR, type GatewayConfig } from './config/schema.js';
import { validateGatewayConfig } from './config/validate.js';
import { toError } from './errors.js';
import { DeviceHealthTracker, type DeviceHealthView } from './health.js';
import { AliasTable } from './northbound/aliases.js';
import { deviceDefinitions } from './northbound/device-model.js';
import { EdgeNode, type EdgeNodeStatus } from './northbound/edge-node.js';
import { nodeMetricDefinitions, nodeMetricValues } from './northbound/node-metrics.js';
import { type ConfigDiff, diffConfigs, ReloadError } from './reload.js';
import { type MachineStatusView, Sampler } from './sampler.js';
import { createDriver } from './southbound/registry.js';
import type { Driver, DriverSink, MachineHealth, MachineStatus, TagSample } from './southbound/types.js';
import { writeToMachine } from './writes.js';

export interface GatewayOptions {
  readonly logger: Logger;
  /** Overrides the config's dataDir (default ./wanji-gateway-data). */
  readonly dataDir?: string;
  readonly clock?: Clock;
  /** Published as the NBIRTH's Properties/Software, e.g. "wanji 0.1.0". */
  readonly software?: string;
}

export interface GatewayStatus {
  readonly edgeNode: EdgeNodeStatus;
  readonly machines: Readonly<Record<string, MachineStatusView>>;
  readonly health: Readonly<Record<string, DeviceHealthView>>;
  readonly sampler: Readonly<Record<string, number>>;
  /** Driver counters by connection id. */
  readonly drivers: Readonly<Record<string, Readonly<Record<string, number>>>>;
  readonly reloads: number;
}

/** What a reload did (the ids of connections and machines). */
export type ReloadResult = Omit<ConfigDiff, 'restartRequired'>;

/** A machine not confirmed online by its restarted driver within this time goes offline. */
const CONFIRM_MIN_MS = 5_000;

/** What drivers deliver to: samples and status to the sampler, health to the tracker. */
class GatewaySink implements DriverSink {
  readonly #gw: Gateway;
  readonly #sampler: Sampler;
  readonly #health: DeviceHealthTracker;
  readonly #log: Logger;

  constructor(gw: Gateway, sampler: Sampler, health: DeviceHealthTracker, log: Logger) {
    this.#gw = gw;
    this.#sampler = sampler;
    this.#health = health;
    this.#log = log;
  }

  onSample(s: TagSample): void {
    try {
      this.#health.onSample(s);
      this.#sampler.onSample(s);
    } catch (err) {
      this.#log.error({ err: toError(err), machine: s.machineId }, 'sample handling failed');
    }
  }

  onMachineStatus(id: string, status: MachineStatus, reason: string): void {
    try {
      this.#gw.confirm(id, status);
      this.#health.onMachineStatus(id, status, reason);
      this.#sampler.onMachineStatus(id, status, reason);
    } catch (err) {
      this.#log.error({ err: toError(err), machine: id }, 'status handling failed');
    }
  }

  onMachineHealth(id: string, health: MachineHealth, detail: string): void {
    try {
      this.#health.onMachineHealth(id, health, detail);
    } catch (err) {
      this.#log.error({ err: toError(err), machine: id }, 'health handling failed');
    }
  }
}

export class Gateway {
  #config: GatewayConfig;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #dataDir: string;
  readonly #aliases = new AliasTable();
  readonly #health: DeviceHealthTracker;
  readonly #sampler: Sampler;
  readonly #edge: EdgeNode;
  readonly #sink: GatewaySink;
  readonly #drivers = new Map<string, Driver>();
  /** Machines of restarted connections that their new driver has not yet said anything about. */
  readonly #unconfirmed = new Map<string, TimerHandle>();
  #reloads = 0;
  #reloading: Promise<unknown> = Promise.resolve();
  #state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  #starting: Promise<void> | undefined;

  constructor(config: GatewayConfig, options: GatewayOptions) {
    this.#config = config;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child({ gateway: config.gateway.node });
    this.#dataDir = options.dataDir ?? config.dataDir ?? DEFAULT_DATA_DIR;
    this.#health = new DeviceHealthTracker(config.machines, this.#clock);
    this.#edge = new EdgeNode({
      group: config.gateway.group,
      node: config.gateway.node,
      mqtt: config.mqtt,
      devices: deviceDefinitions(config.machines, this.#aliases),
      dataDir: this.#dataDir,
      logger: this.#log,
      clock: this.#clock,
      software: options.software ?? 'wanji',
      statusIntervalMs: config.statusIntervalMs,
      journal: config.journal,
      readNodeMetrics: () => this.#nodeMetricValues(),
      // DCMD writes, to tags marked writable (writes.ts).
      onDeviceCommand: (w) => writeToMachine(this.#config.machines, this.#drivers, w),
    });
    this.#sampler = new Sampler({
      machines: config.machines,
      heartbeatMs: config.heartbeatMs,
      clock: this.#clock,
      logger: this.#log,
      output: {
        machineBirth: (id, metrics) => this.#edge.deviceBirth(id, metrics),
        machineData: (id, metrics) => this.#edge.deviceData(id, metrics),
        machineDeath: (id) => this.#edge.deviceDeath(id),
      },
    });
    this.#sink = new GatewaySink(this, this.#sampler, this.#health, this.#log);
  }

  /** The config the gateway runs on (the last one reloaded). */
  get config(): GatewayConfig {
    return this.#config;
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'starting';
    try {
      // Drivers are built first: their counters are part of the NBIRTH's metric set.
      for (const connection of this.#config.connections) await this.#createDriver(connection.id);
      if (this.#state !== 'starting') return; // closed meanwhile
      this.#edge.setNodeMetrics(this.#nodeMetricDefinitions());
      await this.#edge.start();
      for (const driver of this.#drivers.values()) {
        if (this.#state !== 'starting') return;
        await driver.start();
      }
      this.#state = 'running';
      this.#log.info(
        { machines: this.#config.machines.length, connections: this.#drivers.size },
        'gateway running',
      );
    } catch (err) {
      this.#log.error({ err }, 'gateway failed to start');
      await this.close();
      throw err;
    }
  }

  /** Stops the drivers, then publishes NDEATH and disconnects. Idempotent. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    await this.#reloading.catch(() => undefined);
    for (const timer of this.#unconfirmed.values()) this.#clock.clearTimeout(timer);
    this.#unconfirmed.clear();
    // Together: a driver may wait out a request on the wire (bounded by its timeout).
    await Promise.all(
      [...this.#drivers.values()].map((d) =>
        d.close().catch((err: unknown) => this.#log.warn({ err }, 'driver close failed')),
      ),
    );
    this.#drivers.clear();
    this.#sampler.close();
    await this.#edge.close();
    this.#log.info('gateway closed');
  }

  /**
   * Applies a new config, changing only what differs: connections that did not change keep
   * their driver and session; changed ones are restarted; added machines are born when their
   * driver reads them, removed ones die (DDEATH), changed ones are born again with their new
   * metric set. When machines or connections come or go, the gateway's own metric set changes,
   * so the node is reborn (NBIRTH and every DBIRTH, same MQTT session).
   *
   * Rejects with ConfigError for an invalid config and ReloadError when group, node, mqtt or
   * dataDir changed; the gateway then runs on with its previous config. Reloads run one at a time.
   */
  reload(next: GatewayConfig): Promise<ReloadResult> {
    const run = this.#reloading.catch(() => undefined).then(() => this.#reload(next));
    this.#reloading = run;
    return run;
  }

  async #reload(raw: GatewayConfig): Promise<ReloadResult> {
    if (this.#state === 'closed' || this.#starting === undefined) {
      throw new Error('reload needs a started gateway that is not closed');
    }
    await this.#starting;
    const next = validateGatewayConfig(raw, 'the reloaded config');
    const diff = diffConfigs(this.#config, next);
    if (diff.restartRequired.length > 0) throw new ReloadError(diff.restartRequired);
    const { restartRequired: _, ...result } = diff;
    const stopping = [...diff.connections.removed, ...diff.connections.restarted];
    for (const id of stopping) await this.#closeDriver(id);
    this.#config = next;
    this.#health.setMachines(next.machines);
    this.#sampler.update(next.machines, next.heartbeatMs);
    this.#edge.setDevices(deviceDefinitions(next.machines, this.#aliases));
    this.#edge.setStatusInterval(next.statusIntervalMs);
    const starting = [...diff.connections.added, ...diff.connections.restarted];
    for (const id of starting) await this.#createDriver(id);
    this.#reloads++;
    // After the drivers exist (their counters are node metrics) and before they deliver.
    this.#edge.setNodeMetrics(this.#nodeMetricDefinitions());
    for (const id of starting) {
      const driver = this.#drivers.get(id);
      if (driver === undefined || this.#isClosed()) continue;
      this.#awaitConfirmation(id);
      await driver.start();
    }
    this.#log.info(result, 'config reloaded');
    return result;
  }

  #isClosed(): boolean {
    return this.#state === 'closed';
  }

  status(): GatewayStatus {
    return {
      edgeNode: this.#edge.status(),
      machines: this.#sampler.status(),
      health: Object.fromEntries(this.#health.views()),
      sampler: this.#sampler.counters(),
      drivers: Object.fromEntries([...this.#drivers].map(([id, d]) => [id, d.counters()])),
      reloads: this.#reloads,
    };
  }

  /** A driver said something about a machine: it is no longer waiting for confirmation. */
  confirm(machineId: string, _status: MachineStatus): void {
    const timer = this.#unconfirmed.get(machineId);
    if (timer === undefined) return;
    this.#clock.clearTimeout(timer);
    this.#unconfirmed.delete(machineId);
  }

  /**
   * A restarted driver starts with its machines unknown and may stay silent about one it cannot
   * reach (it never saw it online). The sampler still holds them online from the old driver, so
   * each must be confirmed in time, or it goes offline.
   */
  #awaitConfirmation(connection: string): void {
    for (const m of this.#config.machines) {
      if (m.connection !== connection || this.#sampler.status()[m.id]?.online !== true) continue;
      this.confirm(m.id, 'online');
      const ms = Math.max(CONFIRM_MIN_MS, 3 * m.pollIntervalMs);
      const timer = this.#clock.setTimeout(() => {
        this.#unconfirmed.delete(m.id);
        this.#sink.onMachineStatus(
          m.id,
          'offline',
          `no answer within ${ms} ms after its connection restarted`,
        );
      }, ms);
      this.#unconfirmed.set(m.id, timer);
    }
  }

  async #createDriver(connectionId: string): Promise<void> {
    const connection = this.#config.connections.find((c) => c.id === connectionId);
    const machines = this.#config.machines.filter((m) => m.connection === connectionId);
    if (connection === undefined || machines.length === 0) return;
    const driver = await createDriver({
      connection,
      machines,
      sink: this.#sink,
      logger: this.#log,
      clock: this.#clock,
      dataDir: this.#dataDir,
      gateway: this.#config.gateway,
    });
    this.#drivers.set(connectionId, driver);
  }

  async #closeDriver(connectionId: string): Promise<void> {
    const driver = this.#drivers.get(connectionId);
    if (driver === undefined) return;
    this.#drivers.delete(connectionId);
    await driver
      .close()
      .catch((err: unknown) => this.#log.warn({ err, connectionId }, 'driver close failed'));
  }

  #nodeMetricDefinitions() {
    const counters = new Map([...this.#drivers].map(([id, d]) => [id, Object.keys(d.counters())]));
    return nodeMetricDefinitions(this.#config.machines, counters, this.#aliases);
  }

  #nodeMetricValues() {
    const edge = this.#edge.status();
    return nodeMetricValues({
      sampler: this.#sampler.counters(),
      edge: {
        published: edge.counters.published ?? 0,
        publishErrors: edge.counters.publishErrors ?? 0,
        queued: edge.queued,
        dropped: edge.counters.dropped ?? 0,
      },
      reloads: this.#reloads,
      devices: this.#health.views(),
      drivers: new Map([...this.#drivers].map(([id, d]) => [id, d.counters()])),
    });
  }
}
