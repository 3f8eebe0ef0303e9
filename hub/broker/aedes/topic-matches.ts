/**
 * Who a PUBLISH goes to, remembered per topic. aedes routes each message through its emitter
 * (mqemitter, `aedes.mq`), which asks its topic trie (qlobber, `mq._matcher`) for the
 * subscribers of the message's topic: the topic split into levels (an array and a string per
 * level) and the trie walked, for every message. A gateway sends on the same topics every second
 * and subscriptions change only when a client subscribes, unsubscribes or leaves, so the answer
 * is kept per topic and forgotten, all of it, at the trie's next change. At most `maxTopics`
 * answers are kept (a client publishing on ever new topics only empties the memory more often).
 *
 * The emitter reads the answer (a list of subscriber functions) and never changes it, and a
 * change to the trie makes new lists rather than touching kept ones. Pinned with aedes' exact
 * version in package.json, like the parser it hooks (parser.ts).
 */
import type { Aedes } from 'aedes';

/** Topics whose subscribers are remembered at most. */
export const MAX_REMEMBERED_TOPICS = 100_000;

interface TopicTrie {
  match(topic: string, ctx?: unknown): unknown[];
  add(topic: string, value: unknown): unknown;
  remove(topic: string, value?: unknown): unknown;
  clear(): unknown;
}

function trieOf(aedes: Aedes): TopicTrie | undefined {
  const trie = (aedes as unknown as { mq?: { _matcher?: Partial<TopicTrie> } }).mq?._matcher;
  if (
    trie === undefined ||
    typeof trie.match !== 'function' ||
    typeof trie.add !== 'function' ||
    typeof trie.remove !== 'function' ||
    typeof trie.clear !== 'function'
  ) {
    return undefined;
  }
  return trie as TopicTrie;
}

/** Remembers `aedes`' subscribers per topic (above). False when its emitter has no trie to wrap. */
export function rememberMatches(aedes: Aedes, maxTopics = MAX_REMEMBERED_TOPICS): boolean {
  const trie = trieOf(aedes);
  if (trie === undefined) return false;
  const match = trie.match.bind(trie);
  const add = trie.add.bind(trie);
  const remove = trie.remove.bind(trie);
  const clear = trie.clear.bind(trie);
  const known = new Map<string, unknown[]>();
  trie.match = (topic: string, ctx?: unknown): unknown[] => {
    if (ctx !== undefined) return match(topic, ctx);
    let found = known.get(topic);
    if (found === undefined) {
      found = match(topic);
      if (known.size >= maxTopics) known.clear();
      known.set(topic, found);
    }
    return found;
  };
  trie.add = (topic, value) => {
    known.clear();
    return add(topic, value);
  };
  trie.remove = (topic, value) => {
    known.clear();
    return remove(topic, value);
  };
  trie.clear = () => {
    known.clear();
    return clear();
  };
  return true;
}
