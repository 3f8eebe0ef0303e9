/**
 * The InfluxDB store against real servers: InfluxDB 1.6 through the v1 `/write` API and
 * InfluxQL, VictoriaMetrics through the v2 write API (read back through its export API).
 */
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { HubConfigError } from '../../hub/errors.js';
import { createStore } from '../../hub/store/index.js';
import { resolveInfluxConfig } from '../../hub/store/influxdb/config.js';
import { InfluxSampleStore } from '../../hub/store/influxdb/index.js';
import { parseExact } from '../../hub/store/influxdb/influxql.js';
import { encodeSamples, SeriesKeys } from '../../hub/store/influxdb/line-protocol.js';
import type { Sample, SampleStore } from '../../hub/store/types.js';
import {
  countInflux,
  describeWithServer,
  startInfluxd,
  startVictoriaMetrics,
  type TestServer,
  VmReader,
} from '../support/influx-servers.js';
import { silentLogger } from './helpers.js';
import { INTEGER_EXTREMES, sampleStoreSuite } from './store-suite.js';

const ctx = { dataDir: '/nonexistent', logger: silentLogger() };
const T0 = 1_700_000_000_000;
const sample = (ts: number, value: Sample['value'], metric = 'Signals/x'): Sample => ({
  enterprise: 'acme',
  machine: 'cnc-1',
  metric,
  ts,
  value,
});
let unique = 0;
const measurement = (): string => `samples_${process.pid}_${++unique}`;

describe('InfluxDB store config and line protocol', () => {
  it('validates the config, naming /store/<key> and the fix', () => {
    expect(resolveInfluxConfig({ type: 'influxdb', url: 'http://h:8086', bucket: 'b' })).toMatchObject({
      api: 'v2',
      measurement: 'machine_samples',
      batchLines: 10_000,
      history: 'influxql',
    });
    const bad = (c: object): string => {
      try {
        resolveInfluxConfig({ type: 'influxdb', ...c });
      } catch (e) {
        expect(e).toBeInstanceOf(HubConfigError);
        return (e as HubConfigError).problems.join('\n');
      }
      throw new Error('no error');
    };
    expect(bad({ url: 'http://h:8086' })).toMatch(/\/store\/bucket: required when api is "v2"/);
    expect(bad({ url: 'http://h:8086', api: 'v1' })).toMatch(/\/store\/database: required/);
    expect(bad({ url: 'h:8086/x', bucket: 'b' })).toMatch(/\/store\/url: .*base URL/);
    expect(bad({ url: 'http://h', bucket: 'b', batchSize: 3 })).toMatch(/\/store\/batchSize/);
    expect(() => createStore({ type: 'influxdb', url: 'http://h' }, ctx)).toThrow(HubConfigError);
  });

  it('escapes tags and strings, keeps only bounded tags, writes ms timestamps', () => {
    const { lines, skipped } = encodeSamples(
      [
        { enterprise: 'a b', machine: 'm,1', metric: 'Signals/x=y', ts: T0 + 0.7, value: 'say "hi"\\\n' },
        { enterprise: 'a', machine: 'm', metric: 'n', ts: T0, value: Number.NaN, quality: 'bad' },
        { enterprise: 'a', machine: 'm', metric: '', ts: T0, value: 1 },
      ],
      { keys: new SeriesKeys('machine samples'), writeStrings: true },
    );
    expect(lines).toEqual([
      `machine\\ samples,enterprise=a\\ b,machine=m\\,1,metric=Signals/x\\=y value_str="say \\"hi\\"\\\\ ",quality=0i ${T0}`,
      `machine\\ samples,enterprise=a,machine=m,metric=n quality=2i ${T0}`,
    ]);
    expect(skipped).toBe(1);
  });
});

