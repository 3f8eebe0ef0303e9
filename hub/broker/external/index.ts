/**
 * An MQTT broker the hub does not run (EMQX, HiveMQ, mosquitto). Nothing to start: the
 * host connects to `url` like any other client. Access control is that broker's job.
 */
import { type ComponentHealth, HubError } from '../../errors.js';
import type { BrokerConfig, BrokerContext, MqttBroker } from '../types.js';

export class ExternalBroker implements MqttBroker {
  readonly type = 'external';
  readonly port = undefined;
  readonly #url: string;
  #status: ComponentHealth['status'] = 'starting';

  constructor(config: BrokerConfig, _ctx: BrokerContext) {
    if (config.url === undefined) {
      throw new HubError(
        'WANJI_E_HUB_CONFIG',
        'mqtt.type "external" needs mqtt.url, e.g. mqtt://broker:1883',
      );
    }
    this.#url = config.url;
  }

  connectUrl(): string {
    return this.#url;
  }

  health(): ComponentHealth {
    return { status: this.#status, detail: 'external broker; see the host status' };
  }

  async start(): Promise<void> {
    this.#status = 'up';
  }

  async close(): Promise<void> {
    this.#status = 'closed';
  }
}

export function createExternalBroker(config: BrokerConfig, ctx: BrokerContext): ExternalBroker {
  return new ExternalBroker(config, ctx);
}
