import { createAedesBroker } from './aedes/index.js';
import { createExternalBroker } from './external/index.js';
import type { BrokerConfig, BrokerContext, BrokerFactory, MqttBroker } from './types.js';

/** Broker plugins by config `type`. */
export const BROKER_FACTORIES: Readonly<Record<BrokerConfig['type'], BrokerFactory>> = {
  embedded: createAedesBroker,
  external: createExternalBroker,
};

export function createBroker(config: BrokerConfig, ctx: BrokerContext): MqttBroker {
  return BROKER_FACTORIES[config.type](config, ctx);
}

export type * from './types.js';
export { ANONYMOUS_POLICY } from './types.js';
