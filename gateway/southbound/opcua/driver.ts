/**
 * OPC UA driver (node-opcua client): one session per connection shared by its machines, one
 * monitored item per tag (or batched Reads in `mode: polling`).
 *
 * Recovery has two levels. Within a Link, node-opcua repairs the connection and session and
 * the link watches it (link.ts). When a link is beyond repair, this driver closes it and opens
 * a new one after a jittered, capped backoff; it never has two links, so never two sessions.
 *
 * Machines are offline while the connection is down, and when every item of a machine reports
 * a Bad status (BadNotConnected from an aggregating server, BadNodeIdUnknown, …). Values keep
 * their OPC UA quality: Bad is published as null with bad quality, Uncertain as the value with
 * uncertain quality.
 */
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { DataValue } from 'node-opcua';
import type { Logger } from 'pino';
import { backoffDelay } from '../../../protocol/backoff.js';
import type { Clock, TimerHandle } from '../../../protocol/clock.js';
import type { MetricValue, Quality } from '../../../protocol/index.js';
import type { MachineConfig } from '../../config/schema.js';
import type { Driver, DriverContext, DriverSink, MachineHealth } from '../types.js';
import { OpcuaError } from './errors.js';
import { Link, type LinkCounters, type LinkHandlers, type LinkTarget } from './link.js';
import { type OpenPki, openPki } from './pki.js';
import type { OpcuaConnectionConfig, OpcuaTagConfig } from './schema.js';
import { classifyConnectError } from './security.js';
import { convertDataValue } from './values.js';

/**
 * The driver context, with what the OPC UA driver can use beyond the common one. The application
 * URI is the connection's `applicationUri`, else that of the certificate already in the PKI
 * folder (which `wanji browse` may have made), else urn:wanji:gateway:<node> from `gateway`.
 */
export interface OpcuaDriverContext extends DriverContext<OpcuaConnectionConfig> {
  /** Jitter source (default Math.random). */
  readonly random?: () => number;
}

export function defaultApplicationUri(node: string | undefined): string {
  return `urn:wanji:gateway:${node ?? hostname()}`;
}

interface MachineRuntime {
  readonly config: MachineConfig;
  readonly tagCount: number;
  online: boolean;
  /** Online with some tags Bad is degraded; last told to the sink. */
  health: MachineHealth | undefined;
  /** Latest quality and status per tag of this session; a tag not here has not reported yet. */
  readonly quality: Map<string, { quality: Quality; status: string }>;
  /** How many tags in `quality` are bad. */
  bad: number;
}

interface TagRef extends LinkTarget {
  readonly machine: MachineRuntime;
}

const CLOSE_TIMEOUT_MS = 3000;