describe('InfluxDB store: exact integers', () => {
  it('writes integers beyond ±(2^53−1) as value_int (i), UInt64 above 2^63−1 as value_uint_str', () => {
    const keys = new SeriesKeys('m');
    const line = (value: Sample['value'], writeStrings = true): string | undefined =>
      encodeSamples([{ enterprise: 'a', machine: 'm', metric: 'n', ts: T0, value }], { keys, writeStrings })
        .lines[0];
    expect(line(-(2n ** 63n))).toBe(
      `m,enterprise=a,machine=m,metric=n value_int=-9223372036854775808i,quality=0i ${T0}`,
    );
    expect(line(2n ** 53n + 1n)).toBe(
      `m,enterprise=a,machine=m,metric=n value_int=9007199254740993i,quality=0i ${T0}`,
    );
    expect(line(2n ** 64n - 1n)).toBe(
      `m,enterprise=a,machine=m,metric=n value_uint_str="18446744073709551615",quality=0i ${T0}`,
    );
    // A server without strings gets the nearest float rather than nothing.
    expect(line(2n ** 64n - 1n, false)).toBe(
      `m,enterprise=a,machine=m,metric=n value=18446744073709552000,quality=0i ${T0}`,
    );
    expect(line(Number.MAX_SAFE_INTEGER)).toBe(
      `m,enterprise=a,machine=m,metric=n value=9007199254740991,quality=0i ${T0}`,
    );
  });

  it('reads InfluxQL answers without rounding integers, and leaves strings and fractions alone', () => {
    expect(
      parseExact(
        '{"v":[-9223372036854775808,18446744073709551615,1.2345678901234567,12345678901234567.5,"12345678901234567890",1700000000000]}',
      ),
    ).toEqual({
      v: [
        '-9223372036854775808',
        '18446744073709551615',
        1.2345678901234567,
        Number('12345678901234567.5'),
        '12345678901234567890',
        1700000000000,
      ],
    });
  });
});

describeWithServer('influxd', 'InfluxDB store, api v1, against InfluxDB 1.6', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startInfluxd();
  });
  afterAll(async () => {
    await server?.close();
  });

  const v1 = (m: string, extra: object = {}) => ({
    type: 'influxdb',
    api: 'v1',
    url: server.url,
    database: 'wanji',
    createDatabase: true,
    measurement: m,
    ...extra,
  });

  sampleStoreSuite('influxdb v1 (InfluxDB 1.6)', () => {
    const m = measurement();
    return {
      store: createStore(v1(m), ctx),
      reopen: () => createStore(v1(m), ctx),
      cleanup: () => undefined,
      count: () => countInflux(server.url, 'wanji', m),
    };
  });

  it('rejects with the HTTP status when the server refuses: 404 unknown database, 400 bad data', async () => {
    const noDb = createStore(
      v1(measurement(), { database: 'missing', createDatabase: false, maxRetries: 0 }),
      ctx,
    );
    await noDb.start();
    try {
      await expect(noDb.write([sample(T0, 1)])).rejects.toMatchObject({
        code: 'WANJI_E_STORE_NOT_FOUND',
        status: 404,
        retryable: true,
      });
      expect(noDb.health()).toMatchObject({ status: 'down', detail: expect.stringMatching(/HTTP 404/) });
    } finally {
      await noDb.close();
    }
    const m = measurement();
    const store = createStore(v1(m, { maxRetries: 3 }), ctx);
    await store.start();
    try {
      // Someone else made value_str a float field: a string is now a field type conflict,
      // which no retry can cure.
      const res = await fetch(`${server.url}/write?db=wanji&precision=ms`, {
        method: 'POST',
        body: `${m},enterprise=acme,machine=cnc-1,metric=other value_str=1,quality=0i ${T0}`,
      });
      expect(res.status).toBe(204);
      await expect(store.write([sample(T0, 'text')])).rejects.toMatchObject({
        code: 'WANJI_E_STORE_REJECTED',
        status: 400,
        retryable: false,
        message: expect.stringMatching(/field type conflict/),
      });
    } finally {
      await store.close();
    }
  });

  it('rejects as unavailable, within its retries, while the server is down; writes again when it is back', async () => {
    const m = measurement();
    const store: SampleStore = createStore(v1(m, { maxRetries: 1, retryDelayMs: 10 }), ctx);
    await store.start();
    try {
      await store.write([sample(T0, 1)]);
      await server.stop();
      await expect(store.write([sample(T0 + 1, 2)])).rejects.toMatchObject({
        code: 'WANJI_E_STORE_UNAVAILABLE',
        status: undefined,
      });
      expect(store.health().status).toBe('down');
      await server.start();
      await store.write([sample(T0 + 1, 2)]);
      expect(store.health().status).toBe('up');
      expect(await countInflux(server.url, 'wanji', m)).toBe(2);
    } finally {
      await store.close();
    }
  });
});

