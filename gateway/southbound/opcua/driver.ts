/**
 * OPC UA driver (node-opcua client): one session per connection shared by its machines, one
 * subscription, one monitored item per tag sampled at the machine's pollIntervalMs.
 *
 * node-opcua reconnects by itself after the first connection (and restores the session and
 * its subscription); this driver reports machines offline while the connection is lost, and
 * a machine whose items all report a Bad status (BadNotConnected from an aggregating server,
 * BadNodeIdUnknown, …) as offline too.
 */
import { join } from 'node:path';
import {
  AttributeIds,
  ClientMonitoredItemGroup,
  type ClientSession,
  type ClientSubscription,
  type DataValue,
  MessageSecurityMode,
  OPCUACertificateManager,
  OPCUAClient,
  SecurityPolicy,
  TimestampsToReturn,
  UserTokenType,
} from 'node-opcua';
import type { Logger } from 'pino';
import type { MetricValue } from '../../../protocol/index.js';
import { withTimeout } from '../../async.js';
import { backoffDelay, type Clock, type TimerHandle } from '../../clock.js';
import type { MachineConfig } from '../../config/schema.js';
import { GATEWAY_ERROR_CODES, GatewayError, toError } from '../../errors.js';
import type { Driver, DriverContext, DriverSink, Quality } from '../types.js';
import type { OpcuaConnectionConfig, OpcuaTagConfig } from './schema.js';
import { convertDataValue, qualityOf } from './values.js';

interface ItemRef {
  readonly machine: MachineRuntime;
  readonly tag: OpcuaTagConfig;
}

interface MachineRuntime {
  readonly config: MachineConfig;
  readonly tags: readonly OpcuaTagConfig[];
  online: boolean;
  /** Latest quality per tag of this session; a tag not here has not reported yet. */
  readonly quality: Map<string, { quality: Quality; status: string }>;
}

