/**
 * Issue 10: a gateway sent Int64 −9007199254740993 exactly, the hub stored and served
 * −9007199254740992 (`Number(bigint)` in hub/host/convert.ts, REAL in SQLite). Here a real hub
 * (embedded broker, host, ingest, store, HTTP API) with SQLite, and with InfluxDB 1.6 through
 * the v1 API, is fed Int64 and UInt64 extremes by an edge node over MQTT and read back over
 * HTTP: every value arrives exactly, beyond ±(2^53−1) as a JSON string of its digits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType, type Metric } from '../../protocol/index.js';
import { describeWithServer, startInfluxd, type TestServer } from '../support/influx-servers.js';
import { apiToken, cncBirth, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

const I64 = 'Signals/energyWh';
const U64 = 'Signals/serial';

/** What the edge node sends, and the JSON the API must answer with. */
const INT64: readonly [bigint | number, number | string][] = [
  [-(2n ** 63n), '-9223372036854775808'],
  [-(2n ** 53n) - 1n, '-9007199254740993'],
  [-(2 ** 53) + 1, -9007199254740991],
  [2 ** 53 - 1, 9007199254740991],
  [2n ** 53n + 1n, '9007199254740993'],
  [2n ** 63n - 1n, '9223372036854775807'],
];
const UINT64: readonly [bigint | number, number | string][] = [
  [0, 0],
  [2 ** 53 - 1, 9007199254740991],
  [2n ** 53n + 1n, '9007199254740993'],
  [2n ** 63n, '9223372036854775808'],
  [2n ** 64n - 1n, '18446744073709551615'],
];

interface Point {
  ts: number;
  value: unknown;
}

function exactRoundTrip(store: () => Record<string, unknown>): void {
  it('stores Int64 and UInt64 extremes sent over MQTT and serves them exactly over HTTP', async () => {
    const dir = tempDir();
    const hub = testHub(dir.path, { store: store() });
    const gw = new TestEdgeNode('acme', 'gw1');
    try {
      await hub.start();
      const auth = apiToken(hub.registry);
      const api = async (path: string): Promise<{ text: string; json: unknown }> => {
        const res = await fetch(`http://127.0.0.1:${hub.httpPort}${path}`, { headers: auth });
        const text = await res.text();
        expect(res.status, `${path}: ${text}`).toBe(200);
        return { text, json: JSON.parse(text) };
      };
      await gw.connect(hub.mqttUrl);
      await gw.nbirth();
      const t0 = Date.now() - 60_000;
      const birth: Metric[] = [
        ...cncBirth(t0),
        { name: I64, alias: 20, datatype: DataType.Int64, value: 0, timestamp: t0 },
        { name: U64, alias: 21, datatype: DataType.UInt64, value: 0, timestamp: t0 },
      ];
      await gw.dbirth('cnc-1', birth, t0);
      // One value per DDATA, each with its own time, as a gateway reports changes.
      for (let i = 0; i < Math.max(INT64.length, UINT64.length); i++) {
        const metrics: Metric[] = [];
        const ts = t0 + 1_000 * (i + 1);
        const i64 = INT64[i];
        const u64 = UINT64[i];
        if (i64 !== undefined)
          metrics.push({ alias: 20, datatype: DataType.Int64, value: i64[0], timestamp: ts });
        if (u64 !== undefined)
          metrics.push({ alias: 21, datatype: DataType.UInt64, value: u64[0], timestamp: ts });
        await gw.ddata('cnc-1', metrics);
      }
      const expected = (values: readonly [bigint | number, number | string][]): Point[] => [
        { ts: t0, value: 0 },
        ...values.map(([, json], i) => ({ ts: t0 + 1_000 * (i + 1), value: json })),
      ];
      const series = async (metric: string): Promise<Point[]> =>
        (
          (await api(`/api/v1/machines/acme/cnc-1/series?metric=${encodeURIComponent(metric)}`)).json as {
            points: Point[];
          }
        ).points;
      // The machine's registry row comes with the ingest's next flush; until then the route is a 404.
      await waitFor(() => hub.registry.machine('acme', 'cnc-1') !== undefined, 'the machine registered');
      await waitFor(
        async () => (await series(U64)).length === UINT64.length + 1,
        'every UInt64 sample in the store',
        10_000,
      );
      expect(await series(I64)).toEqual(expected(INT64));
      expect(await series(U64)).toEqual(expected(UINT64));

      // The wire form: digits in a string, never a rounded number.
      const raw = (await api(`/api/v1/machines/acme/cnc-1/series?metric=${encodeURIComponent(I64)}`)).text;
      expect(raw).toContain('"value":"-9007199254740993"');
      expect(raw).not.toContain('9007199254740992');

      const detail = (await api('/api/v1/machines/acme/cnc-1')).json as {
        latest: { metric: string; value: unknown }[];
      };
      const latest = new Map(detail.latest.map((l) => [l.metric, l.value]));
      expect(latest.get(I64)).toBe('9223372036854775807');
      expect(latest.get(U64)).toBe('18446744073709551615');
    } finally {
      await gw.close();
      await hub.close();
      dir.remove();
    }
  });
}

describe('exact 64-bit integers, SQLite store', () => {
  exactRoundTrip(() => ({ type: 'sqlite' }));
});

describeWithServer('influxd', 'exact 64-bit integers, InfluxDB 1.6 store (api v1)', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startInfluxd();
  });
  afterAll(async () => {
    await server?.close();
  });
  exactRoundTrip(() => ({
    type: 'influxdb',
    api: 'v1',
    url: server.url,
    database: 'int64',
    createDatabase: true,
  }));
});