describeWithServer('influxd', 'InfluxDB store health without writes', () => {
  it('pings a server that was down at start until it answers, then reports up', async () => {
    const server = await startInfluxd();
    await server.stop();
    const pending: (() => void)[] = [];
    const timers = {
      setTimeout: (fn: () => void) => pending.push(fn),
      clearTimeout: () => undefined,
    };
    const config = resolveInfluxConfig({ type: 'influxdb', api: 'v1', url: server.url, database: 'wanji' });
    const store = new InfluxSampleStore({ config, logger: silentLogger(), timers });
    try {
      await store.start();
      expect(store.health()).toMatchObject({ status: 'down', detail: expect.stringMatching(/ECONNREFUSED/) });
      pending.shift()!(); // probe while still down: schedules the next
      await vi.waitFor(() => expect(pending).toHaveLength(1));
      expect(store.health().status).toBe('down');
      await server.start();
      pending.shift()!();
      await vi.waitFor(() => expect(store.health().status).toBe('up'));
    } finally {
      await store.close();
      await server.close();
    }
  });
});

describeWithServer('victoria-metrics', 'InfluxDB store, api v2 (WriteApi), against VictoriaMetrics', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startVictoriaMetrics();
  });
  afterAll(async () => {
    await server?.close();
  });

  const v2 = (m: string) => ({
    type: 'influxdb',
    api: 'v2',
    url: server.url,
    bucket: 'wanji',
    measurement: m,
    history: 'none',
    writeStrings: false,
  });

  sampleStoreSuite('influxdb v2 (VictoriaMetrics)', () => {
    const m = measurement();
    const reader = new VmReader(server.url, m);
    return {
      store: createStore(v2(m), ctx),
      reopen: () => createStore(v2(m), ctx),
      cleanup: () => undefined,
      unsupported: {
        history: 'VictoriaMetrics has no InfluxQL /query; read back through its export API',
        strings: 'VictoriaMetrics keeps numbers only (a string field is stored as 0)',
        exactIntegers: 'VictoriaMetrics keeps every value as a 64-bit float (rounded beyond ±(2^53−1))',
      },
      reader,
      count: () => reader.count(),
    };
  });

  it('accepts Int64 and UInt64 extremes (as floats), so such a batch is never refused', async () => {
    const m = measurement();
    const store = createStore(v2(m), ctx);
    await store.start();
    try {
      await store.write(INTEGER_EXTREMES.map(([, v], i) => sample(T0 + i, v)));
      expect(await new VmReader(server.url, m).count()).toBe(INTEGER_EXTREMES.length);
    } finally {
      await store.close();
    }
  });

  it('counts batches larger than one request once each, also when written twice', async () => {
    const m = measurement();
    const store = createStore({ ...v2(m), batchLines: 700 }, ctx);
    await store.start();
    try {
      const batch = Array.from({ length: 2_000 }, (_, i) => sample(T0 + i, i, `Signals/m${i % 7}`));
      await store.write(batch);
      await store.write(batch);
      expect(await new VmReader(server.url, m).count()).toBe(2_000);
    } finally {
      await store.close();
    }
  });
});
