import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EdgeNode, EdgeNodeOptions } from '../../gateway/northbound/edge-node.js';
import type { MetricUpdate } from '../../gateway/sampler.js';
import type { Clock } from '../../protocol/clock.js';
import {
  DataType,
  encodePayload,
  JOURNAL_METRIC,
  MACHINE_METRIC,
  NODE_METRIC,
  nodeTopic,
} from '../../protocol/index.js';
import { ManualClock } from '../support/manual-clock.js';
import { testLogger, waitFor } from './helpers.js';
import { metricValue, SparkplugSubscriber, startBroker, type TestBroker } from './mqtt-helpers.js';
import { sampleEdgeNode } from './sample-edge-node.js';

const CNC = 'E001-CNC-001';
const CLIENT_ID = 'wanji-E001-GW-E001-1';

function cncBirth(speed = 100): MetricUpdate[] {
  const t = Date.now();
  return [
    { name: 'State', value: 'running', quality: 'good', timestamp: t },
    { name: 'Signals/state', value: 3, quality: 'good', timestamp: t },
    { name: 'Signals/spindleSpeed', value: speed, quality: 'good', timestamp: t },
  ];
}

describe('Sparkplug edge node', () => {
  let broker: TestBroker;
  let sub: SparkplugSubscriber;
  let dataDir: string;
  const nodes: EdgeNode[] = [];

  beforeEach(async () => {
    broker = await startBroker();
    sub = new SparkplugSubscriber();
    await sub.start(broker.url);
    dataDir = await mkdtemp(join(tmpdir(), 'wanji-edge-'));
  });

  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.close();
    await sub.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function edgeNode(primaryHost?: string, journal?: EdgeNodeOptions['journal'], clock?: Clock): EdgeNode {
    const node = sampleEdgeNode(
      { url: broker.url, ...(primaryHost ? { primaryHost } : {}) },
      {
        dataDir,
        logger: testLogger(),
        software: 'wanji test',
        ...(journal === undefined ? {} : { journal }),
        ...(clock === undefined ? {} : { clock }),
        reconnectMinMs: 50,
        reconnectMaxMs: 200,
      },
    );
    nodes.push(node);
    return node;
  }

  it('births with seq 0 and the will bdSeq, DBIRTHs every metric named and aliased', async () => {
    const node = edgeNode();
    node.deviceBirth(CNC, cncBirth());
    await node.start();
    const nbirth = await sub.next('NBIRTH');
    const dbirth = await sub.next('DBIRTH');
    expect(nbirth.payload.seq).toBe(0);
    expect(metricValue(nbirth.payload, NODE_METRIC.bdSeq)).toBe(0);
    const rebirth = nbirth.payload.metrics.find((m) => m.name === NODE_METRIC.rebirth);
    expect(rebirth).toMatchObject({ value: false, datatype: DataType.Boolean });
    expect(rebirth?.alias).toBeUndefined();
    expect(metricValue(nbirth.payload, NODE_METRIC.software)).toBe('wanji test');

    expect(dbirth.device).toBe(CNC);
    expect(dbirth.payload.seq).toBe(1);
    const names = dbirth.payload.metrics.map((m) => m.name);
    expect(names).toEqual([
      MACHINE_METRIC.state,
      MACHINE_METRIC.kind,
      MACHINE_METRIC.nc,
      MACHINE_METRIC.robot,
      MACHINE_METRIC.dataDepth,
      'Signals/state',
      'Signals/spindleSpeed',
    ]);
    expect(new Set(dbirth.payload.metrics.map((m) => m.alias)).size).toBe(7);
    expect(metricValue(dbirth.payload, MACHINE_METRIC.kind)).toBe('cnc');
    expect(metricValue(dbirth.payload, MACHINE_METRIC.nc)).toBe(true);
    expect(metricValue(dbirth.payload, 'Signals/spindleSpeed')).toBe(100);

    // The will carries the same bdSeq: kill the socket without DISCONNECT.
    const before = sub.messages.length;
    broker.client(CLIENT_ID)!.conn.destroy();
    const ndeath = await sub.next('NDEATH', before);
    expect(ndeath.payload.seq).toBeUndefined();
    expect(ndeath.payload.metrics).toHaveLength(1);
    expect(ndeath.payload.metrics[0]).toMatchObject({ name: 'bdSeq', datatype: DataType.Int64, value: 0 });
    // …and the next session uses the next bdSeq, with the same aliases.
    const nbirth2 = await sub.next('NBIRTH', before);
    expect(metricValue(nbirth2.payload, NODE_METRIC.bdSeq)).toBe(1);
    const dbirth2 = await sub.next('DBIRTH', before);
    expect(dbirth2.payload.metrics.map((m) => m.alias)).toEqual(dbirth.payload.metrics.map((m) => m.alias));
  });

  it('numbers every message with one seq that wraps after 255, DDATA by alias with source time', async () => {
    const node = edgeNode();
    await node.start();
    await sub.next('NBIRTH');
    node.deviceBirth(CNC, cncBirth());
    for (let i = 0; i < 300; i++) {
      node.deviceData(CNC, [
        { name: 'Signals/spindleSpeed', value: i, quality: 'good', timestamp: 1000 + i },
      ]);
    }
    await waitFor(() => sub.of('DDATA').length === 300 || undefined, '300 DDATA', 5000);
    const seqs = sub.messages.map((m) => m.payload.seq);
    expect(seqs.slice(0, 3)).toEqual([0, 1, 2]);
    expect(seqs).toEqual(seqs.map((_, i) => i % 256));
    const first = sub.of('DDATA')[0]!.payload.metrics[0]!;
    expect(first.name).toBeUndefined();
    expect(first.alias).toBe(7);
    expect(first).toMatchObject({ timestamp: 1000, value: 0, datatype: DataType.Double });
  });

  // Issue 10: this test slept 200 and 150 ms to show that no NBIRTH came. The node now runs on a
  // manual clock: an hour of its time passes (every timer it set fires) without a birth, and a
  // stale STATE it counts shows it has handled its STATE subscription, so no birth is coming.
  it('waits for the primary host STATE online, and dies and starts over when it goes offline', async () => {
    const HOUR = 3_600_000;
    const clock = new ManualClock();
    const node = edgeNode('wanji-hub', undefined, clock);
    /** The node has read its STATE subscription up to a stale STATE published now (retained). */
    const handledState = async (timestamp: number) => {
      const stale = node.status().counters.stateStale ?? 0;
      await sub.publishState('wanji-hub', false, timestamp);
      await waitFor(() => node.status().counters.stateStale === stale + 1 || undefined);
    };
    await node.start();
    await waitFor(() => node.status().connected || undefined);
    await sub.publishState('wanji-hub', false, 100);
    await handledState(50);
    clock.advance(HOUR);
    expect(node.status().counters.births).toBe(0);
    expect(sub.of('NBIRTH')).toHaveLength(0);
    await sub.publishState('wanji-hub', true, 1000);
    const nbirth = await sub.next('NBIRTH');
    expect(metricValue(nbirth.payload, 'bdSeq')).toBe(0);
    // An older STATE is ignored.
    const stale = node.status().counters.stateStale ?? 0;
    await sub.publishState('wanji-hub', false, 500);
    await waitFor(() => node.status().counters.stateStale === stale + 1 || undefined);
    expect(sub.of('NDEATH')).toHaveLength(0);
    await sub.publishState('wanji-hub', false, 2000);
    const ndeath = await sub.next('NDEATH');
    expect(metricValue(ndeath.payload, 'bdSeq')).toBe(0);
    // It reconnects (a new session, the next bdSeq, after its backoff) but waits for the host again.
    await waitFor(() => {
      clock.advance(1_000);
      return (node.status().connected && node.status().bdSeq === 1) || undefined;
    });
    await handledState(1500);
    clock.advance(HOUR);
    expect(node.status().counters.births).toBe(1);
    expect(sub.of('NBIRTH')).toHaveLength(1);
    await sub.publishState('wanji-hub', true, 3000);
    await waitFor(() => sub.of('NBIRTH')[1]);
    expect(metricValue(sub.of('NBIRTH')[1]!.payload, 'bdSeq')).toBe(1);
  });

  it('rebirths on NCMD Node Control/Rebirth with the same bdSeq, and drops a malformed NCMD', async () => {
    const node = edgeNode();
    node.deviceBirth(CNC, cncBirth());
    await node.start();
    await sub.next('DBIRTH');
    const ncmd = nodeTopic('E001', 'NCMD', 'GW-E001-1');
    await sub.publish(ncmd, Buffer.from([0xff, 0xff, 0xff]));
    await waitFor(() => node.status().counters.ncmdMalformed === 1 || undefined);
    node.deviceData(CNC, [{ name: 'Signals/spindleSpeed', value: 7, quality: 'good', timestamp: 1 }]);
    await sub.next('DDATA');
    const before = sub.messages.length;
    await sub.publish(
      ncmd,
      encodePayload({
        timestamp: Date.now(),
        metrics: [{ name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: true }],
      }),
    );
    const nbirth = await sub.next('NBIRTH', before);
    const dbirth = await sub.next('DBIRTH', before);
    expect(nbirth.payload.seq).toBe(0);
    expect(metricValue(nbirth.payload, 'bdSeq')).toBe(0);
    expect(dbirth.payload.seq).toBe(1);
    // The rebirth carries the latest value.
    expect(metricValue(dbirth.payload, 'Signals/spindleSpeed')).toBe(7);
    expect(node.status().counters.rebirths).toBe(1);
  });

  it('sends DDEATH when a device goes offline and DBIRTH when it comes back', async () => {
    const node = edgeNode();
    node.deviceBirth(CNC, cncBirth());
    await node.start();
    await sub.next('DBIRTH');
    node.deviceDeath(CNC);
    const ddeath = await sub.next('DDEATH');
    expect(ddeath.device).toBe(CNC);
    expect(ddeath.payload.seq).toBe(2);
    node.deviceData(CNC, [{ name: 'Signals/spindleSpeed', value: 1, quality: 'good', timestamp: 1 }]);
    node.deviceBirth(CNC, cncBirth(5));
    await waitFor(() => sub.of('DBIRTH')[1]);
    expect(sub.of('DDATA')).toHaveLength(0);
    expect(sub.of('DBIRTH')[1]!.payload.seq).toBe(3);
  });

  it('journals data while disconnected, replays it as historical with its position, and frees it on the hub ack', async () => {
    const node = edgeNode();
    await node.start();
    await sub.next('NBIRTH');
    node.deviceBirth(CNC, cncBirth());
    const dbirth = await sub.next('DBIRTH');
    expect(dbirth.payload.journal).toBe(1); // the birth's values are journalled too
    node.deviceData(CNC, [{ name: 'Signals/spindleSpeed', value: 41, quality: 'good', timestamp: 1233 }]);
    const live = await sub.next('DDATA');
    expect(live.payload.journal).toBe(2);
    expect(live.payload.metrics[0]?.isHistorical).toBeUndefined();

    broker.client(CLIENT_ID)!.conn.destroy();
    await waitFor(() => !node.status().connected || undefined);
    node.deviceData(CNC, [{ name: 'Signals/spindleSpeed', value: 42, quality: 'good', timestamp: 1234 }]);
    expect(node.status().queued).toBe(3); // nothing acknowledged yet
    await waitFor(() => sub.of('NBIRTH')[1]);
    // after the new birth: everything unacknowledged again, oldest first, historical
    await waitFor(() => sub.of('DDATA')[3]);
    const replayed = sub.of('DDATA').slice(1);
    expect(replayed.map((m) => m.payload.journal)).toEqual([1, 2, 3]);
    for (const m of replayed) for (const metric of m.payload.metrics) expect(metric.isHistorical).toBe(true);
    expect(replayed[2]!.payload.metrics[0]).toMatchObject({ value: 42, timestamp: 1234 });

    const ack = (id: string, position: number) =>
      sub.publish(
        nodeTopic('E001', 'NCMD', 'GW-E001-1'),
        encodePayload({
          metrics: [
            { name: JOURNAL_METRIC.id, datatype: DataType.String, value: id },
            { name: JOURNAL_METRIC.ack, datatype: DataType.UInt64, value: position },
          ],
        }),
      );
    await ack('another journal', 3); // an ack for another journal (e.g. before a wipe) is ignored
    await ack(node.journalFigures()!.id, 2);
    await waitFor(() => (node.status().queued === 1 ? true : undefined));
    expect(node.status().counters.acksStale).toBe(1);
    await ack(node.journalFigures()!.id, 3);
    await waitFor(() => (node.status().queued === 0 ? true : undefined));
  });

  it('with acknowledgedBy: broker, a message leaves the journal once sent; data kept while cut off is sent after', async () => {
    const node = edgeNode(undefined, { acknowledgedBy: 'broker' });
    await node.start();
    await sub.next('NBIRTH');
    node.deviceBirth(CNC, cncBirth());
    node.deviceData(CNC, [{ name: 'Signals/spindleSpeed', value: 5, quality: 'good', timestamp: 1400 }]);
    await waitFor(() => (node.status().queued === 0 ? true : undefined));
    expect(node.journalFigures()).toMatchObject({ head: 2, backlog: 0 });

    broker.client(CLIENT_ID)!.conn.destroy();
    await waitFor(() => !node.status().connected || undefined);
    node.deviceData(CNC, [{ name: 'Signals/spindleSpeed', value: 6, quality: 'good', timestamp: 1401 }]);
    expect(node.status().queued).toBe(1); // no broker: it waits in the journal
    await waitFor(() => sub.of('DDATA').find((m) => m.payload.journal === 3));
    await waitFor(() => (node.status().queued === 0 ? true : undefined));
    // a hub's acknowledgement means nothing here
    await sub.publish(
      nodeTopic('E001', 'NCMD', 'GW-E001-1'),
      encodePayload({
        metrics: [
          { name: JOURNAL_METRIC.id, datatype: DataType.String, value: node.journalFigures()!.id },
          { name: JOURNAL_METRIC.ack, datatype: DataType.UInt64, value: 3 },
        ],
      }),
    );
    await waitFor(() => (node.status().counters.acksStale === 1 ? true : undefined));
  });

  it('after a restart, replays what the hub never acknowledged', async () => {
    const first = edgeNode();
    await first.start();
    await sub.next('NBIRTH');
    first.deviceBirth(CNC, cncBirth(7));
    await sub.next('DBIRTH');
    first.deviceData(CNC, [{ name: 'Signals/spindleSpeed', value: 8, quality: 'good', timestamp: 1300 }]);
    await sub.next('DDATA');
    await first.close();
    const second = edgeNode();
    second.deviceBirth(CNC, cncBirth(9));
    await second.start();
    await waitFor(() => sub.of('NBIRTH')[1]);
    await waitFor(() => sub.of('DDATA')[2]);
    const replayed = sub.of('DDATA').slice(1);
    expect(replayed.map((m) => m.payload.journal)).toEqual([1, 2]);
    expect(replayed[1]!.payload.metrics[0]).toMatchObject({ value: 8, timestamp: 1300, isHistorical: true });
    expect(second.journalFigures()).toMatchObject({ start: 1, head: 2, backlog: 2 });
  });

  it('publishes NDEATH on a clean close, and the next start continues the bdSeq', async () => {
    const first = edgeNode();
    await first.start();
    await sub.next('NBIRTH');
    await first.close();
    const ndeath = await sub.next('NDEATH');
    expect(metricValue(ndeath.payload, 'bdSeq')).toBe(0);
    const second = edgeNode();
    await second.start();
    await waitFor(() => sub.of('NBIRTH')[1]);
    expect(metricValue(sub.of('NBIRTH')[1]!.payload, 'bdSeq')).toBe(1);
    // A clean close does not also deliver the will.
    expect(sub.of('NDEATH')).toHaveLength(1);
  });
});
