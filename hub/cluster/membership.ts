/**
 * Which workers of a hub cluster are alive, learnt over the MQTT broker they share (EMQX,
 * HiveMQ, mosquitto): no coordinator, no database. Each worker keeps a retained heartbeat on
 * `wanji/cluster/<cluster>/workers/<worker>`, republished every `heartbeatMs`, and its MQTT will
 * is an empty retained message on the same topic, so a worker that dies (killed, power lost, the
 * connection cut) is removed by the broker at once and a stale retained heartbeat (a worker that
 * died with the broker) expires after three missed beats. A clean stop clears it too.
 *
 * The view is only reported once it has settled: when this worker's own first heartbeat comes
 * back. The broker sends the retained heartbeats of the others right after the subscription and
 * before anything published after it, so by then every running worker is known (a worker that
 * started alone would otherwise claim every group for a moment). Its own connection is a
 * session of its own (protocol/mqtt-session.ts), because a connection has one will and the
 * host's is its STATE.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../protocol/clock.js';
import { MqttSession, type SessionTls } from '../../protocol/mqtt-session.js';

/** Letters, digits, `_`, `.`, `-`: a topic level and a client id everywhere. */
export const WORKER_ID = /^[A-Za-z0-9_.-]{1,64}$/;

/** Missed beats after which a worker whose heartbeat stood still is taken as gone. */
const MISSED_BEATS = 3;

export interface MembershipOptions {
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: SessionTls;
  /** The cluster's name: workers of one cluster see each other, nobody else. */
  readonly cluster: string;
  /** This worker's id, unique in the cluster. */
  readonly worker: string;
  /** Default 5 000 ms. */
  readonly heartbeatMs?: number;
  /**
   * How long to wait for the own heartbeat to come back before settling anyway (a broker ACL
   * that refuses reading it), with a warning; default 5 × heartbeatMs.
   */
  readonly settleMs?: number;
  readonly clock: Clock;
  readonly logger: Logger;
  /** The live workers (sorted, this one included) each time the settled view changes. */
  readonly onChange?: (workers: readonly string[]) => void;
}

interface Beat {
  readonly worker: string;
  readonly since: number;
  readonly beatAt: number;
}

export function membershipTopic(cluster: string, worker: string): string {
  return `wanji/cluster/${cluster}/workers/${worker}`;
}

export class ClusterMembership {
  readonly #o: MembershipOptions;
  readonly #log: Logger;
  readonly #session: MqttSession;
  readonly #topic: string;
  readonly #heartbeatMs: number;
  readonly #since: number;
  /** Other workers, by id: when (on our clock) their last beat arrived. */
  readonly #peers = new Map<string, number>();
  #beatTimer: TimerHandle | undefined;
  #settleTimer: TimerHandle | undefined;
  #settled = false;
  #reported = '';
  #closed = false;

