/**
 * The edge gateway: southbound drivers → sampler → Sparkplug edge node.
 *
 *   const gw = new Gateway(config, { logger });
 *   await gw.start();   // returns once running; servers and broker are retried in the background
 *   gw.status();
 *   await gw.close();   // drivers stop, NDEATH is published, MQTT disconnects
 */
import type { Logger } from 'pino';
import { type Clock, systemClock } from './clock.js';
import { DEFAULT_DATA_DIR, type GatewayConfig } from './config/schema.js';
import { toError } from './errors.js';
import { deviceDefinitions } from './northbound/device-model.js';
import { EdgeNode, type EdgeNodeStatus } from './northbound/edge-node.js';
import { type MachineStatusView, Sampler } from './sampler.js';
import { createDriver } from './southbound/registry.js';
import type { Driver, DriverSink } from './southbound/types.js';

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
  readonly sampler: Readonly<Record<string, number>>;
  /** Driver counters by connection id. */
  readonly drivers: Readonly<Record<string, Readonly<Record<string, number>>>>;
}

export class Gateway {
  readonly config: GatewayConfig;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #dataDir: string;
  readonly #sampler: Sampler;
  readonly #edge: EdgeNode;
  #drivers: Driver[] = [];
  #state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  #starting: Promise<void> | undefined;

  constructor(config: GatewayConfig, options: GatewayOptions) {
    this.config = config;
    this.#clock = options.clock ?? systemClock;
    this.#log = options.logger.child({ gateway: config.gateway.node });
    this.#dataDir = options.dataDir ?? config.dataDir ?? DEFAULT_DATA_DIR;
    this.#edge = new EdgeNode({
      group: config.gateway.group,
      node: config.gateway.node,
      mqtt: config.mqtt,
      devices: deviceDefinitions(config.machines),
      dataDir: this.#dataDir,
      logger: this.#log,
      clock: this.#clock,
      software: options.software ?? 'wanji',
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
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    if (this.#state !== 'new') return;
    this.#state = 'starting';
    try {
      await this.#edge.start();
      const sink = this.#sink();
      for (const connection of this.config.connections) {
        const machines = this.config.machines.filter((m) => m.connection === connection.id);
        if (machines.length === 0) continue;
        const driver = await createDriver({
          connection,
          machines,
          sink,
          logger: this.#log,
          clock: this.#clock,
          dataDir: this.#dataDir,
        });
        this.#drivers.push(driver);
        if (this.#state !== 'starting') return; // closed meanwhile
        await driver.start();
      }
      this.#state = 'running';
      this.#log.info(
        { machines: this.config.machines.length, connections: this.#drivers.length },
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
    for (const d of [...this.#drivers].reverse()) {
      await d.close().catch((err: unknown) => this.#log.warn({ err }, 'driver close failed'));
    }
    this.#sampler.close();
    await this.#edge.close();
    this.#log.info('gateway closed');
  }

  status(): GatewayStatus {
    return {
      edgeNode: this.#edge.status(),
      machines: this.#sampler.status(),
      sampler: this.#sampler.counters(),
      drivers: Object.fromEntries(this.#drivers.map((d) => [d.connectionId, d.counters()])),
    };
  }

  /** Driver output goes to the sampler; nothing it throws gets back into a driver. */
  #sink(): DriverSink {
    return {
      onSample: (s) => {
        try {
          this.#sampler.onSample(s);
        } catch (err) {
          this.#log.error({ err: toError(err), machine: s.machineId }, 'sample handling failed');
        }
      },
      onMachineStatus: (id, status, reason) => {
        try {
          this.#sampler.onMachineStatus(id, status, reason);
        } catch (err) {
          this.#log.error({ err: toError(err), machine: id }, 'status handling failed');
        }
      },
    };
  }
}
