/**
 * Issue 13, "past one machine": the workers of a hub cluster learn who is alive over the MQTT
 * broker they share and split the Sparkplug groups between them by rendezvous hashing
 * (hub/cluster/). Against a real mosquitto: workers see each other, a worker whose connection
 * dies is gone at once (its will), a stale retained heartbeat expires, a clean stop leaves at
 * once, and only the gone worker's groups move.
 */
import { connectAsync } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { ClusterMembership, membershipTopic } from '../../hub/cluster/membership.js';
import { groupsOwnedBy, ownerOf } from '../../hub/cluster/ownership.js';
import { ClusterWorker, type GroupHost } from '../../hub/cluster/worker.js';
import { REAL_CLOCK } from '../../protocol/clock.js';
import { testLogger } from '../gateway/helpers.js';
import { type Mosquitto, mosquittoBinary, startMosquitto } from '../support/mosquitto.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { tempDir } from '../support/temp.js';
import { waitFor } from '../support/wait.js';

const GROUPS = Array.from({ length: 300 }, (_, i) => `E${String(i + 1).padStart(3, '0')}`);

describe('group ownership (rendezvous hashing)', () => {
  it('gives every group one owner that every worker agrees on, spread evenly', () => {
    const workers = ['w1', 'w2', 'w3'];
    const shares = workers.map((w) => groupsOwnedBy(w, GROUPS, workers));
    expect(shares.flat().sort()).toEqual([...GROUPS].sort());
    for (const share of shares) expect(share.length).toBeGreaterThan(GROUPS.length / 3 - 40);
    // The order the workers are listed in changes nothing.
    for (const g of GROUPS) expect(ownerOf(g, ['w3', 'w1', 'w2'])).toBe(ownerOf(g, workers));
    expect(ownerOf('E001', [])).toBeUndefined();
  });

  it('moves only the groups of a worker that goes, and a new worker takes only from the others', () => {
    const before = new Map(GROUPS.map((g) => [g, ownerOf(g, ['w1', 'w2', 'w3'])]));
    const after = new Map(GROUPS.map((g) => [g, ownerOf(g, ['w1', 'w3'])]));
    for (const g of GROUPS) {
      if (before.get(g) !== 'w2') expect(after.get(g), g).toBe(before.get(g));
      else expect(['w1', 'w3']).toContain(after.get(g));
    }
    const joined = new Map(GROUPS.map((g) => [g, ownerOf(g, ['w1', 'w2', 'w3', 'w4'])]));
    const moved = GROUPS.filter((g) => joined.get(g) !== before.get(g));
    expect(moved.every((g) => joined.get(g) === 'w4')).toBe(true);
    expect(moved.length).toBeGreaterThan(GROUPS.length / 4 - 30);
  });
});

const mosquitto = mosquittoBinary();

