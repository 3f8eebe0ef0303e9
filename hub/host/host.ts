/**
 * The Sparkplug primary host, on the one MQTT session of gateway and hub
 * (protocol/mqtt-session.ts), whether the broker is the hub's own aedes or an external one. It
 * owns the STATE lifecycle (each CONNECT's will = offline with that CONNECT's timestamp; online,
 * retained, after subscribing; offline before a planned close) and feeds every other message to
 * the MessageProcessor.
 */
import type { Logger } from 'pino';
import { type Clock, REAL_CLOCK, type TimerHandle } from '../../protocol/clock.js';
import {
  allGroupsFilter,
  allNodeBirthsFilter,
  DataType,
  decodeHostState,
  encodeHostState,
  encodePayload,
  groupFilters,
  NODE_METRIC,
  nodeTopic,
  redactUrl,
  stateTopic,
} from '../../protocol/index.js';
import { MqttSession, type SessionMessage } from '../../protocol/mqtt-session.js';
import type { HostTlsOptions, InProcessPort } from '../broker/types.js';
import { type ComponentHealth, HubError } from '../errors.js';
import type { HostSink } from '../sink.js';
import { type DurableWrites, JournalAcks, type JournalStatus } from './acks.js';
import type { HostLimits } from './bounds.js';
import type { EdgeNodeState } from './edge-node.js';
import { type HostSession, InProcessSession } from './in-process-session.js';
import { MessageProcessor } from './processor.js';
import type { HostCounters, MessageTypeCounts } from './types.js';

export interface SparkplugHostOptions {
  /** mqtt://host:port of the broker (embedded or external). */
  readonly url: string;
  /**
   * The embedded broker's in-process route: with it the host takes messages from the broker
   * directly instead of connecting to `url` (in-process-session.ts); the Sparkplug lifecycle
   * (STATE, rebirths, acknowledgements) is the same.
   */
  readonly inProcess?: InProcessPort;
  readonly hostId: string;
  readonly sink: HostSink;
  readonly logger: Logger;
  /** Default REAL_CLOCK. */
  readonly clock?: Clock;
  /** Default 2000 ms. */
  readonly reorderTimeoutMs?: number;
  /** Default 5000 ms. */
  readonly rebirthMinIntervalMs?: number;
  /** How long start() waits for the first connection; default 10 000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * The ingest's durable-write events: with them the host acknowledges gateway journals
   * (acks.ts); without, it never does (gateways then keep their data until they drop it).
   */
  readonly writes?: DurableWrites;
  /** How often journal acknowledgements go out at most, per edge node; default 500 ms. */
  readonly ackIntervalMs?: number;
  /** A gateway journal not draining for this long makes journalHealth() degraded; default 120 000 ms. */
  readonly journalStallMs?: number;
  /** Credentials for brokers that require them (per-client ACLs come later). */
  readonly username?: string;
  readonly password?: string;
  /** TLS client options for an mqtts:// or wss:// broker (an external one: mqtt.clientTls). */
  readonly tls?: HostTlsOptions;
  /** Bounds on what gateways send (config `limits`, bounds.ts); default DEFAULT_HOST_LIMITS. */
  readonly limits?: HostLimits;
  /**
   * A worker of a hub cluster (hub/cluster/): the host subscribes to every group's NBIRTH and to
   * the groups it is given (takeGroups), not to every group. A message of a group this worker
   * does not take in is dropped (another worker takes it in); an NBIRTH is offered to `seen` first,
   * which says whether this worker owns its group (a group seen for the first time may be).
   */
  readonly groups?: HostGroupGate;
}

/** Which groups a cluster worker's host takes in (hub/cluster/worker.ts). */
export interface HostGroupGate {
  owns(group: string): boolean;
  seen(group: string): boolean;
}

/** Own STATE seen wrong (offline, foreign timestamp) is corrected at most this often. */
const STATE_CORRECTION_MIN_MS = 5_000;
/** A lost connection is retried every second (no growing backoff: the host is the hub's core). */
const RECONNECT_MS = 1_000;

export class SparkplugHost {
  readonly #o: SparkplugHostOptions;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #stateTopic: string;
  readonly #processor: MessageProcessor;
  readonly #acks: JournalAcks | undefined;
  #session: HostSession | undefined;
  /** Settles start(): the first STATE online went out. */
  #firstOnline: (() => void) | undefined;
  /** Timestamp of the current CONNECT's will; STATE online and offline repeat it. */
  #connectTs = 0;
  #onlinePublished = false;
  #closing = false;
  #lastCorrection = Number.NEGATIVE_INFINITY;
  #status: ComponentHealth['status'] = 'starting';

