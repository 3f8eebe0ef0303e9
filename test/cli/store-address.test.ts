/** `wanji demo --store`: one address for the sample store (cli/store-url.ts). */
import { describe, expect, it } from 'vitest';
import { storeFromAddress } from '../../cli/store-url.js';
import { resolveHubConfig } from '../../hub/config.js';
import { createStore } from '../../hub/store/index.js';
import { silentLogger } from '../support/temp.js';

describe('--store addresses', () => {
  it('reads sqlite, InfluxDB 1.x and VictoriaMetrics addresses into store settings the hub takes', () => {
    expect(storeFromAddress('sqlite')).toEqual({ type: 'sqlite' });
    expect(storeFromAddress('influxdb://127.0.0.1:8086/wanji')).toEqual({
      type: 'influxdb',
      url: 'http://127.0.0.1:8086',
      api: 'v1',
      database: 'wanji',
      createDatabase: true,
    });
    expect(storeFromAddress('influxdbs://hub:p%40ss@influx.example/plant')).toMatchObject({
      url: 'https://influx.example:8086',
      username: 'hub',
      password: 'p@ss',
      database: 'plant',
    });
    expect(storeFromAddress('victoriametrics://vm:8428')).toEqual({
      type: 'influxdb',
      url: 'http://vm:8428',
      api: 'v2',
      bucket: 'wanji',
      history: 'none',
      writeStrings: false,
    });
    // Each is a store the hub builds (its own validation of the keys).
    for (const a of ['sqlite', 'influxdb://127.0.0.1:8086/wanji', 'victoriametrics://127.0.0.1:8428']) {
      const store = storeFromAddress(a);
      expect(() => resolveHubConfig({ dataDir: '/tmp/x', store })).not.toThrow();
      expect(() =>
        createStore(store, { dataDir: '/tmp/wanji-store-address', logger: silentLogger() }),
      ).not.toThrow();
    }
  });

  it('refuses what it cannot read, naming the forms it takes', () => {
    expect(() => storeFromAddress('influx:8086')).toThrow(/unknown kind of store "influx:\/\/"/);
    expect(() => storeFromAddress('victoriametrics:///x')).toThrow(/needs a host/);
    expect(() => storeFromAddress('mysql://db/wanji')).toThrow(
      /give sqlite, influxdb:\/\/host:8086\/database/,
    );
    expect(() => storeFromAddress('influxdb://127.0.0.1:8086')).toThrow(/needs a database/);
    expect(() => storeFromAddress('influxdb://127.0.0.1:8086/a;drop')).toThrow(/not a database name/);
    expect(() => storeFromAddress('nonsense')).toThrow(/not an address/);
  });
});
