/**
 * The hub: MQTT broker, Sparkplug primary host, ingest, sample store, registry and API.
 * The constructor validates the config and builds the parts; start() starts them in
 * dependency order; close() stops them in reverse.
 */
import { join } from 'node:path';
import type { Logger } from 'pino';
import { type Clock, REAL_CLOCK } from '../protocol/clock.js';
import { AlertService } from './alerts/index.js';
import { ApiServer } from './api/server.js';
import { createBroker, type MqttBroker } from './broker/index.js';
import { HubCluster } from './cluster/index.js';
import { type HubConfig, type HubOptions, resolveHubConfig } from './config.js';
import { HubError } from './errors.js';
import { SparkplugHost } from './host/host.js';
import { Ingest } from './ingest/ingest.js';
import { LiveFeed } from './live/feed.js';
import { Registry } from './registry/registry.js';
import { type MqttCredential, MqttCredentialStore } from './security/mqtt-credentials.js';
import { type InternalCredential, MqttAccessPolicy, newInternalCredential } from './security/mqtt-policy.js';
import { RevocationWatch } from './security/mqtt-revocation.js';
import { ParentForwarder } from './stats/parent.js';
import { SnapshotTimer } from './stats/snapshot.js';
import { computeStats, type StatsReport, type StatsWindows } from './stats/stats.js';
import { createStore } from './store/index.js';
import type { SampleStore } from './store/types.js';
import { secureDataDir } from './util/private-files.js';
import { tuneRuntime } from './util/runtime.js';

interface Part {
  start(): Promise<void>;
  close(): Promise<void>;
}

export class Hub {
  readonly config: Readonly<HubConfig>;
  readonly windows: StatsWindows;
  readonly #logger: Logger;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #hostTransport: NonNullable<HubOptions['hostTransport']>;
  /** The clock's time, for the parts that only read it (registry, security stores, API). */
  readonly #now = (): number => this.#clock.now();
  readonly #registry: Registry;
  readonly #store: SampleStore;
  readonly #ingest: Ingest;
  /** Live values for the machine pages' streams: the host's samples, fanned out (hub/live/). */
  readonly #live = new LiveFeed();
  readonly #broker: MqttBroker;
  readonly #mqttAccess: MqttAccessPolicy;
  readonly #mqttInternal: InternalCredential;
  #mqttCredentials: MqttCredentialStore | undefined;
  readonly #revocations: RevocationWatch;
  #host: SparkplugHost | undefined;
  #clusterPart: HubCluster | undefined;
  #api: ApiServer | undefined;
  #alerts: AlertService | undefined;
  /** Started parts, in start order; close() walks it backwards. */
  #started: Part[] = [];
  #starting: Promise<void> | undefined;

