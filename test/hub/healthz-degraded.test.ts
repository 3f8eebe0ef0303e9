/**
 * Issue 9: `registryErrors` climbed while /healthz said ok. Against a real hub (embedded
 * broker, host, registry, HTTP): one gateway's poisoned rows, refused flush after flush, turn
 * /healthz `degraded` (200, with the reason) while another gateway's machines go on updating;
 * a quiet minute turns it back to ok. A registry that cannot write at all is `down` (503).
 *
 * The poison is fed to the hub's ingest directly, as the host would pass it on: the host's own
 * time bounds refuse such a State before it gets there, and this is the defence behind them.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawSqliteForTests } from '../../hub/database/database.js';
import { REAL_CLOCK } from '../../protocol/clock.js';
import { DataType } from '../../protocol/index.js';
import { apiToken, cncBirth, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

interface Health {
  status: string;
  reasons: string[];
  components: Record<string, { status: string; detail?: string }>;
  counters: { ingest: Record<string, number> };
}

describe('/healthz tells the truth about refused registry rows', () => {
  const dir = tempDir();
  /** The hub's clock runs `skew` ms ahead of the wall clock: a minute can pass at once. */
  let skew = 0;
  const hub = testHub(dir.path, { clock: { ...REAL_CLOCK, now: () => Date.now() + skew } });
  const good = new TestEdgeNode('E001', 'gwA');
  const bad = new TestEdgeNode('E002', 'gwB');
  let auth: { authorization: string };

  const healthz = async (): Promise<{ code: number; body: Health }> => {
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`);
    return { code: r.status, body: (await r.json()) as Health };
  };
  const machine = async (enterprise: string, id: string): Promise<{ state: string; lastSeenAt: string }> => {
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/machines?enterprise=${enterprise}`, {
      headers: auth,
    });
    const list = (await r.json()) as { machines: { id: string; state: string; lastSeenAt: string }[] };
    const m = list.machines.find((x) => x.id === id);
    if (m === undefined) throw new Error(`no machine ${enterprise}/${id}`);
    return m;
  };
  /** gwA's machine reports `state` over MQTT; resolves once the registry has it. */
  const goodReports = async (state: string): Promise<void> => {
    await good.ddata('cnc-1', [{ name: 'State', alias: 5, datatype: DataType.String, value: state }]);
    await waitFor(async () => (await machine('E001', 'cnc-1')).state === state, `cnc-1 ${state}`);
  };
  /** What a gateway's State stamped 8.64e15 becomes once past the host: a row the registry refuses. */
  const poison = async (): Promise<void> => {
    hub.ingest.deviceActivity({
      enterprise: 'E002',
      machine: 'press-1',
      gateway: 'gwB',
      seenAt: Date.now() + skew,
      state: 'idle',
      stateAt: 8.64e15,
    });
    await hub.flush();
  };

  beforeAll(async () => {
    await hub.start();
    auth = apiToken(hub.registry, 'operator');
    for (const [gw, device] of [
      [good, 'cnc-1'],
      [bad, 'press-1'],
    ] as const) {
      await gw.connect(hub.mqttUrl);
      await gw.nbirth();
      await gw.dbirth(device, cncBirth(Date.now()));
    }
    await waitFor(() => hub.registry.machines().length === 2, 'both machines born');
  });
  afterAll(async () => {
    await good.close();
    await bad.close();
    await hub.close();
    dir.remove();
  });

  it('ok, then degraded (200) with the reason while rows are refused flush after flush, then ok again', async () => {
    expect(await healthz()).toMatchObject({ code: 200, body: { status: 'ok', reasons: [] } });

    for (const state of ['running', 'alarm', 'running']) {
      await poison();
      // Another gateway's machine keeps updating through the poisoned flushes.
      await goodReports(state);
    }
    const degraded = await healthz();
    expect(degraded.code).toBe(200);
    expect(degraded.body.status).toBe('degraded');
    expect(degraded.body.components.registry?.status).toBe('degraded');
    expect(degraded.body.components.registry?.detail).toMatch(
      /registry refused rows in 3 flushes within the last 60 s .*deviceActivity of E002\/press-1 via gateway gwB: WANJI_E_REGISTRY_ROW: state idle time 8640000000000000 is not a time/,
    );
    expect(degraded.body.reasons).toEqual([
      expect.stringMatching(/^registry: degraded \(registry refused rows/),
    ]);
    expect(degraded.body.counters.ingest).toMatchObject({ registryRowErrors: 3, registryErrors: 0 });
    expect(degraded.body.components.store?.status).toBe('up');
    expect((await machine('E001', 'cnc-1')).state).toBe('running');
    expect((await machine('E002', 'press-1')).state).toBe('idle'); // its DBIRTH's State, nothing later

    // The poison stops; a minute later the hub is ok again.
    await goodReports('idle');
    expect((await healthz()).body.status).toBe('degraded');
    skew += 61_000;
    await goodReports('running');
    expect(await healthz()).toMatchObject({ code: 200, body: { status: 'ok', reasons: [] } });
    expect((await healthz()).body.counters.ingest?.registryRowErrors).toBe(3);
  });

  it('a registry that cannot write is down: 503 with the reason, until its writes go through again', async () => {
    rawSqliteForTests(hub.registry.database).pragma('query_only = ON');
    try {
      for (let i = 0; i < 3; i++) {
        const before = hub.ingest.counters.registryErrors;
        await good.ddata('cnc-1', [
          { name: 'Signals/spindleSpeed', alias: 6, datatype: DataType.Double, value: i },
        ]);
        await waitFor(() => hub.ingest.counters.registryErrors > before, 'a failed registry batch');
      }
      const down = await healthz();
      expect(down.code).toBe(503);
      expect(down.body.status).toBe('degraded');
      expect(down.body.components.registry).toMatchObject({
        status: 'down',
        detail: expect.stringMatching(/registry updates failing since .*batches in a row.*SQLITE_READONLY/),
      });
    } finally {
      rawSqliteForTests(hub.registry.database).pragma('query_only = OFF');
    }
    await goodReports('alarm');
    expect(await healthz()).toMatchObject({ code: 200, body: { status: 'ok' } });
  });
});