  constructor(opts: MembershipOptions) {
    for (const [what, id] of [
      ['cluster', opts.cluster],
      ['worker', opts.worker],
    ] as const) {
      if (!WORKER_ID.test(id)) {
        throw new Error(
          `cluster ${what} "${id}" is not a valid name: use 1–64 letters, digits, "_", "." or "-"`,
        );
      }
    }
    this.#o = opts;
    this.#heartbeatMs = opts.heartbeatMs ?? 5_000;
    this.#log = opts.logger.child({ component: 'cluster', cluster: opts.cluster, worker: opts.worker });
    this.#topic = membershipTopic(opts.cluster, opts.worker);
    this.#since = opts.clock.now();
    this.#session = new MqttSession({
      url: opts.url,
      clientId: `wanji-cluster-${opts.cluster}-${opts.worker}`,
      keepaliveS: Math.max(5, Math.ceil(this.#heartbeatMs / 1000)),
      ...(opts.username === undefined ? {} : { username: opts.username }),
      ...(opts.password === undefined ? {} : { password: opts.password }),
      logger: this.#log,
      clock: opts.clock,
      attempt: () => ({
        will: { topic: this.#topic, payload: new Uint8Array(0), retain: true },
        ...(opts.tls === undefined ? {} : { tls: opts.tls }),
      }),
      filters: [membershipTopic(opts.cluster, '+')],
      handler: {
        ready: () => this.#ready(),
        message: (topic, payload) => this.#message(topic, payload),
        lost: () => {
          this.#o.clock.clearTimeout(this.#beatTimer);
          this.#beatTimer = undefined;
        },
      },
    });
  }

  get worker(): string {
    return this.#o.worker;
  }

  /** Connected to the broker and settled: the view is worth acting on. */
  get settled(): boolean {
    return this.#settled && this.#session.connected;
  }

  /** The live workers, sorted, this one included. */
  workers(): string[] {
    return [this.#o.worker, ...this.#peers.keys()].sort();
  }

  async start(): Promise<void> {
    await this.#session.start();
  }

  /** Clears this worker's heartbeat (the others see it leave at once) and disconnects. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#o.clock.clearTimeout(this.#beatTimer);
    this.#o.clock.clearTimeout(this.#settleTimer);
    await this.#session.close({ topic: this.#topic, payload: new Uint8Array(0), retain: true });
  }

  #ready(): void {
    this.#beat();
    if (!this.#settled) {
      this.#o.clock.clearTimeout(this.#settleTimer);
      this.#settleTimer = this.#o.clock.setTimeout(
        () => {
          this.#log.warn(
            { topic: this.#topic },
            'own cluster heartbeat never came back (may the broker let this worker read it?); going on with what is known',
          );
          this.#settle();
        },
        this.#o.settleMs ?? 5 * this.#heartbeatMs,
      );
    }
  }

  #settle(): void {
    if (this.#settled) return;
    this.#o.clock.clearTimeout(this.#settleTimer);
    this.#settled = true;
    this.#log.info({ workers: this.workers() }, 'cluster view settled');
    this.#report();
  }

  /** Publishes the heartbeat, drops peers that stopped beating, and arms the next beat. */
  #beat(): void {
    if (this.#closed) return;
    const now = this.#o.clock.now();
    const beat: Beat = { worker: this.#o.worker, since: this.#since, beatAt: now };
    this.#session.publish(this.#topic, Buffer.from(JSON.stringify(beat)), { qos: 1, retain: true });
    for (const [peer, at] of this.#peers) {
      if (now - at > MISSED_BEATS * this.#heartbeatMs) {
        this.#peers.delete(peer);
        this.#log.warn(
          { peer, silentMs: now - at },
          'cluster worker stopped beating; taken as gone (its groups move)',
        );
      }
    }
    this.#report();
    this.#o.clock.clearTimeout(this.#beatTimer);
    this.#beatTimer = this.#o.clock.setTimeout(() => this.#beat(), this.#heartbeatMs);
  }

  #message(topic: string, payload: Buffer): void {
    const peer = topic.slice(topic.lastIndexOf('/') + 1);
    if (peer === this.#o.worker) {
      if (payload.length > 0) this.#settle();
      return;
    }
    if (!WORKER_ID.test(peer)) return;
    if (payload.length === 0) {
      if (this.#peers.delete(peer)) this.#log.warn({ peer }, 'cluster worker left (its groups move)');
    } else {
      let beat: Partial<Beat> | undefined;
      try {
        beat = JSON.parse(payload.toString('utf8')) as Partial<Beat>;
      } catch {
        beat = undefined;
      }
      if (beat?.worker !== peer) {
        this.#log.warn({ topic }, 'malformed cluster heartbeat dropped');
        return;
      }
      if (!this.#peers.has(peer)) this.#log.info({ peer }, 'cluster worker joined');
      this.#peers.set(peer, this.#o.clock.now());
    }
    this.#report();
  }

  #report(): void {
    if (!this.#settled) return;
    const workers = this.workers();
    const key = workers.join(',');
    if (key === this.#reported) return;
    this.#reported = key;
    this.#o.onChange?.(workers);
  }
}
