/**
 * One live link to a server: one node-opcua client with one session, its resolved tags, and
 * their subscription or poller. The driver makes a new Link only when this one is beyond repair.
 *
 * Within a link node-opcua does the repair after a network cut or a server restart: it
 * re-creates the secure channel with capped exponential backoff, re-activates the session (the
 * server keeps one session, never two), or creates a new one and transfers or re-creates the
 * subscription with the same monitored items. The link watches that repair:
 * - a keep-alive watchdog: no publish response (or successful read) for `watchdogMs` breaks the
 *   connection so the repair starts (a half-open TCP link never says it is dead); a second
 *   silence in a row, or a repair that has not finished after the session timeout, makes the
 *   link report itself broken;
 * - browse paths are resolved again on a new session, before its items are re-created.
 */
import {
  type ClientSession,
  type DataValue,
  type NodeId,
  OPCUAClient,
  resolveNodeId,
  type StatusCode,
} from 'node-opcua';
import type { Logger } from 'pino';
import { backoffDelay } from '../../../protocol/backoff.js';
import type { Clock, TimerHandle } from '../../../protocol/clock.js';
import { OPCUA_ERROR_CODES, OpcuaError } from './errors.js';
import { startItems } from './items.js';
import type { SubscriptionMonitor } from './monitor.js';
import { defaultNamespace, resolveBrowsePaths } from './paths.js';
import type { OpenPki } from './pki.js';
import { type Poller, readInBatches } from './poller.js';
import { Watchdog } from './recovery.js';
import { isBrowsePath, type OpcuaConnectionConfig, type OpcuaTagConfig } from './schema.js';
import { identityKind, messageSecurity, negotiated, userIdentity } from './security.js';

export interface LinkTarget {
  readonly index: number;
  readonly machineId: string;
  readonly tag: OpcuaTagConfig;
  /** The tag's samplingIntervalMs, or its machine's pollIntervalMs. */
  readonly intervalMs: number;
}

export interface LinkHandlers {
  onValue(index: number, dv: DataValue): void;
  /** The tag cannot be read in this session: a browse path that does not resolve, a refused item. */
  onTagFailed(index: number, status: string, err?: OpcuaError): void;
  /** The connection is down; node-opcua is repairing it. */
  onLost(reason: string): void;
  /** The connection is repaired; current values should be read again. */
  onBack(): void;
  /** Beyond repair: the driver closes this link and makes a new one. */
  onBroken(reason: string): void;
}

/** Counters the link increments; owned by the driver so they outlive links. */
export interface LinkCounters {
  connects: number;
  sessionsCreated: number;
  reconnects: number;
  connectionLosses: number;
  keepAliveMisses: number;
  notifications: number;
  reads: number;
  /** Sum and maximum of Read round trips (ms); counters() turns the sum into latencyAvgMs. */
  readMsSum: number;
  latencyMaxMs: number;
  overruns: number;
  errors: number;
  badItems: number;
}

export interface LinkOptions {
  readonly conn: OpcuaConnectionConfig;
  readonly pki: OpenPki;
  readonly applicationUri: string;
  readonly targets: readonly LinkTarget[];
  readonly clock: Clock;
  readonly random: () => number;
  readonly log: Logger;
  readonly counters: LinkCounters;
  readonly handlers: LinkHandlers;
}

/** node-opcua internals the link reaches for; each is checked before use. */
interface ClientInternals {
  connectionStrategy?: { initialDelay?: number };
  _secureChannel?: { forceConnectionBreak?: () => void } | null;
  beforeSubscriptionRecreate?: (session: ClientSession) => Promise<Error | undefined>;
}

export class Link {
  readonly #o: LinkOptions;
  readonly #log: Logger;
  readonly #nodeIds = new Map<number, NodeId>();
  #client: OPCUAClient | undefined;
  #session: ClientSession | undefined;
  #monitor: SubscriptionMonitor | undefined;
  /** The subscription and items being made: close() waits for them before ending the session. */
  #itemsStarting: Promise<void> | undefined;
  #poller: Poller | undefined;
  #watchdog: Watchdog | undefined;
  #deadline: TimerHandle | undefined;
  #strikes = 0;
  #closed = false;

