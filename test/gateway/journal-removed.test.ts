/**
 * Issue 10, "a journal that always drains": the hub is down, a machine is removed from the
 * gateway's YAML, the gateway restarts, the hub starts. The gateway used to skip the removed
 * machine's journalled data; the hub's acknowledgement then waited for those positions for
 * ever (a rebirth every 10 s, the whole backlog replayed each time, the journal filling up).
 * Now each such message is released: an NDATA carrying its position, which the hub
 * acknowledges, counted in Journal/Released. Real hub, real edge nodes, real MQTT.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { EdgeNode } from '../../gateway/northbound/edge-node.js';
import type { MetricUpdate } from '../../gateway/sampler.js';
import { Hub } from '../../hub/hub.js';
import { JOURNAL_METRIC } from '../../protocol/index.js';
import { silentLogger, sleep, tempDir } from '../hub/helpers.js';
import { waitFor } from './helpers.js';
import { sampleEdgeNode } from './sample-edge-node.js';

const KEPT = 'E001-CNC-001';
const REMOVED = 'E001-PRS-001';
const GROUP = 'E001';
const NODE = 'GW-E001-1';

describe('journalled data of a machine removed while the hub was down', () => {
  let hubDir: ReturnType<typeof tempDir>;
  let gwDir: ReturnType<typeof tempDir>;
  let hub: Hub | undefined;
  const nodes: EdgeNode[] = [];
  const t0 = Date.now();

  const startHub = async (port = 0): Promise<Hub> => {
    const h = new Hub({
      dataDir: hubDir.path,
      mqtt: { port, allowAnonymous: true },
      http: { port: 0 },
      flushIntervalMs: 20,
      logger: silentLogger(),
    });
    await h.start();
    hub = h;
    return h;
  };

  /** An edge node for the sample gateway, with only the machines `keep` names. */
  const edgeNode = (h: Hub, keep: readonly string[], journal: Record<string, unknown> = {}): EdgeNode => {
    const node = sampleEdgeNode(
      { url: h.mqttUrl, primaryHost: h.config.hostId },
      {
        dataDir: gwDir.path,
        logger: silentLogger(),
        journal,
        statusIntervalMs: 200,
        reconnectMinMs: 50,
        reconnectMaxMs: 300,
      },
      keep,
    );
    nodes.push(node);
    return node;
  };

  /** A numeric signal of each sample machine (the CNC's spindle speed, the press's part count). */
  const signal = (machine: string): string =>
    machine === KEPT ? 'Signals/spindleSpeed' : 'Signals/partCount';
  const value = (machine: string, n: number): MetricUpdate[] => [
    { name: signal(machine), value: n, quality: 'good', timestamp: t0 + n },
  ];

  const stored = async (h: Hub, machine: string): Promise<number[]> => {
    const points = await h.store.query({
      enterprise: GROUP,
      machine,
      metric: signal(machine),
      limit: 10_000,
    });
    return points.map((p) => Number(p.value)).sort((a, b) => a - b);
  };

  /** Both machines born and stored live, then the hub goes away and both keep producing. */
  const journalWhileHubDown = async (journal: Record<string, unknown> = {}): Promise<number> => {
    const h = await startHub();
    const port = h.mqttPort!;
    const first = edgeNode(h, [KEPT, REMOVED], journal);
    await first.start();
    await waitFor(() => first.status().born || undefined, 'the first birth', 10_000);
    first.deviceBirth(KEPT, value(KEPT, 0));
    first.deviceBirth(REMOVED, value(REMOVED, 0));
    await waitFor(() => (first.status().queued === 0 ? true : undefined), 'an empty journal', 10_000);
    // (With acknowledgedBy: broker an empty journal means the broker has them, not yet the store.)
    await until(async () => (await stored(h, KEPT)).length === 1 && (await stored(h, REMOVED)).length === 1);
    await h.close();
    hub = undefined;
    // Interleaved, as a gateway's machines are: the removed machine's positions lie between the others'.
    for (let n = 1; n <= 30; n++) {
      first.deviceData(KEPT, value(KEPT, n));
      first.deviceData(REMOVED, value(REMOVED, n));
    }
    expect(first.status().queued).toBe(60);
    await first.close();
    return port;
  };

  /** Polls an asynchronous condition (the store); the assertions after it say what was wrong. */
  const until = async (cond: () => Promise<boolean>): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!(await cond()) && Date.now() < deadline) await sleep(20);
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

  it('releases them with a count, the hub acknowledges past them, and the journal drains', async () => {
    const port = await journalWhileHubDown();
    // The gateway restarts without the removed machine, then the hub comes back.
    const h = await startHub(port);
    const node = edgeNode(h, [KEPT]);
    node.deviceBirth(KEPT, value(KEPT, 31));
    await node.start();
    await waitFor(() => (node.status().queued === 0 ? true : undefined), 'an empty journal', 20_000);
    const figures = node.journalFigures();
    expect(figures).toMatchObject({ backlog: 0, released: 30 });
    expect(node.status().counters.journalReleased).toBe(30);
    expect(h.host.acknowledged(GROUP, NODE)).toBe(figures?.head);
    // Every value of the machine still configured stored exactly once …
    expect(await stored(h, KEPT)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    // … the removed machine's journalled values released (counted), not announced and stored.
    expect(await stored(h, REMOVED)).toEqual([0]);
    // The count reaches the hub as the gateway's Journal/Released metric.
    await waitFor(
      () =>
        h.registry.gatewayMetrics(GROUP, NODE).find((m) => m.name === JOURNAL_METRIC.released)?.value ===
          30 || undefined,
      'Journal/Released at the hub',
      10_000,
    );
    // Nothing left for the hub to wait for: no rebirth asked for a missing position.
    expect(h.host.ackCounters.gapRebirths).toBe(0);
    const health = (await (await fetch(`http://127.0.0.1:${h.httpPort}/healthz`)).json()) as {
      components: Record<string, unknown>;
    };
    expect(health.components.journals).toEqual({ status: 'up' });
  });

  it('with acknowledgedBy: broker, sending a release frees its position', async () => {
    const port = await journalWhileHubDown({ acknowledgedBy: 'broker' });
    const h = await startHub(port);
    const node = edgeNode(h, [KEPT], { acknowledgedBy: 'broker' });
    node.deviceBirth(KEPT, value(KEPT, 31));
    await node.start();
    await waitFor(() => (node.status().queued === 0 ? true : undefined), 'an empty journal', 20_000);
    expect(node.journalFigures()).toMatchObject({ backlog: 0, released: 30 });
    // The broker has them; the store gets them a moment later.
    await until(async () => (await stored(h, KEPT)).length >= 32);
    expect(await stored(h, KEPT)).toEqual(Array.from({ length: 32 }, (_, i) => i));
    expect(await stored(h, REMOVED)).toEqual([0]);
  });
});
