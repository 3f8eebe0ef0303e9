/**
 * The MQTT broker seam. The hub either runs its own broker (`embedded`, aedes) or uses an
 * existing one (`external`, e.g. EMQX or mosquitto); either way the Sparkplug host is an
 * ordinary MQTT client of `connectUrl()`.
 */
import type { Logger } from 'pino';
import type { ComponentHealth } from '../errors.js';

export interface MqttBroker {
  readonly type: string;
  start(): Promise<void>;
  close(): Promise<void>;
  /** Where clients inside the hub (the host) connect; valid after start(). */
  connectUrl(): string;
  /** The port the hub's own broker listens on (the real one when configured as 0). */
  readonly port: number | undefined;
  health(): ComponentHealth;
}

export interface ClientInfo {
  readonly clientId: string;
}

/**
 * Who may connect, publish and subscribe. Anonymous for now; per-gateway credentials and
 * topic ACLs (a gateway publishes only under its own group and edge node id) come later
 * as another policy, without touching the broker.
 */
export interface BrokerAccessPolicy {
  authenticate(
    client: ClientInfo,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<boolean>;
  authorizePublish(client: ClientInfo, topic: string): Promise<boolean>;
  authorizeSubscribe(client: ClientInfo, topicFilter: string): Promise<boolean>;
}

export const ANONYMOUS_POLICY: BrokerAccessPolicy = {
  authenticate: async () => true,
  authorizePublish: async () => true,
  authorizeSubscribe: async () => true,
};

export interface BrokerConfig {
  readonly type: 'embedded' | 'external';
  /** embedded: interface to listen on. */
  readonly host: string;
  /** embedded: port to listen on (0 = any free port). */
  readonly port: number;
  /** external: mqtt://, mqtts://, ws:// URL of the broker. */
  readonly url?: string;
}

export interface BrokerContext {
  readonly logger: Logger;
  readonly policy: BrokerAccessPolicy;
}

export type BrokerFactory = (config: BrokerConfig, ctx: BrokerContext) => MqttBroker;
