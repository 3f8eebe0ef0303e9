/**
 * `--store <address>` of `wanji demo`: the hub's sample store as one address, so the InfluxDB
 * and VictoriaMetrics paths are one command for a newcomer too (docs/store.md has every key of
 * a config file's `store:`).
 *
 *   sqlite                              the embedded store in the data directory (default)
 *   influxdb://[user:pass@]host:port/db InfluxDB 1.x, line protocol to /write, database made
 *   influxdbs://…                       the same over HTTPS
 *   victoriametrics://host:port[/name]  VictoriaMetrics (its InfluxDB write API; no history reads)
 */
import type { StoreOptions } from '../hub/config.js';
import { UsageError } from './io.js';

export const STORE_FORMS =
  'sqlite, influxdb://host:8086/database (InfluxDB 1.x; influxdbs:// for HTTPS) or victoriametrics://host:8428';

const NAME = /^[A-Za-z0-9_.-]{1,64}$/;

export function storeFromAddress(address: string): StoreOptions & { readonly type: string } {
  if (address === 'sqlite') return { type: 'sqlite' };
  let url: URL;
  try {
    url = new URL(address);
  } catch {
    throw new UsageError(`--store "${address}" is not an address; give ${STORE_FORMS}`);
  }
  const scheme = url.protocol.slice(0, -1);
  if (!['influxdb', 'influxdbs', 'victoriametrics'].includes(scheme)) {
    throw new UsageError(`--store: unknown kind of store "${scheme}://"; give ${STORE_FORMS}`);
  }
  if (url.hostname === '') throw new UsageError(`--store ${scheme}:// needs a host, e.g. ${STORE_FORMS}`);
  const name = decodeURIComponent(url.pathname.replace(/^\/+|\/+$/g, ''));
  if (name !== '' && !NAME.test(name)) {
    throw new UsageError(
      `--store: "${name}" is not a database name; use 1–64 letters, digits, "_", "." or "-"`,
    );
  }
  const base = (secure: boolean, defaultPort: string) =>
    `${secure ? 'https' : 'http'}://${url.hostname.includes(':') ? `[${url.hostname}]` : url.hostname}:${url.port || defaultPort}`;
  if (scheme === 'influxdb' || scheme === 'influxdbs') {
    if (name === '')
      throw new UsageError('--store influxdb:// needs a database, e.g. influxdb://127.0.0.1:8086/wanji');
    return {
      type: 'influxdb',
      url: base(scheme === 'influxdbs', '8086'),
      api: 'v1',
      database: name,
      createDatabase: true,
      ...(url.username === '' ? {} : { username: decodeURIComponent(url.username) }),
      ...(url.password === '' ? {} : { password: decodeURIComponent(url.password) }),
    };
  }
  if (scheme === 'victoriametrics') {
    return {
      type: 'influxdb',
      url: base(false, '8428'),
      api: 'v2',
      bucket: name === '' ? 'wanji' : name,
      history: 'none',
      writeStrings: false,
    };
  }
  throw new UsageError(`--store: unknown kind of store "${scheme}://"; give ${STORE_FORMS}`);
}