  constructor(opts: SparkplugHostOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'host', hostId: opts.hostId });
    const clock = opts.clock ?? REAL_CLOCK;
    this.#clock = clock;
    this.#stateTopic = stateTopic(opts.hostId);
    const now = () => clock.now();
    this.#acks =
      opts.writes === undefined
        ? undefined
        : new JournalAcks({
            writes: opts.writes,
            publish: (group, edgeNode, payload) => this.#publishAck(group, edgeNode, payload),
            requestRebirth: (group, edgeNode, reason) =>
              this.#processor.requestRebirth(group, edgeNode, reason),
            logger: this.#log,
            clock: now,
            timers: clock,
            ...(opts.ackIntervalMs === undefined ? {} : { intervalMs: opts.ackIntervalMs }),
            ...(opts.journalStallMs === undefined ? {} : { stallMs: opts.journalStallMs }),
          });
    this.#processor = new MessageProcessor({
      sink: opts.sink,
      logger: this.#log,
      clock: now,
      timers: clock,
      reorderTimeoutMs: opts.reorderTimeoutMs ?? 2_000,
      rebirthMinIntervalMs: opts.rebirthMinIntervalMs ?? 5_000,
      sendRebirth: (group, edgeNode) => this.#publishRebirth(group, edgeNode),
      ...(this.#acks === undefined ? {} : { journals: this.#acks }),
      ...(opts.limits === undefined ? {} : { limits: opts.limits }),
    });
  }

  /** Journal acknowledgements sent and replays asked for. */
  get ackCounters(): Readonly<Record<string, number>> {
    return { ...(this.#acks?.counters ?? {}) };
  }

  /** The journal position acknowledged to an edge node (tests, diagnostics). */
  acknowledged(group: string, edgeNode: string): number | undefined {
    return this.#acks?.acknowledged(group, edgeNode);
  }

  /** Gateway journals that do not drain (acks.ts), for /healthz; up without acknowledgements. */
  journalHealth(): ComponentHealth {
    return this.#acks?.health() ?? { status: 'up' };
  }

  get counters(): Readonly<HostCounters> {
    return this.#processor.counters;
  }

  /** Messages received by Sparkplug message type (/metrics). */
  get messagesByType(): Readonly<MessageTypeCounts> {
    return this.#processor.messagesByType;
  }

  /** Each gateway journal the host acknowledges: backlog reported, stalled or not (/metrics). */
  journals(): JournalStatus[] {
    return this.#acks?.journals() ?? [];
  }

  get connected(): boolean {
    return this.#session?.connected === true && this.#onlinePublished;
  }

  health(): ComponentHealth {
    if (this.#status !== 'up') return { status: this.#status };
    return this.connected ? { status: 'up' } : { status: 'down', detail: 'not connected to the MQTT broker' };
  }

  /** What the host knows about an edge node (tests, diagnostics). */
  node(group: string, edgeNode: string): EdgeNodeState | undefined {
    return this.#processor.node(group, edgeNode);
  }

  requestRebirth(group: string, edgeNode: string): void {
    this.#processor.requestRebirth(group, edgeNode, 'requested by operator');
  }

  async start(): Promise<void> {
    if (this.#session !== undefined) return;
    this.#closing = false;
    this.#acks?.start();
    const connectTimeoutMs = this.#o.connectTimeoutMs ?? 10_000;
    const attempt = () => {
      // Each CONNECT carries a fresh will timestamp (Sparkplug: STATE repeats it).
      this.#connectTs = this.#clock.now();
      this.#onlinePublished = false;
      return { will: this.#state(false), ...(this.#o.tls === undefined ? {} : { tls: this.#o.tls }) };
    };
    const filters = [
      this.#stateTopic,
      this.#o.groups === undefined ? allGroupsFilter() : allNodeBirthsFilter(),
    ];
    const handler = {
      ready: () => this.#announceOnline(),
      message: (topic: string, payload: Buffer) => this.#onMessage(topic, payload),
      lost: () => {
        this.#onlinePublished = false;
      },
    };
    const inProcess = this.#o.inProcess;
    const session: HostSession =
      inProcess === undefined
        ? new MqttSession({
            url: this.#o.url,
            clientId: this.#o.hostId,
            keepaliveS: 30,
            ...(this.#o.username === undefined ? {} : { username: this.#o.username }),
            ...(this.#o.password === undefined ? {} : { password: this.#o.password }),
            logger: this.#log,
            clock: this.#clock,
            attempt,
            filters,
            handler,
            reconnectMinMs: RECONNECT_MS,
            reconnectMaxMs: RECONNECT_MS,
            connectTimeoutMs,
          })
        : new InProcessSession({ port: inProcess, filters, handler, attempt, logger: this.#log });
    this.#session = session;
    let timer: TimerHandle | undefined;
    const firstOnline = new Promise<void>((resolve, reject) => {
      timer = this.#clock.setTimeout(() => {
        reject(
          new HubError(
            'WANJI_E_HOST_CONNECT',
            `Sparkplug host could not connect to ${redactUrl(this.#o.url)} within ${connectTimeoutMs} ms`,
          ),
        );
      }, connectTimeoutMs);
      this.#firstOnline = resolve;
    });
    try {
      await session.start();
      await firstOnline;
    } catch (err) {
      await this.#end();
      throw err;
    } finally {
      this.#clock.clearTimeout(timer);
      this.#firstOnline = undefined;
    }
    this.#status = 'up';
  }

  /** Publishes STATE offline (retained), then disconnects cleanly, so the will is not sent. */
  async close(): Promise<void> {
    if (this.#session === undefined) {
      this.#status = 'closed';
      return;
    }
    this.#closing = true;
    await this.#end(this.#state(false));
    this.#status = 'closed';
  }

  async #end(last?: SessionMessage): Promise<void> {
    const session = this.#session;
    if (session !== undefined) await session.close(last);
    this.#session = undefined;
    this.#onlinePublished = false;
    this.#processor.close();
    this.#acks?.close();
  }

  /** Our STATE with the current CONNECT's timestamp. */
  #state(online: boolean): SessionMessage {
    return {
      topic: this.#stateTopic,
      payload: encodeHostState({ online, timestamp: this.#connectTs }),
      retain: true,
    };
  }

  /** Subscribed to our own STATE and every group (the session's filters): say we are online. */
  #announceOnline(): void {
    this.#publishOnline().then(
      () => {
        this.#log.info({ url: redactUrl(this.#o.url) }, 'primary host online');
        this.#firstOnline?.();
      },
      (err: unknown) => this.#log.warn({ err }, 'could not publish STATE online'),
    );
  }

  async #publishOnline(): Promise<void> {
    const session = this.#session;
    if (session === undefined) return;
    const { topic, payload, retain } = this.#state(true);
    await session.publishAsync(topic, payload, { qos: 1, retain });
    this.#onlinePublished = true;
  }

  #onMessage(topic: string, payload: Buffer): void {
    if (topic === this.#stateTopic) {
      this.#processor.messagesByType.STATE++;
      this.#onOwnState(payload);
      return;
    }
    const gate = this.#o.groups;
    if (gate !== undefined) {
      // spBv1.0/<group>/<type>/…: the group and the type without parsing the rest.
      const a = topic.indexOf('/');
      const b = topic.indexOf('/', a + 1);
      const group = topic.slice(a + 1, b);
      const nbirth = topic.startsWith('NBIRTH/', b + 1);
      if (!(nbirth ? gate.seen(group) : gate.owns(group))) return;
    }
    this.#processor.handle(topic, payload);
  }

  /**
   * A cluster worker takes these groups in: subscribes to their topics and asks each of their
   * edge nodes it is told of for a rebirth, so its journal replays what no worker acknowledged.
   */
  async takeGroups(
    groups: readonly string[],
    edgeNodesOf: (group: string) => readonly string[],
  ): Promise<void> {
    const session = this.#clusterSession();
    if (session === undefined) return;
    await session.addFilters(groups.flatMap((g) => groupFilters(g)));
    for (const g of groups) {
      for (const node of edgeNodesOf(g))
        this.#processor.requestRebirth(g, node, 'group taken over by this worker');
    }
  }

  /** A cluster worker lets these groups go to another: unsubscribes and forgets their edge nodes. */
  async releaseGroups(groups: readonly string[]): Promise<void> {
    const session = this.#clusterSession();
    if (session === undefined) return;
    await session.removeFilters(groups.flatMap((g) => groupFilters(g)));
    for (const g of groups) {
      this.#processor.forgetGroup(g);
      this.#acks?.forgetGroup(g);
    }
  }

  /** The session of a cluster worker's host: an MQTT session to the shared broker. */
  #clusterSession(): MqttSession | undefined {
    if (this.#o.groups === undefined) return undefined;
    const session = this.#session;
    if (session === undefined) return undefined;
    if (!(session instanceof MqttSession)) {
      throw new HubError('WANJI_E_HUB_CONFIG', 'a hub cluster worker needs mqtt.type "external"');
    }
    return session;
  }

  /**
   * A stale retained STATE, or a late will from our previous session, must not stand:
   * edge nodes that read "offline" disconnect. Republish ours (rate-limited, in case a
   * second hub runs with the same host id).
   */
  #onOwnState(payload: Buffer): void {
    const s = decodeHostState(payload);
    if (s === undefined) {
      this.#processor.counters.malformedPayloads++;
      return;
    }
    if (s.online && s.timestamp === this.#connectTs) return;
    if (this.#session === undefined || this.#closing || !this.#onlinePublished) return;
    const now = this.#clock.now();
    if (now - this.#lastCorrection < STATE_CORRECTION_MIN_MS) return;
    this.#lastCorrection = now;
    this.#processor.counters.stateCorrections++;
    this.#log.warn({ seen: s }, 'own STATE was overwritten; publishing online again');
    this.#publishOnline().catch((err: unknown) => this.#log.warn({ err }, 'STATE republish failed'));
  }

  /** Journal acknowledgements and rebirth requests go out only on a connection (a failure is logged). */
  #publishAck(group: string, edgeNode: string, payload: Uint8Array): void {
    this.#session?.publish(nodeTopic(group, 'NCMD', edgeNode), payload, { qos: 1 });
  }

  #publishRebirth(group: string, edgeNode: string): void {
    const session = this.#session;
    if (session === undefined || !session.connected) return;
    const now = this.#clock.now();
    const payload = encodePayload({
      timestamp: now,
      metrics: [{ name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: true, timestamp: now }],
    });
    session.publish(nodeTopic(group, 'NCMD', edgeNode), payload, { qos: 0 });
  }
}
