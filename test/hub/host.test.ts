/** The Sparkplug host against a real aedes broker and real mqtt.js edge nodes. */
import { connectAsync } from 'mqtt';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AedesBroker } from '../../hub/broker/aedes/index.js';
import { ANONYMOUS_POLICY } from '../../hub/broker/types.js';
import { SparkplugHost } from '../../hub/host/host.js';
import { Hub } from '../../hub/hub.js';
import type { HostSink } from '../../hub/sink.js';
import { REAL_CLOCK } from '../../protocol/clock.js';
import {
  DataType,
  decodeHostState,
  encodeHostState,
  type HostState,
  stateTopic,
} from '../../protocol/index.js';
import { ManualClock } from '../support/manual-clock.js';
import { cncBirth, silentLogger, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

const NULL_SINK: HostSink = { samples() {}, event() {}, deviceActivity() {}, gatewayActivity() {} };

async function retainedState(url: string, hostId = 'wanji-hub'): Promise<HostState | undefined> {
  const c = await connectAsync(url, { reconnectPeriod: 0 });
  try {
    const got = new Promise<HostState | undefined>((resolve) => {
      c.on('message', (_t, p) => resolve(decodeHostState(p)));
      setTimeout(() => resolve(undefined), 1_000);
    });
    await c.subscribeAsync(stateTopic(hostId), { qos: 1 });
    return await got;
  } finally {
    await c.endAsync(true);
  }
}

describe('Sparkplug host STATE', () => {
  const broker = new AedesBroker(
    { type: 'embedded', host: '127.0.0.1', port: 0 },
    { logger: silentLogger(), policy: ANONYMOUS_POLICY },
  );
  let now = 1_700_000_000_000;
  beforeAll(() => broker.start());
  afterAll(() => broker.close());

  it('replaces a stale retained STATE with online, and leaves offline retained after a planned close', async () => {
    const url = broker.connectUrl();
    const stale = await connectAsync(url, { reconnectPeriod: 0 });
    await stale.publishAsync(stateTopic('wanji-hub'), encodeHostState({ online: true, timestamp: 1 }), {
      qos: 1,
      retain: true,
    });
    await stale.endAsync();
    const host = new SparkplugHost({
      url,
      hostId: 'wanji-hub',
      sink: NULL_SINK,
      logger: silentLogger(),
      clock: { ...REAL_CLOCK, now: () => now },
    });
    await host.start();
    expect(host.health().status).toBe('up');
    expect(await retainedState(url)).toEqual({ online: true, timestamp: now });
    await host.close();
    await host.close();
    expect(await retainedState(url)).toEqual({ online: false, timestamp: now });
  });

  it('its will says offline when the connection drops, and it comes back online with a new timestamp', async () => {
    const url = broker.connectUrl();
    const host = new SparkplugHost({
      url,
      hostId: 'h2',
      sink: NULL_SINK,
      logger: silentLogger(),
      clock: { ...REAL_CLOCK, now: () => now },
    });
    await host.start();
    const first = now;
    now += 60_000;
    try {
      const observer = await connectAsync(url, { reconnectPeriod: 0 });
      const seen: HostState[] = [];
      observer.on('message', (_t, p) => {
        const s = decodeHostState(p);
        if (s) seen.push(s);
      });
      await observer.subscribeAsync(stateTopic('h2'), { qos: 1 });
      await waitFor(() => seen.length === 1, 'retained STATE online');
      // The broker drops the host's connection (no DISCONNECT from the host): it sends the will.
      expect(await broker.disconnectClient('h2')).toBe(true);
      await waitFor(() => seen.some((s) => !s.online), 'will STATE offline');
      expect(seen.find((s) => !s.online)).toEqual({ online: false, timestamp: first });
      await waitFor(
        () => seen.at(-1)?.online === true && seen.at(-1)?.timestamp === first + 60_000,
        'STATE online again',
        5_000,
      );
      await observer.endAsync();
    } finally {
      await host.close();
    }
  });
});

describe('Sparkplug host in the hub', () => {
  const dir = tempDir();
  const hub = testHub(dir.path, {
    reorderTimeoutMs: 300,
    rebirthMinIntervalMs: 400,
    // The samples here are stamped in 2023, beyond limits.maxPastMs's default of 31 days.
    limits: { maxPastMs: 3_650 * 86_400_000 },
  });
  const nodes: TestEdgeNode[] = [];
  const edge = async (group: string, edgeNode: string, bdSeq = 0): Promise<TestEdgeNode> => {
    const n = new TestEdgeNode(group, edgeNode, bdSeq);
    await n.connect(hub.mqttUrl);
    nodes.push(n);
    return n;
  };
  const received = (n: number) => waitFor(() => hub.host.counters.messages >= n, `${n} messages at the host`);
  const settled = async (n: number): Promise<void> => {
    await received(n);
    await hub.flush();
  };

  beforeAll(() => hub.start());
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  it('stores DBIRTH and DDATA samples by alias with their own timestamps, and registers the machine', async () => {
    const gw = await edge('acme', 'gw1');
    const base = hub.host.counters.messages;
    const T = 1_700_000_000_000;
    await gw.nbirth();
    await gw.dbirth('cnc-1', cncBirth(T));
    await gw.ddata('cnc-1', [
      { alias: 6, datatype: DataType.Double, value: 1500.5, timestamp: T + 1000 },
      { alias: 5, datatype: DataType.String, value: 'running', timestamp: T + 1000 },
      { alias: 7, datatype: DataType.UInt32, value: 4_000_000_000, timestamp: T + 1000 },
    ]);
    await gw.ddata('cnc-1', [{ alias: 6, datatype: DataType.Double, value: 1480, timestamp: T + 2000 }]);
    await settled(base + 4);

    const q = { enterprise: 'acme', machine: 'cnc-1' };
    expect(await hub.store.query({ ...q, metric: 'Signals/spindleSpeed' })).toEqual([
      { ts: T, value: 0 },
      { ts: T + 1000, value: 1500.5 },
      { ts: T + 2000, value: 1480 },
    ]);
    expect(await hub.store.query({ ...q, metric: 'State' })).toEqual([
      { ts: T, value: 'idle' },
      { ts: T + 1000, value: 'running' },
    ]);
    expect(await hub.store.query({ ...q, metric: 'Signals/partCount' })).toEqual([
      { ts: T, value: 10 },
      { ts: T + 1000, value: 4_000_000_000 },
    ]);
    // Properties describe the machine; they are registry data, not samples.
    expect(await hub.store.query({ ...q, metric: 'Properties/Kind' })).toEqual([]);
    expect(hub.registry.machine('acme', 'cnc-1')).toMatchObject({
      kind: 'cnc',
      nc: true,
      robot: false,
      dataDepth: 'full',
      state: 'running',
      gateway: 'gw1',
      dead: false,
    });
    expect(hub.registry.gateway('acme', 'gw1')).toMatchObject({ online: true, bdSeq: 0 });
    expect(hub.host.counters).toMatchObject({ seqGaps: 0, unknownAliases: 0, dataBeforeBirth: 0 });
    expect(gw.rebirthRequests()).toBe(0);
  });

  it('stores historical metrics without making them current, and never stores transient ones', async () => {
    const gw = await edge('acme', 'gw-hist');
    const base = hub.host.counters.messages;
    const T = 1_700_000_100_000;
    await gw.nbirth();
    await gw.dbirth('loom-1', [
      { name: 'State', alias: 1, datatype: DataType.String, value: 'running', timestamp: T },
    ]);
    await settled(base + 2);
    const before = hub.registry.machine('acme', 'loom-1')!;
    await gw.ddata('loom-1', [
      { alias: 1, datatype: DataType.String, value: 'alarm', timestamp: T - 60_000, isHistorical: true },
    ]);
    await gw.ddata('loom-1', [
      { name: 'Signals/debug', datatype: DataType.Int32, value: 1, timestamp: T + 5, isTransient: true },
    ]);
    await settled(base + 4);
    expect(await hub.store.query({ enterprise: 'acme', machine: 'loom-1', metric: 'State' })).toEqual([
      { ts: T - 60_000, value: 'alarm' },
      { ts: T, value: 'running' },
    ]);
    expect(await hub.store.query({ enterprise: 'acme', machine: 'loom-1', metric: 'Signals/debug' })).toEqual(
      [],
    );
    const after = hub.registry.machine('acme', 'loom-1')!;
    expect(after.state).toBe('running');
    expect(after.lastSampleAt).toBe(before.lastSampleAt);
  });

  it('ignores an NDEATH with a stale bdSeq; the matching one kills the node and its machines', async () => {
    const gw = await edge('acme', 'gw-death', 7);
    const base = hub.host.counters.messages;
    await gw.nbirth();
    await gw.dbirth('m1', cncBirth(Date.now()));
    await gw.dbirth('m2', cncBirth(Date.now()));
    await gw.ndeath(6); // a late will from the previous session
    await settled(base + 4);
    expect(hub.host.counters.staleDeaths).toBeGreaterThanOrEqual(1);
    expect(hub.registry.gateway('acme', 'gw-death')?.online).toBe(true);
    expect(hub.registry.machine('acme', 'm1')?.dead).toBe(false);

    await gw.ndeath(7);
    await settled(base + 5);
    expect(hub.registry.gateway('acme', 'gw-death')?.online).toBe(false);
    expect(
      hub.registry
        .machines({ enterprise: 'acme' })
        .filter((m) => m.gateway === 'gw-death')
        .map((m) => m.dead),
    ).toEqual([true, true]);
  });

  it('marks a gateway dead when its connection drops without DISCONNECT (the will NDEATH)', async () => {
    const gw = await edge('acme', 'gw-kill', 2);
    const base = hub.host.counters.messages;
    await gw.nbirth();
    await gw.dbirth('k1', cncBirth(Date.now()));
    await settled(base + 2);
    expect(hub.registry.machine('acme', 'k1')?.dead).toBe(false);
    gw.kill();
    await waitFor(async () => {
      await hub.flush();
      return hub.registry.machine('acme', 'k1')?.dead === true;
    }, 'the will to mark the machine dead');
    expect(hub.registry.gateway('acme', 'gw-kill')).toMatchObject({ online: false, bdSeq: 2 });
  });

  it('keeps the latest gateway metrics from NBIRTH and NDATA (by alias), and a new NBIRTH replaces them', async () => {
    const gw = await edge('acme', 'gw-health');
    const base = hub.host.counters.messages;
    await gw.nbirth([
      { name: 'Gateway/Samples', alias: 101, datatype: DataType.UInt64, value: 10 },
      { name: 'Devices/h1/Health', alias: 102, datatype: DataType.String, value: 'online' },
      { name: 'Devices/h2/Health', alias: 103, datatype: DataType.String, value: 'offline' },
      { name: 'Connections/plc/reads', alias: 104, datatype: DataType.UInt64, value: 3 },
    ]);
    await gw.dbirth('h1', cncBirth(Date.now()));
    await gw.ndata([
      { alias: 101, datatype: DataType.UInt64, value: 99 },
      { alias: 102, datatype: DataType.String, value: 'degraded' },
      // Historical node data is late news, never the latest value.
      { alias: 104, datatype: DataType.UInt64, value: 1, isHistorical: true },
    ]);
    await settled(base + 3);
    const values = () =>
      Object.fromEntries(hub.registry.gatewayMetrics('acme', 'gw-health').map((m) => [m.name, m.value]));
    expect(values()).toEqual({
      'Gateway/Samples': 99,
      'Devices/h1/Health': 'degraded',
      'Devices/h2/Health': 'offline',
      'Connections/plc/reads': 3,
    });
    expect(hub.registry.machine('acme', 'h1')?.health).toBe('degraded');
    expect(hub.registry.gatewaySummaries().get('acme/gw-health')).toMatchObject({
      counters: { samples: 99 },
      devices: { online: 0, degraded: 1, offline: 1 },
    });
    expect(gw.rebirthRequests()).toBe(0);

    // A rebirth announces the whole set again: what it leaves out is gone.
    await gw.nbirth([{ name: 'Gateway/Samples', alias: 101, datatype: DataType.UInt64, value: 5 }]);
    await settled(base + 4);
    expect(values()).toEqual({ 'Gateway/Samples': 5 });
    expect(hub.registry.machine('acme', 'h1')?.health).toBeNull();

    // While the gateway is dead, its machines' health is offline whatever it said last.
    await gw.nbirth([{ name: 'Devices/h1/Health', alias: 102, datatype: DataType.String, value: 'online' }]);
    await settled(base + 5);
    expect(hub.registry.machine('acme', 'h1')?.health).toBe('online');
    await gw.ndeath(0);
    await settled(base + 6);
    expect(hub.registry.machine('acme', 'h1')?.health).toBe('offline');
  });

  it('a DDEATH marks only that machine dead, until its next DBIRTH', async () => {
    const gw = await edge('beta', 'gw1');
    const base = hub.host.counters.messages;
    await gw.nbirth();
    await gw.dbirth('d1', cncBirth(Date.now()));
    await gw.dbirth('d2', cncBirth(Date.now()));
    await gw.ddeath('d1');
    await settled(base + 4);
    expect(hub.registry.machine('beta', 'd1')?.dead).toBe(true);
    expect(hub.registry.machine('beta', 'd2')?.dead).toBe(false);
    await gw.dbirth('d1', cncBirth(Date.now()));
    await settled(base + 5);
    expect(hub.registry.machine('beta', 'd1')?.dead).toBe(false);
  });

  it('counts and drops malformed payloads and topics; the next good message still works', async () => {
    const gw = await edge('acme', 'gw-bad');
    const base = hub.host.counters.messages;
    const bad = { ...hub.host.counters };
    await gw.nbirth();
    await gw.dbirth('b1', cncBirth(1_700_000_000_000));
    await gw.publishRaw('spBv1.0/acme/DDATA/gw-bad/b1', Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    await gw.publishRaw('spBv1.0/acme/DDATA/gw-bad', Buffer.from([]));
    await gw.publishRaw('spBv1.0/acme/BOGUS/gw-bad', Buffer.from([]));
    await gw.ddata('b1', [{ alias: 6, datatype: DataType.Double, value: 77, timestamp: 1_700_000_009_000 }], {
      seq: 2,
    });
    await settled(base + 6);
    expect(hub.host.counters.malformedPayloads).toBe(bad.malformedPayloads + 1);
    expect(hub.host.counters.malformedTopics).toBe(bad.malformedTopics + 2);
    const points = await hub.store.query({
      enterprise: 'acme',
      machine: 'b1',
      metric: 'Signals/spindleSpeed',
    });
    expect(points.at(-1)).toEqual({ ts: 1_700_000_009_000, value: 77 });
    expect(hub.host.health().status).toBe('up');
  });
});

/**
 * The host's reorder and rebirth timers on a clock of the test's own (issue 10: these tests slept
 * 500 ms and 450 ms to show nothing happened): time moves only when the test advances it, and the
 * timers fire inside advance(), so "no rebirth" holds for all the time advanced, not for however
 * long a sleep happened to last.
 */
describe('Sparkplug host rebirth timers in the hub, on fake time', () => {
  const REORDER_MS = 300;
  const REBIRTH_MIN_MS = 400;
  const timers = new ManualClock();
  const dir = tempDir();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0, allowAnonymous: true },
    http: { port: 0 },
    reorderTimeoutMs: REORDER_MS,
    rebirthMinIntervalMs: REBIRTH_MIN_MS,
    clock: timers,
    logger: silentLogger(),
  });
  const host = {
    get counters() {
      return hub.host.counters;
    },
  };
  const nodes: TestEdgeNode[] = [];
  const edge = async (group: string, edgeNode: string): Promise<TestEdgeNode> => {
    const n = new TestEdgeNode(group, edgeNode);
    await n.connect(hub.mqttUrl);
    nodes.push(n);
    return n;
  };
  const received = (n: number) => waitFor(() => host.counters.messages >= n, `${n} messages at the host`);

  beforeAll(() => hub.start());
  afterEach(async () => {
    await Promise.all(nodes.splice(0).map((n) => n.close()));
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  /**
   * The host counts a rebirth request when it sends it (synchronously, as its timer fires): wait
   * until the edge node has every NCMD the host sent, so its count is the whole story.
   */
  const delivered = async (gw: TestEdgeNode, base: number): Promise<void> => {
    await waitFor(
      () => gw.rebirthRequests() >= host.counters.rebirthRequests - base,
      'every rebirth NCMD the host sent',
    );
  };

  // Was timed on the wall clock (at least 150 ms of a 300 ms timeout): now exactly, on fake time.
  it('asks for a rebirth after a seq gap stays open for the reorder timeout, not before', async () => {
    const gw = await edge('acme', 'gw-seq');
    const base = host.counters.messages;
    const gaps = host.counters.seqGaps;
    const rebirths = host.counters.rebirthRequests;
    await gw.nbirth();
    await gw.dbirth('s1', cncBirth(timers.now())); // seq 1
    await gw.ddata('s1', [{ alias: 6, datatype: DataType.Double, value: 1 }], { seq: 3 }); // 2 is missing
    await received(base + 3);
    expect(host.counters.seqGaps).toBe(gaps + 1);
    timers.advance(REORDER_MS - 1);
    expect(host.counters.rebirthRequests).toBe(rebirths);
    expect(gw.rebirthRequests()).toBe(0);
    timers.advance(1);
    expect(host.counters.rebirthRequests).toBe(rebirths + 1);
    await waitFor(() => gw.rebirthRequests() === 1, 'rebirth NCMD');
    const cmd = gw.commands[0]!;
    expect(cmd.topic).toBe('spBv1.0/acme/NCMD/gw-seq');
    expect(cmd.payload.metrics).toMatchObject([
      { name: 'Node Control/Rebirth', datatype: DataType.Boolean, value: true },
    ]);
  });

  it('does not ask for a rebirth when the missing message arrives within the reorder timeout', async () => {
    const gw = await edge('acme', 'gw-reorder');
    const base = host.counters.messages;
    const rebirths = host.counters.rebirthRequests;
    await gw.nbirth();
    await gw.dbirth('r1', cncBirth(timers.now())); // seq 1
    await gw.ddata('r1', [{ alias: 6, datatype: DataType.Double, value: 3 }], { seq: 3 });
    await gw.ddata('r1', [{ alias: 6, datatype: DataType.Double, value: 2 }], { seq: 2 });
    await received(base + 4);
    timers.advance(REORDER_MS * 100);
    await delivered(gw, rebirths);
    expect(host.counters.rebirthRequests).toBe(rebirths);
    expect(gw.rebirthRequests()).toBe(0);
    expect(host.counters.reorderedMessages).toBeGreaterThanOrEqual(1);
  });

  it('asks for a rebirth on data before birth and on unknown aliases, rate-limited per node', async () => {
    const gw = await edge('gamma', 'gw1');
    const base = host.counters.messages;
    const rebirths = host.counters.rebirthRequests;
    await gw.ddata('x', [{ alias: 1, datatype: DataType.Int32, value: 1 }], { seq: 5 }); // host never saw a birth
    await waitFor(() => gw.rebirthRequests() === 1, 'rebirth for data before birth');
    await gw.nbirth();
    await gw.dbirth('x', cncBirth(timers.now()));
    await gw.ddata('x', [{ alias: 99, datatype: DataType.Int32, value: 1 }]);
    await gw.ddata('x', [{ alias: 98, datatype: DataType.Int32, value: 1 }]);
    await received(base + 5);
    expect(host.counters.unknownAliases).toBeGreaterThanOrEqual(2);
    // Deferred by the 400 ms rate limit: not a millisecond early, then sent once.
    timers.advance(REBIRTH_MIN_MS - 1);
    expect(host.counters.rebirthRequests).toBe(rebirths + 1);
    timers.advance(1);
    await waitFor(() => gw.rebirthRequests() === 2, 'rate-limited rebirth for unknown alias');
    timers.advance(REBIRTH_MIN_MS * 100);
    await delivered(gw, rebirths);
    expect(host.counters.rebirthRequests).toBe(rebirths + 2);
    expect(gw.rebirthRequests()).toBe(2);
  });
});
