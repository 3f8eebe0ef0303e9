/**
 * Issue 10: a gateway journal that stopped draining (the hub waiting for a position that never
 * came, the backlog growing until the journal dropped) went unnoticed: /healthz said ok. Now
 * the `journals` component is degraded, naming the gateway, when its acknowledgement stands
 * still while it reports a backlog, or its Journal/Backlog keeps growing, for `journalStallMs`.
 * A real hub (MQTT and HTTP), a real gateway edge node, and a scripted Sparkplug edge node.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { MetricUpdate } from '../../gateway/sampler.js';
import type { Hub } from '../../hub/hub.js';
import { DataType, deviceTopic, JOURNAL_METRIC, type Metric } from '../../protocol/index.js';
import { sampleEdgeNode } from '../gateway/sample-edge-node.js';
import { cncBirth, silentLogger, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

interface Health {
  status: string;
  reasons: string[];
  components: Record<string, { status: string; detail?: string }>;
}

const CNC = 'E001-CNC-001';

describe('/healthz: gateway journals that do not drain', () => {
  let dir: ReturnType<typeof tempDir>;
  let gwDir: ReturnType<typeof tempDir>;
  let hub: Hub;
  const closers: (() => Promise<void>)[] = [];

  const health = async (): Promise<Health> =>
    (await (await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`)).json()) as Health;
  const journals = async () => (await health()).components.journals;

  beforeEach(async () => {
    dir = tempDir();
    gwDir = tempDir();
    hub = testHub(dir.path, { journalStallMs: 1_000 });
    await hub.start();
  });
  afterEach(async () => {
    for (const c of closers.splice(0).reverse()) await c();
    await hub.close();
    dir.remove();
    gwDir.remove();
  });

  it('a real gateway whose acknowledgement stands still (store refusing writes) is named, then drains', async () => {
    const node = sampleEdgeNode(
      { url: hub.mqttUrl, primaryHost: hub.config.hostId },
      {
        dataDir: gwDir.path,
        logger: silentLogger(),
        statusIntervalMs: 100,
        reconnectMinMs: 50,
        reconnectMaxMs: 300,
      },
    );
    closers.push(() => node.close());
    await node.start();
    await waitFor(() => node.status().born, 'the birth', 10_000);
    const speed = (n: number): MetricUpdate[] => [
      { name: 'Signals/spindleSpeed', value: n, quality: 'good', timestamp: Date.now() },
    ];
    node.deviceBirth(CNC, speed(0));
    await waitFor(() => node.status().queued === 0, 'an empty journal', 10_000);
    expect(await journals()).toEqual({ status: 'up' });

    // The store stops taking writes: nothing is acknowledged, the gateway's backlog grows.
    const store = hub.store as { write: (s: unknown) => Promise<void> };
    const write = store.write.bind(hub.store);
    store.write = () => Promise.reject(new Error('store down'));
    let n = 1;
    const producer = setInterval(() => node.deviceData(CNC, speed(n++)), 50);
    closers.push(async () => clearInterval(producer));
    await waitFor(async () => (await journals())?.status === 'degraded', 'journals degraded', 15_000);
    const h = await health();
    expect(h.status).toBe('degraded');
    expect(h.components.journals?.detail).toMatch(/^gateway E001\/GW-E001-1: /);
    expect(h.reasons.some((r) => r.startsWith('journals: degraded (gateway E001/GW-E001-1'))).toBe(true);

    // Writes go through again: the journal drains and the component is up.
    store.write = write;
    clearInterval(producer);
    await waitFor(() => node.status().queued === 0, 'an empty journal', 20_000);
    await waitFor(async () => (await journals())?.status === 'up', 'journals up again', 10_000);
  });

  describe('a scripted gateway', () => {
    const T = Date.now();
    let gw: TestEdgeNode;
    const journalMetrics = (backlog: number): Metric[] => [
      { name: JOURNAL_METRIC.id, datatype: DataType.String, value: 'j-1' },
      { name: JOURNAL_METRIC.start, datatype: DataType.UInt64, value: 1 },
      { name: JOURNAL_METRIC.backlog, datatype: DataType.UInt64, value: backlog },
    ];
    const ddata = (position: number) =>
      gw.publish(deviceTopic('E001', 'DDATA', 'GW-S', CNC), {
        timestamp: T + position,
        seq: gw.seq.next(),
        journal: position,
        metrics: [{ alias: 6, datatype: DataType.Double, value: position, timestamp: T + position }],
      });
    const backlog = (b: number) =>
      gw.ndata([{ name: JOURNAL_METRIC.backlog, datatype: DataType.UInt64, value: b }]);

    beforeEach(async () => {
      gw = new TestEdgeNode('E001', 'GW-S');
      await gw.connect(hub.mqttUrl);
      closers.push(() => gw.close());
      await gw.nbirth(journalMetrics(0));
      await gw.dbirth(CNC, cncBirth(T));
    });

    it('a position that never arrives: degraded naming the gateway and the position; a dead gateway is not a stall', async () => {
      await ddata(1);
      await ddata(3); // 2 never comes
      await backlog(2);
      await waitFor(() => hub.host.acknowledged('E001', 'GW-S') === 1, 'the acknowledgement at 1');
      // Degraded first as a growing backlog (its mark is the NBIRTH, before the acknowledgement
      // reached 1), then, once the acknowledgement has stood still for journalStallMs, as stuck.
      await waitFor(
        async () =>
          /^gateway E001\/GW-S: acknowledgement stuck at 1 for \d+ s, waiting for position 2 with 2 messages/.test(
            (await journals())?.detail ?? '',
          ),
        'journals degraded, naming the stuck position',
        10_000,
      );
      expect((await journals())?.status).toBe('degraded');
      // The gateway dies: its journal waits for its next birth; nothing the hub can do.
      await gw.ndeath(0);
      await waitFor(async () => (await journals())?.status === 'up', 'journals up after the NDEATH', 10_000);
    });

    it('a backlog that keeps growing while acknowledgements advance: degraded, up once it shrinks', async () => {
      let position = 0;
      let reported = 0;
      // Each round stores one more position (the acknowledgement moves) and reports a larger backlog.
      const round = async () => {
        position += 1;
        reported += 5;
        await ddata(position);
        await backlog(reported);
      };
      await round();
      await waitFor(
        async () => {
          await round();
          return (await journals())?.status === 'degraded';
        },
        'journals degraded',
        15_000,
      );
      expect(hub.host.acknowledged('E001', 'GW-S')).toBeGreaterThan(1);
      expect((await journals())?.detail).toMatch(
        /^gateway E001\/GW-S: journal backlog grew from 0 to \d+ in \d+ s/,
      );
      await backlog(0);
      await waitFor(async () => (await journals())?.status === 'up', 'journals up again', 10_000);
    });
  });
});
