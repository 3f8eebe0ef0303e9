/**
 * A hub run as several workers on one external MQTT broker (config `cluster`, docs/hub.md,
 * "Several workers"). Each worker takes in the Sparkplug groups (enterprises) it owns among the
 * live workers, so an edge node's sequence stays on one worker; the live workers are learnt over
 * the broker (membership.ts), the owners by rendezvous hashing (ownership.ts), and the host is
 * kept subscribed to exactly its groups (worker.ts). When a worker dies, the others take its
 * groups at once and ask their edge nodes for a rebirth: the gateways' journals replay what no
 * worker acknowledged, so nothing is lost.
 */
import type { Logger } from 'pino';
import type { Clock } from '../../protocol/clock.js';
import type { SessionTls } from '../../protocol/mqtt-session.js';
import type { HostGroupGate } from '../host/host.js';
import { ClusterMembership } from './membership.js';
import { ClusterWorker } from './worker.js';

export interface ClusterConfig {
  readonly name: string;
  readonly worker: string;
  readonly heartbeatMs: number;
}

/** What a cluster worker asks of the Sparkplug host (SparkplugHost). */
export interface ClusterHost {
  takeGroups(groups: readonly string[], edgeNodesOf: (group: string) => readonly string[]): Promise<void>;
  releaseGroups(groups: readonly string[]): Promise<void>;
}

export interface HubClusterOptions {
  readonly config: ClusterConfig;
  /** The shared broker, as the host reaches it. */
  readonly url: string;
  readonly username?: string;
  readonly password?: string;
  readonly tls?: SessionTls;
  /** The registry's gateways: which groups exist and their edge nodes (to ask for rebirths). */
  readonly gateways: () => readonly { readonly group: string; readonly edgeNode: string }[];
  readonly clock: Clock;
  readonly logger: Logger;
}

export class HubCluster {
  readonly #o: HubClusterOptions;
  readonly #membership: ClusterMembership;
  readonly #worker: ClusterWorker;
  #host: ClusterHost | undefined;
  /** Settles start() with the first view's changes to the host. */
  #firstView: ((applied: Promise<void>) => void) | undefined;

  constructor(opts: HubClusterOptions) {
    this.#o = opts;
    const { name, worker, heartbeatMs } = opts.config;
    this.#membership = new ClusterMembership({
      url: opts.url,
      ...(opts.username === undefined ? {} : { username: opts.username }),
      ...(opts.password === undefined ? {} : { password: opts.password }),
      ...(opts.tls === undefined ? {} : { tls: opts.tls }),
      cluster: name,
      worker,
      heartbeatMs,
      clock: opts.clock,
      logger: opts.logger,
      onChange: (workers) => {
        const applied = this.#worker.setWorkers(workers);
        this.#firstView?.(applied);
      },
    });
    this.#worker = new ClusterWorker({
      membership: this.#membership,
      host: {
        takeGroups: (groups) =>
          this.#host?.takeGroups(groups, (g) => this.#edgeNodesOf(g)) ?? Promise.resolve(),
        releaseGroups: (groups) => this.#host?.releaseGroups(groups) ?? Promise.resolve(),
      },
      knownGroups: () => new Set(opts.gateways().map((g) => g.group)),
      logger: opts.logger,
    });
  }

  /** What the host asks per message: does this worker take the group in. */
  get gate(): HostGroupGate {
    return { owns: (g) => this.#worker.owns(g), seen: (g) => this.#worker.groupSeen(g) };
  }

  /** The host whose subscriptions follow the groups (before start()). */
  attach(host: ClusterHost): void {
    this.#host = host;
  }

  /** This worker's view, for /healthz and tests. */
  status(): { worker: string; workers: readonly string[]; groups: readonly string[] } {
    return {
      worker: this.#o.config.worker,
      workers: this.#worker.workers,
      groups: this.#worker.ownedGroups(),
    };
  }

  /**
   * The cluster's leader (the live worker with the lowest id) does what must happen once for
   * the whole programme: the daily snapshots and the alert evaluations. False before the view
   * settled.
   */
  isLeader(): boolean {
    return this.#worker.workers[0] === this.#o.config.worker;
  }

  /**
   * Joins the cluster and resolves once the first settled view reached the host (this worker
   * subscribed to its enterprises), or after the membership's own settle bound.
   */
  async start(): Promise<void> {
    const first = new Promise<Promise<void>>((resolve) => {
      this.#firstView = resolve;
    });
    await this.#membership.start();
    const bound = 6 * this.#o.config.heartbeatMs + 1_000;
    let timer: unknown;
    const late = new Promise<undefined>((resolve) => {
      timer = this.#o.clock.setTimeout(() => resolve(undefined), bound);
    });
    try {
      const applied = await Promise.race([first, late]);
      await applied;
    } finally {
      this.#o.clock.clearTimeout(timer);
      this.#firstView = undefined;
    }
  }

  /** Leaves the cluster first, so the others take this worker's groups at once. */
  async close(): Promise<void> {
    await this.#membership.close();
  }

  #edgeNodesOf(group: string): string[] {
    return this.#o.gateways().flatMap((g) => (g.group === group ? [g.edgeNode] : []));
  }
}