export class OpcuaDriver implements Driver {
  readonly connectionId: string;
  readonly #conn: OpcuaConnectionConfig;
  readonly #sink: DriverSink;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #pkiDir: string;
  readonly #machines: MachineRuntime[];
  readonly #items: ItemRef[];
  #client: OPCUAClient | undefined;
  #session: ClientSession | undefined;
  #subscription: ClientSubscription | undefined;
  #run: Promise<void> | undefined;
  #retryTimer: TimerHandle | undefined;
  #wake: (() => void) | undefined;
  #closed = false;
  readonly #counters = {
    connects: 0,
    connectionLosses: 0,
    notifications: 0,
    badItems: 0,
    typeMismatches: 0,
    errors: 0,
  };

  constructor(ctx: DriverContext<OpcuaConnectionConfig>) {
    this.connectionId = ctx.connection.id;
    this.#conn = ctx.connection;
    this.#sink = ctx.sink;
    this.#clock = ctx.clock;
    this.#log = ctx.logger.child({ component: 'opcua', connection: ctx.connection.id });
    this.#pkiDir = ctx.connection.pkiDir ?? join(ctx.dataDir, 'pki');
    this.#machines = ctx.machines.map((config) => ({
      config,
      tags: config.tags as OpcuaTagConfig[],
      online: false,
      quality: new Map(),
    }));
    this.#items = this.#machines.flatMap((machine) => machine.tags.map((tag) => ({ machine, tag })));
  }

  async start(): Promise<void> {
    if (this.#run !== undefined || this.#closed) return;
    this.#run = this.#runLoop();
  }

  /** Retries what node-opcua does not: a refused session or subscription, a bad first connect. */
  async #runLoop(): Promise<void> {
    for (let attempt = 0; !this.#closed; attempt++) {
      try {
        await this.#connect();
        return;
      } catch (err) {
        if (this.#closed) return;
        this.#counters.errors++;
        const delay = backoffDelay(attempt, 1000, this.#conn.backoffMaxMs);
        const wrapped =
          err instanceof GatewayError
            ? err
            : new GatewayError(GATEWAY_ERROR_CODES.opcuaConnect, toError(err).message, {}, { cause: err });
        this.#log.error({ err: wrapped, retryInMs: delay }, 'OPC UA connection set-up failed');
        await this.#teardown();
        await new Promise<void>((resolve) => {
          this.#wake = resolve;
          this.#retryTimer = this.#clock.setTimeout(resolve, delay);
        });
      }
    }
  }

  async #teardown(): Promise<void> {
    const quietly = async (what: string, p: Promise<unknown> | undefined) => {
      try {
        if (p !== undefined) await withTimeout(p, 3000, what);
      } catch (err) {
        this.#log.debug({ err: toError(err) }, `${what} failed`);
      }
    };
    const [subscription, session, client] = [this.#subscription, this.#session, this.#client];
    this.#subscription = undefined;
    this.#session = undefined;
    this.#client = undefined;
    await quietly('terminating the subscription', subscription?.terminate());
    await quietly('closing the session', session?.close());
    await quietly('disconnecting', client?.disconnect());
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#retryTimer);
    this.#wake?.();
    await this.#teardown();
    if (this.#run !== undefined) await withTimeout(this.#run, 3000).catch(() => undefined);
  }

  counters(): Readonly<Record<string, number>> {
    return { ...this.#counters };
  }

  /** Connects (node-opcua retries forever with backoff), then opens session and subscription. */
  async #connect(): Promise<void> {
    const certificateManager = new OPCUACertificateManager({
      rootFolder: this.#pkiDir,
      automaticallyAcceptUnknownCertificate: true,
    });
    const client = OPCUAClient.create({
      applicationName: 'wanji-gateway',
      clientCertificateManager: certificateManager,
      securityMode: MessageSecurityMode.None,
      securityPolicy: SecurityPolicy.None,
      endpointMustExist: false,
      keepSessionAlive: true,
      defaultTransactionTimeout: this.#conn.timeoutMs,
      // node-opcua insists on maxDelay > initialDelay.
      connectionStrategy: {
        initialDelay: Math.min(500, this.#conn.backoffMaxMs / 2),
        maxDelay: this.#conn.backoffMaxMs,
        maxRetry: -1,
      },
    });
    this.#client = client;
    client.on('backoff', (retry: number, delay: number) =>
      this.#log.debug({ retry, delayMs: delay }, 'OPC UA server not reachable; retrying'),
    );
    client.on('connection_lost', () => {
      this.#counters.connectionLosses++;
      this.#allOffline('connection to the OPC UA server lost');
    });
    client.on('connection_reestablished', () => {
      this.#log.info('OPC UA connection re-established');
      // A restored subscription only reports what changes next; read the current values now.
      this.#refresh().catch((err: unknown) =>
        this.#log.warn({ err: toError(err) }, 'refresh after reconnect failed'),
      );
    });
    await client.connect(this.#conn.endpoint);
    if (this.#closed) return;
    this.#counters.connects++;
    const { username, password } = this.#conn;
    const session =
      username !== undefined
        ? await client.createSession({
            type: UserTokenType.UserName,
            userName: username,
            password: password ?? '',
          })
        : await client.createSession();
    this.#session = session;
    session.on('session_closed', () => this.#allOffline('OPC UA session closed'));
    if (this.#closed) return;
    this.#log.info({ endpoint: this.#conn.endpoint }, 'OPC UA session open');
    await this.#subscribe(session);
  }

  async #subscribe(session: ClientSession): Promise<void> {
    const fastest = Math.min(...this.#machines.map((m) => m.config.pollIntervalMs));
    const subscription = await session.createSubscription2({
      requestedPublishingInterval: fastest,
      requestedLifetimeCount: 120,
      requestedMaxKeepAliveCount: 10,
      maxNotificationsPerPublish: 0,
      publishingEnabled: true,
      priority: 1,
    });
    this.#subscription = subscription;
    subscription.on('error', (err: Error) => this.#log.warn({ err }, 'subscription error'));
    if (this.#closed) return;
    // One group (one CreateMonitoredItems call) per sampling interval.
    const byInterval = new Map<number, ItemRef[]>();
    for (const ref of this.#items) {
      const interval = ref.machine.config.pollIntervalMs;
      byInterval.set(interval, [...(byInterval.get(interval) ?? []), ref]);
    }
    await Promise.all([...byInterval].map(([interval, refs]) => this.#monitor(subscription, interval, refs)));
  }

  async #monitor(subscription: ClientSubscription, samplingInterval: number, refs: ItemRef[]): Promise<void> {
    const group = ClientMonitoredItemGroup.create(
      subscription,
      refs.map(({ tag }) => ({ nodeId: tag.nodeId, attributeId: AttributeIds.Value })),
      { samplingInterval, discardOldest: true, queueSize: 1 },
      TimestampsToReturn.Both,
    );
    // Listen before the first notification can arrive: an unchanging value is sent only once.
    group.on('changed', (_item, dv: DataValue, index: number) => this.#onChanged(refs[index], dv));
    await new Promise<void>((resolve, reject) => {
      group.once('initialized', () => resolve());
      group.once('err', (message: string) =>
        reject(new GatewayError(GATEWAY_ERROR_CODES.opcuaStatus, `monitoring failed: ${message}`)),
      );
    });
    group.monitoredItems.forEach((item, index) => {
      const status = item.statusCode;
      if (status !== undefined && !status.isGood()) {
        this.#counters.badItems++;
        const ref = refs[index]!;
        this.#log.warn(
          { machine: ref.machine.config.id, tag: ref.tag.name, nodeId: ref.tag.nodeId, status: status.name },
          'monitored item refused; check the nodeId',
        );
        this.#report(ref, null, qualityOf(status), this.#clock.now(), status.name);
      }
    });
  }

  async #refresh(): Promise<void> {
    const session = this.#session;
    if (session === undefined || this.#closed || this.#items.length === 0) return;
    const values = await session.read(
      this.#items.map(({ tag }) => ({ nodeId: tag.nodeId, attributeId: AttributeIds.Value })),
    );
    for (const [i, dv] of values.entries()) this.#onChanged(this.#items[i], dv);
  }

  #onChanged(ref: ItemRef | undefined, dv: DataValue): void {
    if (ref === undefined || this.#closed) return;
    this.#counters.notifications++;
    const c = convertDataValue(dv, ref.tag.datatype, this.#clock.now());
    if (c.mismatch !== undefined) {
      this.#counters.typeMismatches++;
      this.#log.warn({ machine: ref.machine.config.id, tag: ref.tag.name }, c.mismatch);
    }
    this.#report(ref, c.value, c.quality, c.sourceTime, dv.statusCode.name);
  }

  #report(ref: ItemRef, value: MetricValue, quality: Quality, time: number, status: string): void {
    const m = ref.machine;
    m.quality.set(ref.tag.name, { quality, status });
    const id = m.config.id;
    if (quality !== 'bad' && !m.online) {
      m.online = true;
      this.#sink.onMachineStatus(id, 'online', `${this.#conn.endpoint} answers`);
    }
    if (m.online) this.#sink.onSample({ machineId: id, tag: ref.tag.name, value, quality, sourceTime: time });
    const all = [...m.quality.values()];
    if (m.online && all.length === m.tags.length && all.every((q) => q.quality === 'bad')) {
      m.online = false;
      this.#sink.onMachineStatus(id, 'offline', `every item reports ${status}`);
    }
  }

  #allOffline(reason: string): void {
    for (const m of this.#machines) {
      m.quality.clear();
      if (!m.online) continue;
      m.online = false;
      if (!this.#closed) this.#sink.onMachineStatus(m.config.id, 'offline', reason);
    }
    if (!this.#closed) this.#log.warn(reason);
  }
}

export function createOpcuaDriver(ctx: DriverContext<OpcuaConnectionConfig>): Driver {
  return new OpcuaDriver(ctx);
}
