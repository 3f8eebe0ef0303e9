/**
 * One worker of a hub cluster: which Sparkplug groups (enterprises) this worker takes in, kept
 * in step with the live workers (membership.ts) by rendezvous hashing (ownership.ts). The host
 * is told to take a group (subscribe to its topics, ask its edge nodes for a rebirth: their
 * journals replay what no worker acknowledged while the group had no owner) and to release one
 * (unsubscribe, forget its edge nodes' sessions). A group is known from the registry (every
 * enterprise with a gateway) or from an NBIRTH, which every worker receives.
 */
import type { Logger } from 'pino';
import type { ClusterMembership } from './membership.js';
import { ownerOf } from './ownership.js';

/** What the worker asks of the Sparkplug host. */
export interface GroupHost {
  takeGroups(groups: readonly string[]): Promise<void>;
  releaseGroups(groups: readonly string[]): Promise<void>;
}

export interface ClusterWorkerOptions {
  readonly membership: Pick<ClusterMembership, 'worker' | 'workers'>;
  readonly host: GroupHost;
  /** The groups known before any NBIRTH: the registry's enterprises with gateways. */
  readonly knownGroups: () => Iterable<string>;
  readonly logger: Logger;
}

export class ClusterWorker {
  readonly #o: ClusterWorkerOptions;
  readonly #log: Logger;
  readonly #known = new Set<string>();
  readonly #owned = new Set<string>();
  #workers: readonly string[] = [];
  /** Changes to the host, one at a time, in order. */
  #changing: Promise<void> = Promise.resolve();
  readonly counters = { taken: 0, released: 0, viewChanges: 0 };

  constructor(opts: ClusterWorkerOptions) {
    this.#o = opts;
    this.#log = opts.logger.child({ component: 'cluster', worker: opts.membership.worker });
  }

  /** True when this worker takes in `group` now. */
  owns(group: string): boolean {
    return this.#owned.has(group);
  }

  /** The groups this worker takes in, sorted. */
  ownedGroups(): string[] {
    return [...this.#owned].sort();
  }

  /** The live workers as last applied. */
  get workers(): readonly string[] {
    return this.#workers;
  }

  /** Applies a settled view of the live workers (membership's onChange); resolves once applied. */
  setWorkers(workers: readonly string[]): Promise<void> {
    this.#workers = [...workers];
    this.counters.viewChanges++;
    for (const g of this.#o.knownGroups()) this.#known.add(g);
    return this.#rebalance();
  }

  /**
   * An NBIRTH of `group` arrived (every worker subscribes to all of them). A group seen for the
   * first time is taken when this worker owns it. True when this worker owns it.
   */
  groupSeen(group: string): boolean {
    if (!this.#known.has(group)) {
      this.#known.add(group);
      if (this.#workers.length > 0) void this.#rebalance();
    }
    return ownerOf(group, this.#workers) === this.#o.membership.worker;
  }

  /** Resolves when the changes asked so far reached the host. */
  idle(): Promise<void> {
    return this.#changing;
  }

  #rebalance(): Promise<void> {
    const me = this.#o.membership.worker;
    const workers = this.#workers;
    const run = this.#changing.then(async () => {
      const take: string[] = [];
      const release: string[] = [];
      for (const g of this.#known) {
        const mine = ownerOf(g, workers) === me;
        if (mine && !this.#owned.has(g)) take.push(g);
        if (!mine && this.#owned.has(g)) release.push(g);
      }
      if (release.length > 0) {
        for (const g of release) this.#owned.delete(g);
        this.counters.released += release.length;
        this.#log.info({ groups: release.length, workers }, 'releasing groups to other workers');
        await this.#o.host.releaseGroups(release.sort());
      }
      if (take.length > 0) {
        for (const g of take) this.#owned.add(g);
        this.counters.taken += take.length;
        this.#log.info({ groups: take.length, workers }, 'taking groups');
        await this.#o.host.takeGroups(take.sort());
      }
    });
    this.#changing = run.catch((err: unknown) => {
      this.#log.error({ err }, 'changing the groups this worker takes in failed');
    });
    return this.#changing;
  }
}
