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
  /** Where clients inside the hub (the host) connect, without any login; valid after start(). */
  connectUrl(): string;
  /** How the hub's own host logs in and secures its connection (external broker; after start()). */
  hostClientOptions?(): HostClientOptions;
  /** The port the hub's own broker listens on (the real one when configured as 0). */
  readonly port: number | undefined;
  /** The embedded broker's TLS and WebSocket ports, when configured (after start()). */
  readonly tlsPort?: number | undefined;
  readonly webSocketPort?: number | undefined;
  health(): ComponentHealth;
  /** Drops every connection logged in as `username` (revoked credentials); how many. */
  disconnectUser?(username: string): Promise<number>;
  /** Drops one client's connection as a lost network would (its will is published); false if absent. */
  disconnectClient?(clientId: string): Promise<boolean>;
  /** User names of the connected clients (the revocation check). */
  connectedUsernames?(): Set<string>;
  /** The broker's own counters for /healthz (the policy counts refusals). */
  readonly counters?: Readonly<Record<string, number>>;
  /** The embedded broker's connected clients, the hub's own host included (/metrics). */
  readonly clients?: number;
  /** The embedded broker's messages and bytes since it started (/metrics). */
  traffic?(): BrokerTrafficCounters;
  /**
   * The embedded broker's route for the hub's own host, without a socket or MQTT encoding
   * (after start()); absent for an external broker, whose host is an ordinary MQTT client.
   */
  inProcessPort?(): InProcessPort;
}

/**
 * The hub's own host on its embedded broker, in the same process: messages reach it as the
 * broker takes them (topic and payload as received, never re-encoded) and what it publishes
 * goes to the broker as if from a client that needs no login. Counted in the broker's traffic
 * like the loopback client it replaces.
 */
export interface InProcessPort {
  /**
   * Delivers each message matching any of `filters` once, synchronously and in the order the
   * broker takes them. Resolves when subscribed, with the unsubscribe.
   */
  subscribe(
    filters: readonly string[],
    onMessage: (topic: string, payload: Buffer) => void,
  ): Promise<() => Promise<void>>;
  /** Publishes; resolves once the broker has it (retained stored, subscribers handed it). */
  publish(topic: string, payload: Uint8Array, options: { qos: 0 | 1; retain: boolean }): Promise<void>;
  /** False once the broker is closed. */
  readonly open: boolean;
}

/** What crossed the embedded broker (hub/broker/aedes/traffic.ts). */
export interface BrokerTrafficCounters {
  /** PUBLISH messages the broker took from clients (wills included; refused ones are not). */
  readonly messagesReceived: number;
  /** PUBLISH messages forwarded to a subscribing client. */
  readonly messagesSent: number;
  readonly bytesReceived: number;
  readonly bytesSent: number;
}

/** The host's login and TLS options for a broker that needs them (hub/host/host.ts). */
export interface HostClientOptions {
  readonly username?: string;
  readonly password?: string;
  readonly tls?: HostTlsOptions;
}

/** mqtt.js / Node TLS client options, file contents read. */
export interface HostTlsOptions {
  readonly ca?: Buffer;
  readonly cert?: Buffer;
  readonly key?: Buffer;
  readonly rejectUnauthorized: boolean;
}

export interface ClientInfo {
  readonly clientId: string;
  /** The user name the connection logged in with (absent: anonymous). */
  readonly username?: string;
  /** The peer's address, for logs and the audit log (absent over some transports). */
  readonly remoteAddress?: string;
  /** The will the client set in its CONNECT, checked at login. */
  readonly will?: { readonly topic: string; readonly retain: boolean };
  /**
   * At login: a connection already open with the same client id, which this one would take
   * over (MQTT drops the older one), and the user name it logged in with.
   */
  readonly clientIdHolder?: { readonly username?: string };
}

/** What a publish carries besides its topic. */
export interface PublishInfo {
  readonly retain: boolean;
}

/**
 * Who may connect, publish and subscribe: ANONYMOUS_POLICY (everyone, everything), or
 * per-gateway credentials with topic ACLs (hub/security/mqtt-policy.ts). A policy may answer
 * synchronously: the broker asks on every publish, so the hot path should not allocate a
 * promise. Publish and subscribe checks see the user name the connection logged in with.
 */
export interface BrokerAccessPolicy {
  authenticate(
    client: ClientInfo,
    username: string | undefined,
    password: Buffer | undefined,
  ): boolean | Promise<boolean>;
  authorizePublish(client: ClientInfo, topic: string, publish?: PublishInfo): boolean | Promise<boolean>;
  authorizeSubscribe(client: ClientInfo, topicFilter: string): boolean | Promise<boolean>;
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
  /** external: the hub's login at the broker; the password given or read from a file. */
  readonly username?: string;
  readonly password?: string;
  readonly passwordFile?: string;
  /** external: TLS options of the hub's own connection (PEM file paths). */
  readonly clientTls?: {
    readonly ca?: string;
    readonly cert?: string;
    readonly key?: string;
    readonly rejectUnauthorized?: boolean;
  };
  /** embedded: the largest MQTT packet taken (default 4 MiB); a larger one drops the connection. */
  readonly maxPacketBytes?: number;
  /**
   * embedded: the most bytes of messages kept for one subscriber that its socket has not taken
   * (default 16 MiB); past it the connection is dropped (hub/broker/aedes/backlog.ts).
   */
  readonly maxSubscriberBacklogBytes?: number;
  /** embedded: an MQTT over TLS listener besides the plain one. */
  readonly tls?: BrokerTlsConfig;
  /** embedded: an MQTT over WebSocket listener besides the plain one. */
  readonly websocket?: BrokerWebSocketConfig;
}

export interface BrokerTlsConfig {
  /** Interface; default: the plain listener's. */
  readonly host?: string;
  /** Default 8883; 0 = any free port. */
  readonly port: number;
  /** PEM files: the server certificate (chain) and its private key. */
  readonly cert: string;
  readonly key: string;
  /** PEM file of CAs for client certificates; with it, clients must present one it signed. */
  readonly ca?: string;
  /** The oldest TLS version taken (default TLSv1.2). */
  readonly minVersion?: 'TLSv1.2' | 'TLSv1.3';
  /** OpenSSL cipher list for TLS 1.2 (default: ECDHE with AEAD only); TLS 1.3 suites are Node's. */
  readonly ciphers?: string;
}

export interface BrokerWebSocketConfig {
  readonly host?: string;
  /** 0 = any free port. */
  readonly port: number;
  /** The HTTP path of the WebSocket, e.g. /mqtt. */
  readonly path: string;
  /** Serve wss:// with the TLS listener's certificate and key. */
  readonly secure: boolean;
}

export interface BrokerContext {
  readonly logger: Logger;
  readonly policy: BrokerAccessPolicy;
}

export type BrokerFactory = (config: BrokerConfig, ctx: BrokerContext) => MqttBroker;
