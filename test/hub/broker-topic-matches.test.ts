/**
 * The embedded broker's subscribers remembered per topic (hub/broker/aedes/topic-matches.ts),
 * on a real aedes: the same deliveries as without, the trie asked once per topic until a
 * subscription changes, and the memory bounded.
 */
import { Aedes, type AedesPublishPacket } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { rememberMatches } from '../../hub/broker/aedes/topic-matches.js';

type Deliver = (packet: AedesPublishPacket, done: () => void) => void;

describe('subscribers remembered per topic', () => {
  let aedes: Aedes | undefined;

  afterEach(async () => {
    await new Promise<void>((resolve) => (aedes === undefined ? resolve() : aedes.close(() => resolve())));
    aedes = undefined;
  });

  /** A real aedes whose trie lookups are counted (below the memory, so only misses count). */
  async function broker(maxTopics?: number): Promise<{ a: Aedes; lookups: () => number }> {
    const a = await Aedes.createBroker();
    aedes = a;
    const trie = (a as unknown as { mq: { _matcher: { match: (topic: string) => unknown[] } } }).mq._matcher;
    const match = trie.match.bind(trie);
    let n = 0;
    trie.match = (topic: string) => {
      n++;
      return match(topic);
    };
    expect(rememberMatches(a, maxTopics)).toBe(true);
    return { a, lookups: () => n };
  }

  function subscriber(): { got: string[]; deliver: Deliver } {
    const got: string[] = [];
    return {
      got,
      deliver: (packet, done) => {
        got.push(`${packet.topic}=${String(packet.payload)}`);
        done();
      },
    };
  }

  const subscribe = (a: Aedes, topic: string, d: Deliver) =>
    new Promise<void>((resolve) => a.subscribe(topic, d, resolve));
  const unsubscribe = (a: Aedes, topic: string, d: Deliver) =>
    new Promise<void>((resolve) => a.unsubscribe(topic, d, resolve));
  const publish = (a: Aedes, topic: string, payload: string) =>
    new Promise<void>((resolve, reject) =>
      a.publish({ cmd: 'publish', topic, payload, qos: 0, retain: false, dup: false }, (err) =>
        err ? reject(err) : resolve(),
      ),
    );

  it('delivers as the trie says, asks it once per topic, and asks again after every subscription change', async () => {
    const { a, lookups } = await broker();
    const one = subscriber();
    const all = subscriber();
    await subscribe(a, 'spBv1.0/E1/+/GW-1', one.deliver);
    const before = lookups();
    for (let i = 0; i < 5; i++) await publish(a, 'spBv1.0/E1/NDATA/GW-1', `a${i}`);
    expect(lookups() - before).toBe(1);
    expect(one.got).toEqual(['a0', 'a1', 'a2', 'a3', 'a4'].map((p) => `spBv1.0/E1/NDATA/GW-1=${p}`));

    // A new subscription: the kept answer is forgotten, the new subscriber gets the next message.
    await subscribe(a, 'spBv1.0/#', all.deliver);
    const added = lookups();
    await publish(a, 'spBv1.0/E1/NDATA/GW-1', 'b');
    await publish(a, 'spBv1.0/E1/NDATA/GW-1', 'c');
    expect(lookups() - added).toBe(1);
    expect(one.got.slice(-2)).toEqual(['spBv1.0/E1/NDATA/GW-1=b', 'spBv1.0/E1/NDATA/GW-1=c']);
    expect(all.got).toEqual(['spBv1.0/E1/NDATA/GW-1=b', 'spBv1.0/E1/NDATA/GW-1=c']);

    // Unsubscribed: no more deliveries to it.
    await unsubscribe(a, 'spBv1.0/E1/+/GW-1', one.deliver);
    await publish(a, 'spBv1.0/E1/NDATA/GW-1', 'd');
    expect(one.got).toHaveLength(7);
    expect(all.got.at(-1)).toBe('spBv1.0/E1/NDATA/GW-1=d');

    // A topic no one subscribes to is remembered as such, until someone does.
    await publish(a, 'other/x', 'e');
    const nobody = subscriber();
    await subscribe(a, 'other/#', nobody.deliver);
    await publish(a, 'other/x', 'f');
    expect(nobody.got).toEqual(['other/x=f']);
  });

  it('keeps at most maxTopics answers and still delivers every message', async () => {
    const { a, lookups } = await broker(3);
    const s = subscriber();
    await subscribe(a, 't/#', s.deliver);
    const before = lookups();
    const topics = Array.from({ length: 10 }, (_, i) => `t/${i}`);
    for (let round = 0; round < 2; round++) for (const t of topics) await publish(a, t, String(round));
    expect(s.got).toEqual([0, 1].flatMap((r) => topics.map((t) => `${t}=${r}`)));
    // Ten topics cycling through room for three: every lookup misses.
    expect(lookups() - before).toBe(20);
    // Three topics fit: asked once each (from empty: a subscription change forgets all).
    await subscribe(a, 'u/#', subscriber().deliver);
    const fits = lookups();
    for (let round = 0; round < 4; round++) for (const t of topics.slice(0, 3)) await publish(a, t, 'x');
    expect(lookups() - fits).toBe(3);
  });
});
