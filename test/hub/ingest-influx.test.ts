/**
 * Ingest backpressure end to end: a gateway publishes steadily to a hub whose store is a
 * real InfluxDB 1.6 (v1 mode); InfluxDB is stopped mid-ingest and started again. The hub's
 * buffer stays within its bound, /healthz shows the store down meanwhile, and every sample
 * the hub accepted is in InfluxDB afterwards, once (counted by InfluxDB).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { DataType } from '../../protocol/index.js';
import { countInflux, describeWithServer, startInfluxd, type TestServer } from '../support/influx-servers.js';
import { cncBirth, sleep, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

const MAX_BUFFERED = 1_000;

describeWithServer('influxd', 'ingest against InfluxDB stopped mid-ingest', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startInfluxd();
  });
  afterAll(async () => {
    await server?.close();
  });

  it('stays bounded, shows the store down on /healthz, and loses nothing it accepted', async (ctx) => {
    const dir = tempDir();
    const hub = testHub(dir.path, {
      flushIntervalMs: 50,
      // The samples here are stamped in 2023, beyond limits.maxPastMs's default of 31 days.
      limits: { maxPastMs: 3_650 * 86_400_000 },
      store: {
        type: 'influxdb',
        api: 'v1',
        url: server.url,
        database: 'ingest',
        createDatabase: true,
        maxRetries: 0,
        timeoutMs: 2_000,
        buffer: { maxSamples: MAX_BUFFERED, batchSamples: 500, retryMinDelayMs: 50, retryMaxDelayMs: 400 },
      },
    });
    const gw = new TestEdgeNode('acme', 'gw1');
    const T = 1_700_000_000_000;
    let i = 0;
    let publishing = true;
    let maxSeenPending = 0;
    /** ~2 000 samples/s: bursts of 20 DDATA (2 metrics each) every ~20 ms. */
    const publisher = async (): Promise<void> => {
      while (publishing) {
        for (let k = 0; k < 20; k++, i++) {
          await gw.ddata(i % 2 === 0 ? 'cnc-1' : 'cnc-2', [
            { alias: 6, datatype: DataType.Double, value: i, timestamp: T + i },
            { alias: 7, datatype: DataType.UInt32, value: i, timestamp: T + i },
          ]);
        }
        maxSeenPending = Math.max(maxSeenPending, hub.ingest.pendingSamples);
        await sleep(20);
      }
    };
    const healthz = async (): Promise<{
      code: number;
      body: { components: { store: { status: string; detail?: string } } };
    }> => {
      const res = await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`);
      return { code: res.status, body: (await res.json()) as { components: { store: { status: string } } } };
    };
    try {
      await hub.start();
      await gw.connect(hub.mqttUrl);
      await gw.nbirth();
      await gw.dbirth('cnc-1', cncBirth(T - 1));
      await gw.dbirth('cnc-2', cncBirth(T - 1));
      const running = publisher();

      await sleep(800);
      expect((await healthz()).code).toBe(200);
      await server.stop();
      await waitFor(() => hub.ingest.counters.samplesRefused > 0, 'the buffer to fill and refuse', 15_000);
      const down = await healthz();
      expect(down.code).toBe(503);
      expect(down.body.components.store.status).toBe('down');
      expect(down.body.components.store.detail).toMatch(
        /store writes failing since .*WANJI_E_STORE_UNAVAILABLE/,
      );
      expect(down.body.components.store.detail).toMatch(/refusing samples/);
      await sleep(500);

      await server.start();
      await sleep(800);
      publishing = false;
      await running;
      await waitFor(() => hub.host.counters.samples === i * 2 + 6, 'every message to reach the host', 10_000);
      await waitFor(
        () => hub.ingest.pendingSamples === 0 && hub.ingest.healthy,
        'the backlog to drain',
        20_000,
      );
      await hub.flush();
      expect((await healthz()).code).toBe(200);

      const c = hub.ingest.counters;
      const received = hub.host.counters.samples;
      const accepted = received - c.samplesRefused;
      expect(c.maxPendingSamples).toBeLessThanOrEqual(MAX_BUFFERED);
      expect(maxSeenPending).toBeLessThanOrEqual(MAX_BUFFERED);
      expect(c.storeErrors).toBeGreaterThan(0);
      expect(c.samplesRefused).toBeGreaterThan(0);
      expect(c.samplesWritten).toBe(accepted);
      const rows = await countInflux(server.url, 'ingest', 'machine_samples');
      await ctx.annotate(
        `received ${received}, refused ${c.samplesRefused}, rows ${rows}, store errors ${c.storeErrors}, ` +
          `max buffered ${c.maxPendingSamples} of ${MAX_BUFFERED}`,
      );
      expect(rows).toBe(accepted);
    } finally {
      publishing = false;
      await gw.close();
      await hub.close();
      dir.remove();
    }
  });
});
