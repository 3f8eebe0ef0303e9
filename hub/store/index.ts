import { HubError } from '../errors.js';
import { createInfluxStore } from './influxdb/index.js';
import { createSqliteStore } from './sqlite/index.js';
import type { SampleStore, StoreConfig, StoreContext, StoreFactory } from './types.js';

/** Implementations by config `type`. A new store is a new folder and one line here. */
export const STORE_FACTORIES: Readonly<Record<string, StoreFactory>> = {
  sqlite: createSqliteStore,
  influxdb: createInfluxStore,
};

export function createStore(config: StoreConfig, ctx: StoreContext): SampleStore {
  const factory = STORE_FACTORIES[config.type];
  if (factory === undefined) {
    throw new HubError(
      'WANJI_E_STORE_UNKNOWN_TYPE',
      `store.type "${config.type}" is not one of: ${Object.keys(STORE_FACTORIES).join(', ')}`,
    );
  }
  return factory(config, ctx);
}

export type * from './types.js';
