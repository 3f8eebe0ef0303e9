/**
 * The acknowledgement loop between a real hub and a real gateway edge node: the hub tells the
 * gateway which journal positions its store holds, the gateway frees them; what the store
 * never got (a hub killed with its buffer, a refused message) is replayed and stored once.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EdgeNode } from '../../gateway/northbound/edge-node.js';
import type { MetricUpdate } from '../../gateway/sampler.js';
import { Hub } from '../../hub/hub.js';
import { waitFor } from '../gateway/helpers.js';
import { sampleEdgeNode } from '../gateway/sample-edge-node.js';
import { silentLogger, tempDir } from './helpers.js';

const CNC = 'E001-CNC-001';
const T0 = 1_764_000_000_000;

const speed = (n: number): MetricUpdate[] => [
  { name: 'Signals/spindleSpeed', value: n, quality: 'good', timestamp: T0 + n },
];

describe('journal acknowledgements, hub ↔ gateway', () => {
  let hubDir: ReturnType<typeof tempDir>;
  let gwDir: ReturnType<typeof tempDir>;
  let hub: Hub;
  const nodes: EdgeNode[] = [];

  const startHub = async (port = 0, extra: Record<string, unknown> = {}) => {
    hub = new Hub({
      dataDir: hubDir.path,
      mqtt: { port, allowAnonymous: true },
      http: { port: 0 },
      flushIntervalMs: 20,
      // The samples here are stamped at T0 (2025), beyond limits.maxPastMs's default of 31 days.
      limits: { maxPastMs: 3_650 * 86_400_000 },
      logger: silentLogger(),
      ...extra,
    });
    await hub.start();
    return hub;
  };

  const edgeNode = () => {
    const node = sampleEdgeNode(
      { url: hub.mqttUrl, primaryHost: hub.config.hostId },
      {
        dataDir: gwDir.path,
        logger: silentLogger(),
        statusIntervalMs: 200,
        reconnectMinMs: 50,
        reconnectMaxMs: 300,
      },
    );
    nodes.push(node);
    return node;
  };

  const stored = async (): Promise<number[]> => {
    const points = await hub.store.query({
      enterprise: 'E001',
      machine: CNC,
      metric: 'Signals/spindleSpeed',
      limit: 10_000,
    });
    return points.map((p) => Number(p.value)).sort((a, b) => a - b);
  };

  beforeEach(() => {
    hubDir = tempDir();
    gwDir = tempDir();
  });
  afterEach(async () => {
    for (const n of nodes.splice(0)) await n.close();
    await hub?.close();
    hubDir.remove();
    gwDir.remove();
  });

  it('acknowledges what the store holds, and the gateway frees its journal', async () => {
    await startHub();
    const node = edgeNode();
    await node.start();
    await waitFor(() => node.status().born || undefined, 'the birth', 10_000);
    node.deviceBirth(CNC, speed(0));
    for (let n = 1; n <= 50; n++) node.deviceData(CNC, speed(n));
    await waitFor(() => (node.status().queued === 0 ? true : undefined), 'an empty journal', 10_000);
    expect(node.journalFigures()).toMatchObject({ head: 51, start: 52, backlog: 0 });
    expect(hub.host.acknowledged('E001', 'GW-E001-1')).toBe(51);
    expect(await stored()).toEqual(Array.from({ length: 51 }, (_, i) => i));
    // the gateway's Journal/* figures reach the hub as gateway metrics
    await waitFor(
      () => {
        const m = hub.registry.gatewayMetrics('E001', 'GW-E001-1').find((x) => x.name === 'Journal/Head');
        return m?.value === 51 || undefined;
      },
      'Journal/Head at the hub',
      10_000,
    );
  });

  it('a hub that dies with data in flight gets it again from the journal, stored once', async () => {
    await startHub();
    const port = hub.mqttPort!;
    const node = edgeNode();
    await node.start();
    await waitFor(() => node.status().born || undefined, 'the birth', 10_000);
    node.deviceBirth(CNC, speed(0));
    for (let n = 1; n <= 20; n++) node.deviceData(CNC, speed(n));
    await waitFor(() => (node.status().queued === 0 ? true : undefined), 'an empty journal', 10_000);
    // The store stops taking writes, then the hub goes away without writing its buffer.
    const store = hub.store as { write: (s: unknown) => Promise<void> };
    store.write = () => Promise.reject(new Error('store down'));
    for (let n = 21; n <= 40; n++) node.deviceData(CNC, speed(n));
    await waitFor(() => (hub.ingest.pendingSamples >= 20 ? true : undefined), 'buffered samples', 10_000);
    expect(node.status().queued).toBe(20);
    await hub.close();
    for (let n = 41; n <= 60; n++) node.deviceData(CNC, speed(n)); // uplink down: journal only
    await startHub(port);
    await waitFor(() => (node.status().queued === 0 ? true : undefined), 'an empty journal', 20_000);
    expect(await stored()).toEqual(Array.from({ length: 61 }, (_, i) => i));
    expect(node.status().counters.replayReplayed).toBeGreaterThanOrEqual(40);
  });

  it('messages the full ingest buffer refused are replayed once there is room', async () => {
    await startHub(0, { store: { buffer: { maxSamples: 100, batchSamples: 10 } } });
    const node = edgeNode();
    await node.start();
    await waitFor(() => node.status().born || undefined, 'the birth', 10_000);
    node.deviceBirth(CNC, speed(0));
    await waitFor(() => (node.status().queued === 0 ? true : undefined), 'an empty journal', 10_000);
    const store = hub.store as { write: (s: unknown) => Promise<void> };
    const write = store.write.bind(hub.store);
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    store.write = async (s) => {
      await gate;
      return write(s);
    };
    for (let n = 1; n <= 300; n++) node.deviceData(CNC, speed(n));
    await waitFor(() => (hub.ingest.counters.messagesRefused > 0 ? true : undefined), 'a refusal', 10_000);
    release();
    await waitFor(() => (node.status().queued === 0 ? true : undefined), 'an empty journal', 20_000);
    expect(await stored()).toEqual(Array.from({ length: 301 }, (_, i) => i));
    expect(hub.host.ackCounters.replayRequests).toBeGreaterThanOrEqual(1);
  });
});
