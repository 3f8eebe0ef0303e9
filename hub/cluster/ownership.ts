/**
 * Which worker of a hub cluster owns a Sparkplug group (an enterprise): rendezvous (highest
 * random weight) hashing over the live workers. Every worker computes the same answer from the
 * same set of live workers, with no coordinator; when a worker goes, only its groups move (each
 * to the worker that scores next for it), and when one comes, it takes about 1/n of the groups,
 * only from the others. One owner per group keeps an edge node's sequence on one worker.
 */
import { createHash } from 'node:crypto';

/** The score of `worker` for `group`: 48 bits of SHA-256, so ties never happen in practice. */
function score(group: string, worker: string): number {
  return createHash('sha256').update(group).update('\0').update(worker).digest().readUIntBE(0, 6);
}

/** The owner of `group` among `workers`; undefined when there is no live worker. */
export function ownerOf(group: string, workers: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestScore = -1;
  for (const w of workers) {
    const s = score(group, w);
    // Equal scores (never seen) go to the lower id, so every worker still agrees.
    if (s > bestScore || (s === bestScore && best !== undefined && w < best)) {
      best = w;
      bestScore = s;
    }
  }
  return best;
}

/** The groups of `groups` that `worker` owns among `workers`. */
export function groupsOwnedBy(
  worker: string,
  groups: Iterable<string>,
  workers: readonly string[],
): string[] {
  const out: string[] = [];
  for (const g of groups) if (ownerOf(g, workers) === worker) out.push(g);
  return out;
}