export class OpcuaDriver implements Driver {
  readonly connectionId: string;
  readonly #conn: OpcuaConnectionConfig;
  readonly #sink: DriverSink;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #random: () => number;
  readonly #pkiDir: string;
  /** The application URI when neither the config nor the PKI folder's certificate gives one. */
  readonly #defaultUri: string;
  readonly #machines: MachineRuntime[];
  readonly #refs: TagRef[];
  #pki: OpenPki | undefined;
  #link: Link | undefined;
  #broken: ((reason: string) => void) | undefined;
  #run: Promise<void> | undefined;
  #retryTimer: TimerHandle | undefined;
  #wake: (() => void) | undefined;
  #closed = false;
  readonly #counters: LinkCounters & { recoveries: number; typeMismatches: number } = {
    connects: 0,
    sessionsCreated: 0,
    reconnects: 0,
    recoveries: 0,
    connectionLosses: 0,
    keepAliveMisses: 0,
    notifications: 0,
    reads: 0,
    readMsSum: 0,
    latencyMaxMs: 0,
    overruns: 0,
    errors: 0,
    badItems: 0,
    typeMismatches: 0,
  };

  constructor(ctx: OpcuaDriverContext) {
    this.connectionId = ctx.connection.id;
    this.#conn = ctx.connection;
    this.#sink = ctx.sink;
    this.#clock = ctx.clock;
    this.#random = ctx.random ?? Math.random;
    this.#log = ctx.logger.child({ component: 'opcua', connection: ctx.connection.id });
    this.#pkiDir = ctx.connection.pkiDir ?? join(ctx.dataDir, 'pki');
    this.#defaultUri = defaultApplicationUri(ctx.gateway?.node);
    this.#machines = ctx.machines.map((config) => ({
      config,
      tagCount: config.tags.length,
      online: false,
      health: undefined,
      quality: new Map(),
      bad: 0,
    }));
    this.#refs = this.#machines
      .flatMap((machine) => (machine.config.tags as OpcuaTagConfig[]).map((tag) => ({ machine, tag })))
      .map(({ machine, tag }, index) => ({
        index,
        machine,
        machineId: machine.config.id,
        tag,
        intervalMs: tag.samplingIntervalMs ?? machine.config.pollIntervalMs,
      }));
  }

  async start(): Promise<void> {
    if (this.#run !== undefined || this.#closed) return;
    this.#run = this.#supervise();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#clock.clearTimeout(this.#retryTimer);
    this.#wake?.();
    this.#broken?.('closing');
    // Closing the link first makes a connect that is still retrying give up.
    await this.#closeLink();
    await this.#run?.catch(() => undefined);
    await this.#closeLink();
    await this.#pki?.manager.dispose().catch(() => undefined);
    this.#pki = undefined;
  }

  /**
   * connects, sessionsCreated, reconnects (repaired by node-opcua), recoveries (new link),
   * connectionLosses, keepAliveMisses, notifications, reads, overruns, errors, badItems,
   * typeMismatches, and latencyAvgMs / latencyMaxMs of Read requests.
   */
  counters(): Readonly<Record<string, number>> {
    const { readMsSum, ...c } = this.#counters;
    return { ...c, latencyAvgMs: c.reads > 0 ? readMsSum / c.reads : 0 };
  }

  /** One link at a time: open it, wait until it is beyond repair, close it, back off, again. */
  async #supervise(): Promise<void> {
    let attempt = 0;
    while (!this.#closed) {
      let reason = 'OPC UA connection set-up failed';
      let failure: OpcuaError | undefined;
      try {
        this.#pki ??= await openPki(
          this.#pkiDir,
          {
            applicationUri: this.#conn.applicationUri,
            defaultUri: this.#defaultUri,
            who: `connection ${this.connectionId}`,
          },
          this.#conn.acceptUnknownServerCertificate,
          this.#log,
        );
        if (this.#closed) break;
        const link = this.#newLink();
        const broken = new Promise<string>((resolve) => {
          this.#broken = resolve;
        });
        await link.open();
        attempt = 0;
        reason = await broken;
        if (this.#closed) break;
        this.#counters.recoveries++;
        this.#log.warn({ reason }, 'OPC UA link beyond repair; opening a new session');
      } catch (err) {
        if (this.#closed) break;
        this.#counters.errors++;
        failure = classifyConnectError(err, this.#conn, this.#pkiDir);
      }
      await this.#closeLink();
      this.#allOffline(reason);
      if (this.#closed) break;
      const retry = attempt + 1;
      const delay = backoffDelay(attempt++, this.#conn.backoffMinMs, this.#conn.backoffMaxMs, this.#random);
      // One line per attempt, however long the outage: what failed, which retry, and when.
      if (failure !== undefined)
        this.#log.warn(
          { err: failure, retry, retryInMs: delay },
          `OPC UA connection set-up failed; retry ${retry} in ${delay} ms`,
        );
      else this.#log.info({ retry, retryInMs: delay }, `reconnecting to the OPC UA server in ${delay} ms`);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
        this.#retryTimer = this.#clock.setTimeout(resolve, delay);
      });
    }
  }

  #newLink(): Link {
    const failed = new Map<number, string>();
    const handlers: LinkHandlers = {
      onValue: (i, dv) => {
        if (this.#link === link) this.#onValue(i, dv);
      },
      onTagFailed: (i, status) => {
        const ref = this.#refs[i];
        if (this.#link !== link || ref === undefined) return;
        failed.set(i, status);
        this.#report(ref, null, 'bad', this.#clock.now(), status);
      },
      onLost: (reason) => {
        if (this.#link === link) this.#allOffline(reason);
      },
      onBack: () => {
        if (this.#link !== link) return;
        // Tags this link cannot read stay bad after a repair; the others are read again.
        for (const [i, status] of failed)
          this.#report(this.#refs[i]!, null, 'bad', this.#clock.now(), status);
        link
          .readAll()
          .catch((err: unknown) => this.#log.warn({ err }, 'reading the values after a reconnect failed'));
      },
      onBroken: (reason) => {
        if (this.#link === link) this.#broken?.(reason);
      },
    };
    const link: Link = new Link({
      conn: this.#conn,
      pki: this.#pki!,
      applicationUri: this.#pki!.applicationUri,
      targets: this.#refs,
      clock: this.#clock,
      random: this.#random,
      log: this.#log,
      counters: this.#counters,
      handlers,
    });
    this.#link = link;
    return link;
  }

  async #closeLink(): Promise<void> {
    const link = this.#link;
    this.#link = undefined;
    this.#broken = undefined;
    await link?.close(CLOSE_TIMEOUT_MS);
  }

  #onValue(index: number, dv: DataValue): void {
    const ref = this.#refs[index];
    if (ref === undefined || this.#closed) return;
    const c = convertDataValue(dv, ref.tag.datatype, this.#clock.now());
    if (c.mismatch !== undefined) {
      this.#counters.typeMismatches++;
      this.#log.warn({ machine: ref.machineId, tag: ref.tag.name }, c.mismatch);
    }
    this.#report(ref, c.value, c.quality, c.sourceTime, dv.statusCode.name);
  }

  /** Called for every value: counts bad tags as it goes instead of scanning the machine's tags. */
  #report(ref: TagRef, value: MetricValue, quality: Quality, time: number, status: string): void {
    const m = ref.machine;
    const state = m.quality.get(ref.tag.name);
    if (state === undefined) m.quality.set(ref.tag.name, { quality, status });
    else {
      if (state.quality === 'bad') m.bad--;
      state.quality = quality;
      state.status = status;
    }
    if (quality === 'bad') m.bad++;
    const id = m.config.id;
    if (quality !== 'bad' && !m.online) {
      m.online = true;
      this.#sink.onMachineStatus(id, 'online', `${this.#conn.endpoint} answers`);
    }
    if (m.online) this.#sink.onSample({ machineId: id, tag: ref.tag.name, value, quality, sourceTime: time });
    const allBad = m.quality.size === m.tagCount && m.bad === m.tagCount;
    if (m.online && allBad) {
      m.online = false;
      this.#sink.onMachineStatus(id, 'offline', `every item reports ${status}`);
    }
    if (!m.online)
      this.#health(m, 'offline', () => (allBad ? `every item reports ${status}` : 'no value yet'));
    else if (m.bad > 0) this.#health(m, 'degraded', () => this.#badTags(m));
    else this.#health(m, 'online', () => `${this.#conn.endpoint} answers`);
  }

  #badTags(m: MachineRuntime): string {
    const which = [...m.quality]
      .filter(([, q]) => q.quality === 'bad')
      .slice(0, 3)
      .map(([tag, q]) => `${tag} (${q.status})`);
    return `${m.bad} of ${m.tagCount} tags are bad: ${which.join(', ')}`;
  }

  #health(m: MachineRuntime, health: MachineHealth, detail: () => string): void {
    if (m.health === health || this.#closed) return;
    m.health = health;
    this.#sink.onMachineHealth?.(m.config.id, health, detail());
  }

  #allOffline(reason: string): void {
    let any = false;
    for (const m of this.#machines) {
      m.quality.clear();
      m.bad = 0;
      if (!m.online) continue;
      m.online = false;
      any = true;
      if (!this.#closed) this.#sink.onMachineStatus(m.config.id, 'offline', reason);
      this.#health(m, 'offline', () => reason);
    }
    if (any && !this.#closed) this.#log.warn({ reason }, 'OPC UA machines offline');
  }
}

/** Errors the driver raises, for callers that want to tell them apart. */
export { OpcuaError };

export function createOpcuaDriver(ctx: OpcuaDriverContext): Driver {
  return new OpcuaDriver(ctx);
}