  constructor(options: LinkOptions) {
    this.#o = options;
    this.#log = options.log;
  }

  /** The fastest interval of the link's tags: the publishing interval unless configured. */
  get #fastest(): number {
    return Math.max(10, Math.min(...this.#o.targets.map((t) => t.intervalMs)));
  }

  async open(): Promise<void> {
    const { conn, pki } = this.#o;
    const requestedKeepAlive = (conn.publishingIntervalMs ?? this.#fastest) * conn.keepAliveCount;
    const silence = conn.mode === 'polling' ? 2 * this.#fastest : 2 * requestedKeepAlive;
    const transportTimeout =
      Math.max(conn.watchdogMs ?? silence + conn.timeoutMs, conn.timeoutMs) + conn.timeoutMs;
    await pki.manager.reloadCertificates();
    const client = OPCUAClient.create({
      applicationName: 'wanji-gateway',
      applicationUri: this.#o.applicationUri,
      clientCertificateManager: pki.manager,
      certificateFile: pki.paths.certificateFile,
      privateKeyFile: pki.paths.privateKeyFile,
      ...messageSecurity(conn),
      endpointMustExist: false,
      keepSessionAlive: true,
      keepAliveInterval: Math.max(1000, Math.min(conn.sessionTimeoutMs, transportTimeout) / 2),
      requestedSessionTimeout: conn.sessionTimeoutMs,
      defaultTransactionTimeout: conn.timeoutMs,
      transportTimeout,
      connectionStrategy: {
        // node-opcua insists on maxDelay > initialDelay.
        initialDelay: Math.min(conn.backoffMinMs, conn.backoffMaxMs / 2),
        maxDelay: conn.backoffMaxMs,
        randomisationFactor: 0.5,
        maxRetry: -1,
      },
    });
    this.#client = client;
    this.#wire(client);
    await client.connect(conn.endpoint);
    this.#o.counters.connects++;
    this.#throwIfClosed();
    const session = await client.createSession(userIdentity(conn));
    this.#session = session;
    this.#o.counters.sessionsCreated++;
    session.on('session_closed', (status: StatusCode) => {
      if (!this.#closed)
        this.#o.handlers.onBroken(`the server closed the session (${status?.name ?? 'no status'})`);
    });
    this.#throwIfClosed();
    const n = negotiated(session);
    this.#log.info(
      {
        endpoint: conn.endpoint,
        securityMode: n.securityMode,
        securityPolicy: n.securityPolicy,
        serverCertificate: n.serverThumbprint,
        identity: identityKind(conn),
        applicationUri: this.#o.applicationUri,
        mode: conn.mode,
      },
      'OPC UA session open',
    );
    await this.#resolve(session);
    this.#throwIfClosed();
    await this.#startItems(session);
    this.#throwIfClosed();
    const watchdogMs =
      conn.watchdogMs ??
      (this.#monitor !== undefined ? 2 * this.#monitor.keepAliveMs : 2 * this.#fastest) + conn.timeoutMs;
    this.#watchdog = new Watchdog(this.#o.clock, watchdogMs, (ms) => this.#silence(ms));
    this.#watchdog.start();
  }

  #throwIfClosed(): void {
    if (this.#closed) throw new OpcuaError(OPCUA_ERROR_CODES.connect, 'closed while connecting');
  }

  #wire(client: OPCUAClient): void {
    const internals = client as unknown as ClientInternals;
    client.on('backoff', (retry: number, delay: number) => {
      // One line per attempt (node-opcua counts from 0), each with when the next one is due.
      this.#log.warn(
        { endpoint: this.#o.conn.endpoint, retry: retry + 1, retryInMs: delay },
        `OPC UA server not reachable; retry ${retry + 1} in ${delay} ms`,
      );
    });
    client.on('connection_lost', () => {
      if (this.#closed) return;
      this.#o.counters.connectionLosses++;
      this.#watchdog?.stop();
      // node-opcua's reconnection backs off from connectionStrategy.initialDelay without jitter;
      // a jittered start keeps gateways that lost one server from returning in lockstep.
      if (internals.connectionStrategy !== undefined) {
        internals.connectionStrategy.initialDelay = backoffDelay(
          0,
          Math.min(this.#o.conn.backoffMinMs, this.#o.conn.backoffMaxMs / 2),
          this.#o.conn.backoffMaxMs,
          this.#o.random,
        );
      }
      const limit = this.#o.conn.sessionTimeoutMs + this.#o.conn.backoffMaxMs;
      this.#o.clock.clearTimeout(this.#deadline);
      this.#deadline = this.#o.clock.setTimeout(
        () => this.#o.handlers.onBroken(`the connection was not repaired within ${limit} ms`),
        limit,
      );
      this.#o.handlers.onLost('connection to the OPC UA server lost');
    });
    client.on('connection_reestablished', () => {
      if (this.#closed) return;
      this.#o.clock.clearTimeout(this.#deadline);
      this.#o.counters.reconnects++;
      this.#watchdog?.start();
      const session = this.#session;
      const n = session === undefined ? undefined : negotiated(session);
      this.#log.info(
        {
          securityMode: n?.securityMode,
          securityPolicy: n?.securityPolicy,
          serverCertificate: n?.serverThumbprint,
        },
        'OPC UA connection re-established',
      );
      this.#o.handlers.onBack();
    });
    // Called by node-opcua when the old session is gone and it made a new one, before it
    // re-creates the subscription there: the one place to resolve browse paths again.
    internals.beforeSubscriptionRecreate = async (session) => {
      this.#o.counters.sessionsCreated++;
      this.#log.info('OPC UA session re-created');
      try {
        const before = new Map(this.#nodeIds);
        await this.#resolve(session);
        const changed = new Map(
          [...this.#nodeIds].filter(([i, id]) => before.get(i)?.toString() !== id.toString()),
        );
        if (changed.size > 0) {
          const n = this.#monitor?.retarget(changed) ?? 0;
          this.#log.warn({ items: n }, 'browse paths resolve to other NodeIds in the new session');
        }
      } catch (err) {
        this.#log.warn({ err }, 'resolving browse paths in the new session failed; keeping the old NodeIds');
      }
      return undefined;
    };
  }

  /** Resolves browse paths (NodeIds are taken as they are); failures are reported per tag. */
  async #resolve(session: ClientSession): Promise<void> {
    const { targets, conn } = this.#o;
    const paths = targets.filter((t) => isBrowsePath(t.tag.nodeId)).map((t) => t.tag.nodeId);
    const resolved =
      paths.length === 0
        ? new Map()
        : await resolveBrowsePaths(
            session,
            paths,
            await defaultNamespace(session, conn.browseNamespace),
            conn.maxNodesPerRequest,
          );
    for (const t of targets) {
      if (!isBrowsePath(t.tag.nodeId)) {
        this.#nodeIds.set(t.index, resolveNodeId(t.tag.nodeId));
        continue;
      }
      const r = resolved.get(t.tag.nodeId);
      if (r !== undefined && 'nodeId' in r) this.#nodeIds.set(t.index, r.nodeId);
      else if (r !== undefined && !this.#nodeIds.has(t.index)) {
        this.#o.counters.badItems++;
        const err = new OpcuaError(
          r.error.code,
          `machine ${t.machineId}, tag "${t.tag.name}": ${r.error.message}`,
          { ...r.error.detail, machine: t.machineId, tag: t.tag.name },
        );
        this.#log.error({ err }, 'a tag cannot be read: check its browse path with `wanji browse`');
        this.#o.handlers.onTagFailed(t.index, r.error.detail.statusCode ?? 'BadNoMatch', err);
      }
    }
  }

  #startItems(session: ClientSession): Promise<void> {
    const starting = this.#makeItems(session);
    this.#itemsStarting = starting;
    return starting;
  }

  async #makeItems(session: ClientSession): Promise<void> {
    const live = this.#o.targets.filter((t) => this.#nodeIds.has(t.index));
    if (live.length === 0) return;
    const items = await startItems(session, live, {
      conn: this.#o.conn,
      nodeIds: this.#nodeIds,
      publishingInterval: this.#o.conn.publishingIntervalMs ?? this.#fastest,
      clock: this.#o.clock,
      log: this.#log,
      counters: this.#o.counters,
      reconnecting: () => this.#client?.isReconnecting ?? true,
      onValue: (i, dv) => this.#o.handlers.onValue(i, dv),
      onTagFailed: (i, status) => this.#o.handlers.onTagFailed(i, status),
      onRead: (ms) => this.#read(ms),
      onActivity: () => this.#activity(),
      onLost: (reason) => {
        if (!this.#closed) this.#o.handlers.onBroken(reason);
      },
    });
    this.#monitor = items.monitor;
    this.#poller = items.poller;
  }

  #read(ms: number): void {
    const c = this.#o.counters;
    c.reads++;
    c.readMsSum += ms;
    c.latencyMaxMs = Math.max(c.latencyMaxMs, ms);
    this.#activity();
  }

  #activity(): void {
    this.#watchdog?.activity();
    this.#strikes = 0;
  }

  #silence(silentMs: number): void {
    if (this.#closed || (this.#client?.isReconnecting ?? true)) return;
    this.#o.counters.keepAliveMisses++;
    this.#strikes++;
    const err = new OpcuaError(
      OPCUA_ERROR_CODES.keepAlive,
      `no keep-alive or data from ${this.#o.conn.endpoint} for ${silentMs} ms`,
    );
    this.#log.warn({ err, strikes: this.#strikes }, 'OPC UA server silent');
    const channel = (this.#client as unknown as ClientInternals | undefined)?._secureChannel;
    if (this.#strikes >= 2 || typeof channel?.forceConnectionBreak !== 'function') {
      this.#o.handlers.onBroken(`the server stayed silent after a reconnect (${silentMs} ms)`);
      return;
    }
    // Break the half-open connection so node-opcua repairs it (same session if it still lives).
    channel.forceConnectionBreak();
  }

  /** Reads every resolved tag now (after a reconnect, a restored subscription only sends changes). */
  async readAll(): Promise<void> {
    const session = this.#session;
    if (session === undefined || this.#closed) return;
    const indexes = [...this.#nodeIds.keys()];
    await readInBatches(
      session,
      indexes.map((i) => this.#nodeIds.get(i)!),
      this.#o.conn.maxNodesPerRequest,
      (offset, values, ms) => {
        this.#read(ms);
        if (this.#closed) return;
        for (const [k, dv] of values.entries()) this.#o.handlers.onValue(indexes[offset + k]!, dv);
      },
      () => this.#o.clock.now(),
    );
  }

  /** Ends the subscription and session politely when the link is up; just drops it when not. */
  async close(timeoutMs: number): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#watchdog?.stop();
    this.#o.clock.clearTimeout(this.#deadline);
    this.#poller?.close();
    const client = this.#client;
    const healthy = client !== undefined && !client.isReconnecting;
    const quietly = async (what: string, fn: () => Promise<unknown>) => {
      let timer: TimerHandle | undefined;
      try {
        await Promise.race([
          fn(),
          new Promise((_, reject) => {
            timer = this.#o.clock.setTimeout(() => reject(new Error(`${what} timed out`)), timeoutMs);
          }),
        ]);
      } catch (err) {
        this.#log.debug({ err }, `${what} failed`);
      } finally {
        this.#o.clock.clearTimeout(timer);
      }
    };
    // A subscription still being made is waited for, then ended: node-opcua throws from a timer
    // ("expecting a valid session"), uncatchable, when its session closes under it.
    if (healthy && this.#itemsStarting !== undefined)
      await quietly('making the subscription', () => this.#itemsStarting!);
    if (healthy && this.#monitor !== undefined)
      await quietly('terminating the subscription', () => this.#monitor!.close());
    if (healthy && this.#session !== undefined)
      await quietly('closing the session', () => this.#session!.close());
    if (client !== undefined) await quietly('disconnecting', () => client.disconnect());
  }
}