  constructor(options: HubOptions) {
    const { logger, clock, hostTransport, ...config } = options;
    this.config = resolveHubConfig(config);
    this.#hostTransport = hostTransport ?? 'in-process';
    this.#log = logger.child({ component: 'hub' });
    this.#clock = clock ?? REAL_CLOCK;
    this.windows = { networkingMs: this.config.networkingWindowMs, onlineMs: this.config.onlineWindowMs };
    const dataDir = this.config.dataDir;
    this.#registry = new Registry({
      path: join(dataDir, 'registry.db'),
      ...(this.config.registry === undefined ? {} : { postgres: this.config.registry }),
      logger,
      clock: this.#now,
      utcOffsetMin: this.config.statistics.utcOffsetMin,
      onlineWindowMs: this.config.onlineWindowMs,
    });
    this.#store = createStore(this.config.store, { dataDir, logger });
    const buffer = this.config.store.buffer;
    this.#ingest = new Ingest({
      store: this.#store,
      registry: this.#registry,
      logger,
      clock: this.#clock,
      flushIntervalMs: this.config.flushIntervalMs,
      lastSeenIntervalMs: Math.min(this.config.lastSeenIntervalMs, this.config.onlineWindowMs / 10),
      maxBatchSamples: buffer.batchSamples,
      maxBufferedSamples: buffer.maxSamples,
      writeTimeoutMs: buffer.writeTimeoutMs,
      retryMinDelayMs: buffer.retryMinDelayMs,
      retryMaxDelayMs: buffer.retryMaxDelayMs,
    });
    // The host's own credential: made here, kept in memory only, never logged.
    this.#mqttInternal = newInternalCredential();
    this.#mqttAccess = new MqttAccessPolicy({
      credentials: () => this.mqttCredentials,
      internal: this.#mqttInternal,
      allowAnonymous: this.config.mqtt.allowAnonymous,
      hostId: this.config.hostId,
      logger,
      clock: this.#now,
    });
    if (this.config.mqtt.allowAnonymous && this.config.mqtt.type === 'embedded') {
      this.#log.warn('MQTT anonymous access is on: any client may publish and subscribe to anything');
    }
    this.#broker = createBroker(this.config.mqtt, { logger, policy: this.#mqttAccess });
    this.#revocations = new RevocationWatch({
      broker: this.#broker,
      policy: this.#mqttAccess,
      credentials: () => this.mqttCredentials,
      intervalMs: this.config.mqtt.revocationCheckMs,
      timers: this.#clock,
      logger,
    });
    this.#logger = logger;
  }

  get registry(): Registry {
    return this.#registry;
  }

  get store(): SampleStore {
    return this.#store;
  }

  /** The Sparkplug host (after start()). */
  get host(): SparkplugHost {
    if (this.#host === undefined) throw new HubError('WANJI_E_HUB_STATE', 'hub is not started');
    return this.#host;
  }

  get ingest(): Ingest {
    return this.#ingest;
  }

  /** Per-gateway MQTT credentials (after start(): they live in the registry file). */
  get mqttCredentials(): MqttCredentialStore {
    const db = this.#registry.database;
    // A hub started again after close() has a new registry handle.
    if (this.#mqttCredentials?.database !== db) {
      this.#mqttCredentials = new MqttCredentialStore(db, this.#now);
    }
    return this.#mqttCredentials;
  }

  /** Revokes a credential and drops its connections now (the CLI's revocations take a check interval). */
  async revokeMqttUser(username: string, by: { actor: string; source?: string }): Promise<MqttCredential> {
    const credential = this.mqttCredentials.revoke(username, by);
    await this.#revocations.checkNow();
    return credential;
  }

  /** The embedded broker's TLS and WebSocket ports (after start()), when configured. */
  get mqttListeners(): { tls?: number; websocket?: number } {
    const b = this.#broker;
    return {
      ...(b.tlsPort === undefined ? {} : { tls: b.tlsPort }),
      ...(b.webSocketPort === undefined ? {} : { websocket: b.webSocketPort }),
    };
  }

  /** The embedded broker's real port (after start()); undefined with an external broker. */
  get mqttPort(): number | undefined {
    return this.#broker.port;
  }

  get mqttUrl(): string {
    return this.#broker.connectUrl();
  }

  /**
   * Drops an MQTT client's connection as a lost network would: the embedded broker publishes its
   * will (a gateway's NDEATH). False when it is not connected or the broker is external.
   * For `wanji demo`'s power-loss fault and tests.
   */
  async disconnectMqttClient(clientId: string): Promise<boolean> {
    return (await this.#broker.disconnectClient?.(clientId)) ?? false;
  }

  /** This worker's view of its cluster (config `cluster`); undefined for a hub on its own. */
  clusterStatus(): { worker: string; workers: readonly string[]; groups: readonly string[] } | undefined {
    return this.#clusterPart?.status();
  }

  /** Alert rules, alerts and channels (after start()): docs/alerts.md. */
  get alerts(): AlertService {
    if (this.#alerts === undefined) throw new HubError('WANJI_E_HUB_STATE', 'hub is not started');
    return this.#alerts;
  }

  get httpPort(): number | undefined {
    return this.#api?.port;
  }

  stats(): StatsReport {
    return computeStats(this.#registry, this.#clock.now(), this.windows);
  }

  /** Writes what the host has buffered to the store and registry (tests, shutdown). */
  flush(): Promise<void> {
    return this.#ingest.flush();
  }

  start(): Promise<void> {
    this.#starting ??= this.#start();
    return this.#starting;
  }

  async #start(): Promise<void> {
    try {
      // The process's V8 settings for a hub's traffic, before there is any (util/runtime.ts).
      const flags = tuneRuntime();
      if (flags.length > 0) this.#log.debug({ flags }, 'V8 flags set for the hub');
      // 0700 when the hub makes it; a looser one is reported, and the hub's files in it tightened.
      secureDataDir(this.config.dataDir, this.#log);
      await this.#startPart(this.#registry);
      await this.#startPart(this.#store);
      await this.#startPart(this.#ingest);
      await this.#startPart(this.#broker);
      await this.#startPart(this.#revocations);
      const internal = this.config.mqtt.type === 'embedded' ? this.#mqttInternal : undefined;
      // The embedded broker hands the host its messages in process (no loopback MQTT client).
      const inProcess = this.#hostTransport === 'in-process' ? this.#broker.inProcessPort?.() : undefined;
      // A cluster worker (docs/hub.md, "Several workers"): its own host id (a client id the
      // others do not share) and only the groups it owns.
      const cluster = this.#cluster();
      this.#host = new SparkplugHost({
        url: this.#broker.connectUrl(),
        ...(inProcess === undefined ? {} : { inProcess }),
        ...(internal === undefined ? {} : { username: internal.username, password: internal.password }),
        // An external broker: the hub's login and TLS options (mqtt.username, mqtt.clientTls, …).
        ...this.#broker.hostClientOptions?.(),
        hostId:
          cluster === undefined ? this.config.hostId : `${this.config.hostId}-${cluster.status().worker}`,
        ...(cluster === undefined ? {} : { groups: cluster.gate }),
        sink: this.#live.tee(this.#ingest),
        writes: this.#ingest,
        logger: this.#logger,
        clock: this.#clock,
        reorderTimeoutMs: this.config.reorderTimeoutMs,
        rebirthMinIntervalMs: this.config.rebirthMinIntervalMs,
        journalStallMs: this.config.journalStallMs,
        limits: this.config.limits,
      });
      await this.#startPart(this.#host);
      if (cluster !== undefined) {
        cluster.attach(this.#host);
        await this.#startPart(cluster);
      }
      // Alerts (docs/alerts.md): evaluated on the hub's clock over the registry; before the API.
      this.#alerts = new AlertService({
        registry: this.#registry,
        config: this.config.alerts,
        clock: this.#clock,
        windows: this.windows,
        hubId: this.config.hostId,
        utcOffsetMin: this.config.statistics.utcOffsetMin,
        logger: this.#logger,
        ...(cluster === undefined ? {} : { active: () => cluster.isLeader() }),
      });
      await this.#startPart(this.#alerts);
      this.#api = new ApiServer({
        host: this.config.http.host,
        port: this.config.http.port,
        deps: {
          registry: this.#registry,
          store: this.#store,
          logger: this.#logger,
          clock: this.#now,
          windows: this.windows,
          hubId: this.config.hostId,
          health: () => this.#health(),
          http: this.config.http,
          limits: this.config.limits,
          mqttUsers: {
            credentials: () => this.mqttCredentials,
            revoke: (username, by) => this.revokeMqttUser(username, by),
          },
          // What /metrics reads of the running parts (hub/metrics/hub-metrics.ts).
          metrics: {
            host: () => this.#host,
            ingest: this.#ingest,
            broker: this.#broker,
            mqttAccess: this.#mqttAccess,
          },
          alerts: this.#alerts,
          live: this.#live,
        },
      });
      await this.#startPart(this.#api);
      await this.#startStatistics();
    } catch (err) {
      this.#log.error({ err }, 'hub failed to start; closing what started');
      await this.#closeParts();
      this.#starting = undefined;
      throw err;
    }
    this.#log.info({ mqttPort: this.mqttPort, httpPort: this.httpPort }, 'hub started');
  }

  /** The cluster part of a worker (config `cluster`), undefined for a hub on its own. */
  #cluster(): HubCluster | undefined {
    const config = this.config.cluster;
    if (config === undefined) return undefined;
    const { worker } = config;
    // resolveHubConfig refuses a cluster without its worker; this is for the type.
    if (worker === undefined) throw new HubError('WANJI_E_HUB_CONFIG', 'cluster.worker is required');
    const login = this.#broker.hostClientOptions?.() ?? {};
    this.#clusterPart = new HubCluster({
      config: { ...config, worker },
      url: this.#broker.connectUrl(),
      ...login,
      gateways: () => this.#registry.gateways(),
      clock: this.#clock,
      logger: this.#logger,
    });
    return this.#clusterPart;
  }

  /** The midnight snapshot timer and the parent forwarder (docs/statistics.md). */
  async #startStatistics(): Promise<void> {
    const cluster = this.#clusterPart;
    const common = {
      registry: this.#registry,
      windows: this.windows,
      logger: this.#logger,
      clock: this.#clock,
      ...(cluster === undefined ? {} : { active: () => cluster.isLeader() }),
    };
    if (this.config.statistics.snapshots) await this.#startPart(new SnapshotTimer(common));
    const parent = this.config.parent;
    if (parent !== undefined) {
      await this.#startPart(new ParentForwarder({ ...common, parent, hubId: this.config.hostId }));
    }
  }

  async #startPart(p: Part): Promise<void> {
    await p.start();
    this.#started.push(p);
  }

  /** Reverse order: API, host (STATE offline), broker, ingest (last flush), store, registry. */
  async close(): Promise<void> {
    await this.#starting?.catch(() => undefined);
    await this.#closeParts();
    this.#starting = undefined;
  }

  async #closeParts(): Promise<void> {
    while (this.#started.length > 0) {
      const p = this.#started.pop()!;
      try {
        await p.close();
      } catch (err) {
        this.#log.error({ err }, 'error while closing a hub component');
      }
    }
  }

  #health() {
    // The store and the registry as the ingest sees them: down while their writes fail (or
    // samples are refused), degraded while they refuse part of what they are given persistently.
    const { store, registry } = this.#ingest.health();
    return {
      components: {
        broker: this.#broker.health(),
        host: this.#host?.health() ?? { status: 'starting' as const },
        store,
        registry,
        // Gateway journals whose acknowledgement stands still or whose backlog keeps growing.
        journals: this.#host?.journalHealth() ?? { status: 'starting' as const },
      },
      counters: {
        host: { ...(this.#host?.counters ?? {}), ...(this.#host?.ackCounters ?? {}) },
        broker: { ...this.#mqttAccess.counters, ...this.#broker.counters },
        ingest: { ...this.#ingest.counters, pendingSamples: this.#ingest.pendingSamples },
        live: { ...this.#live.counters },
        // Evaluations, fired, cleared; notifications sent, failed attempts, given up (docs/alerts.md).
        alerts: { ...(this.#alerts?.counters ?? {}), ...(this.#alerts?.outboxCounters ?? {}) },
      },
    };
  }
}

export type { HubOptions } from './config.js';