describe.skipIf(mosquitto === undefined)('cluster membership on a real mosquitto', () => {
  const dir = tempDir();
  let broker: Mosquitto;
  const open: ClusterMembership[] = [];
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    broker = await startMosquitto(mosquitto!, dir.path);
  });
  afterEach(async () => {
    await Promise.all(open.splice(0).map((m) => m.close()));
    await Promise.all(proxies.splice(0).map((p) => p.close()));
  });
  afterAll(async () => {
    await broker.stop();
    dir.remove();
  });

  const worker = (cluster: string, id: string, url = broker.url, heartbeatMs = 300) => {
    const views: string[][] = [];
    const m = new ClusterMembership({
      url,
      cluster,
      worker: id,
      heartbeatMs,
      clock: REAL_CLOCK,
      logger: testLogger(),
      onChange: (w) => views.push([...w]),
    });
    open.push(m);
    return { m, views, view: () => views.at(-1) };
  };

  it('workers see each other; a worker whose connection dies is gone at once, through its will', async () => {
    const a = worker('c1', 'a');
    const c = worker('c1', 'c');
    // b reaches the broker through a proxy the test can cut, as a crash or a pulled cable would.
    const proxy = new TcpProxy(broker.port);
    proxies.push(proxy);
    await proxy.start();
    const b = worker('c1', 'b', proxy.url);
    // Another cluster on the same broker is not seen.
    const other = worker('c2', 'x');
    await Promise.all([a.m.start(), b.m.start(), c.m.start(), other.m.start()]);
    for (const w of [a, b, c]) {
      await waitFor(() => w.view()?.join() === 'a,b,c', `worker ${w.m.worker} to see a, b and c`);
    }
    await waitFor(() => other.view()?.join() === 'x', 'the other cluster to see only itself');
    // A worker started after the others never reports a view without them.
    const d = worker('c1', 'd');
    await d.m.start();
    await waitFor(() => d.view() !== undefined, 'd settled');
    expect(d.views[0]).toEqual(['a', 'b', 'c', 'd']);
    await d.m.close();
    await waitFor(() => a.view()?.join() === 'a,b,c', 'd gone');

    const owned = groupsOwnedBy('b', GROUPS, ['a', 'b', 'c']);
    expect(owned.length).toBeGreaterThan(0);
    proxy.down();
    proxy.cut();
    // Well before three missed beats (900 ms) would have told: the will says it at once.
    await waitFor(() => a.view()?.join() === 'a,c' && c.view()?.join() === 'a,c', 'b gone', 5_000);
    for (const g of owned) expect(['a', 'c']).toContain(ownerOf(g, a.view()!));
  });

  it('a stale retained heartbeat (a worker that died with the broker) expires after three missed beats', async () => {
    const ghost = await connectAsync(broker.url, { clientId: 'ghost-writer' });
    await ghost.publishAsync(
      membershipTopic('c3', 'ghost'),
      JSON.stringify({ worker: 'ghost', since: 0, beatAt: Date.now() }),
      { qos: 1, retain: true },
    );
    await ghost.endAsync();
    const a = worker('c3', 'a');
    await a.m.start();
    await waitFor(() => a.view() !== undefined, 'a settled');
    expect(a.views[0]).toEqual(['a', 'ghost']);
    await waitFor(() => a.view()?.join() === 'a', 'the ghost to expire', 5_000);
  });

  it('a clean stop leaves at once and clears the retained heartbeat', async () => {
    const a = worker('c4', 'a', broker.url, 10_000);
    const b = worker('c4', 'b', broker.url, 10_000);
    await Promise.all([a.m.start(), b.m.start()]);
    await waitFor(() => a.view()?.join() === 'a,b', 'a to see b');
    await b.m.close();
    await waitFor(() => a.view()?.join() === 'a', 'b gone from a', 5_000);
    // A worker starting later does not see b.
    const c = worker('c4', 'c', broker.url, 10_000);
    await c.m.start();
    await waitFor(() => c.view() !== undefined, 'c settled');
    expect(c.views[0]).toEqual(['a', 'c']);
  });

  it('refuses a worker id that cannot be a topic level, naming the rule', () => {
    expect(() => worker('c5', 'a/b')).toThrow(/cluster worker "a\/b" is not a valid name: use 1–64 letters/);
    expect(() => worker('c#', 'a')).toThrow(/cluster cluster "c#" is not a valid name/);
  });
  it("workers split the known groups, a new group goes to one of them, and a dead worker's groups move to the others only", async () => {
    const known = GROUPS.slice(0, 60);
    const rig = (id: string, url = broker.url) => {
      const held = new Set<string>();
      const calls: string[] = [];
      const host: GroupHost = {
        takeGroups: async (groups) => {
          calls.push(`take ${groups.length}`);
          for (const g of groups) held.add(g);
        },
        releaseGroups: async (groups) => {
          calls.push(`release ${groups.length}`);
          for (const g of groups) held.delete(g);
        },
      };
      let cw: ClusterWorker | undefined;
      const m = new ClusterMembership({
        url,
        cluster: 'c6',
        worker: id,
        heartbeatMs: 300,
        clock: REAL_CLOCK,
        logger: testLogger(),
        onChange: (w) => void cw?.setWorkers(w),
      });
      open.push(m);
      cw = new ClusterWorker({ membership: m, host, knownGroups: () => known, logger: testLogger() });
      return { m, cw, held, calls };
    };
    const proxy = new TcpProxy(broker.port);
    proxies.push(proxy);
    await proxy.start();
    const a = rig('a');
    const b = rig('b', proxy.url);
    await Promise.all([a.m.start(), b.m.start()]);
    await waitFor(
      () => a.cw.workers.join() === 'a,b' && b.cw.workers.join() === 'a,b',
      'both workers to see each other',
    );
    await Promise.all([a.cw.idle(), b.cw.idle()]);
    // Every known group held by exactly one worker.
    expect([...a.held, ...b.held].sort()).toEqual([...known].sort());
    expect([...a.held].filter((g) => b.held.has(g))).toEqual([]);
    expect(a.held.size).toBeGreaterThan(0);
    expect(b.held.size).toBeGreaterThan(0);

    // A new enterprise's first NBIRTH reaches both; exactly one takes it.
    const fresh = 'E999';
    const claims = [a.cw.groupSeen(fresh), b.cw.groupSeen(fresh)];
    expect(claims.filter(Boolean)).toHaveLength(1);
    await Promise.all([a.cw.idle(), b.cw.idle()]);
    expect(a.held.has(fresh) !== b.held.has(fresh)).toBe(true);

    const aBefore = new Set(a.held);
    const bGroups = [...b.held];
    const callsBefore = a.calls.length;
    proxy.down();
    proxy.cut();
    await waitFor(() => a.cw.workers.join() === 'a', 'a alone', 5_000);
    await a.cw.idle();
    expect([...a.held].sort()).toEqual([...known, fresh].sort());
    // a took exactly b's groups and released none of its own.
    expect([...a.held].filter((g) => !aBefore.has(g)).sort()).toEqual(bGroups.sort());
    expect(a.calls.slice(callsBefore)).toEqual([`take ${bGroups.length}`]);
  });
});
