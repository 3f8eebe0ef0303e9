/** The embedded broker: aedes 1.x on plain TCP, and optionally TLS and WebSocket listeners. */
import type { Socket } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { type ComponentHealth, HubError } from '../../errors.js';
import type {
  BrokerAccessPolicy,
  BrokerConfig,
  BrokerContext,
  BrokerTrafficCounters,
  ClientInfo,
  MqttBroker,
} from '../types.js';
import { boundSubscriberBacklog } from './backlog.js';
import { AedesInProcessPort } from './in-process.js';
import { type Listener, listenTcp, listenTls, listenWebSocket, loadTlsFiles } from './listeners.js';
import { watchParser } from './parser.js';
import { rememberMatches } from './topic-matches.js';
import { BrokerTraffic, isMeteredSocket } from './traffic.js';

const DEFAULT_MAX_PACKET_BYTES = 4 * 1024 * 1024;
/** What the broker keeps for one subscriber that its socket has not taken (backlog.ts). */
const DEFAULT_MAX_SUBSCRIBER_BACKLOG_BYTES = 16 * 1024 * 1024;

/** aedes' AuthErrorCode.BAD_USERNAME_OR_PASSWORD (a const enum, not importable at runtime). */
const BAD_USERNAME_OR_PASSWORD = 4;

/** Runs a policy decision, synchronously when the policy answers synchronously. */
function decide(
  ask: () => boolean | Promise<boolean>,
  then: (ok: boolean) => void,
  fail: (err: Error) => void,
): void {
  const toError = (e: unknown): Error => (e instanceof Error ? e : new Error(String(e)));
  let answer: boolean | Promise<boolean>;
  try {
    answer = ask();
  } catch (err) {
    fail(toError(err));
    return;
  }
  if (typeof answer === 'boolean') then(answer);
  else answer.then(then, (err: unknown) => fail(toError(err)));
}

function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

function remoteAddress(client: Client): string | undefined {
  return (client.conn as Partial<Socket>).remoteAddress ?? client.req?.socket.remoteAddress;
}

export class AedesBroker implements MqttBroker {
  readonly type = 'embedded';
  readonly #config: BrokerConfig;
  readonly #host: string;
  readonly #port: number;
  readonly #policy: BrokerAccessPolicy;
  readonly #log: Logger;
  #aedes: Aedes | undefined;
  #listeners: Listener[] = [];
  #boundPort: number | undefined;
  readonly #clients = new Map<string, Client>();
  /** The user name each connection logged in with; the will from its CONNECT. */
  readonly #usernames = new WeakMap<Client, string>();
  /** What the policy sees of a logged-in client, made once: every publish is checked. */
  readonly #infos = new WeakMap<Client, ClientInfo>();
  readonly #wills = new WeakMap<Client, { topic: string; retain: boolean }>();
  #status: ComponentHealth['status'] = 'starting';
  readonly counters = { tlsHandshakeErrors: 0, droppedOversized: 0, droppedSlowSubscribers: 0 };
  readonly #traffic = new BrokerTraffic();
  /** The hub's own host in process (made at the first inProcessPort() after start()). */
  #hostPort: AedesInProcessPort | undefined;

  constructor(config: BrokerConfig, ctx: BrokerContext) {
    this.#config = config;
    this.#host = config.host;
    this.#port = config.port;
    this.#policy = ctx.policy;
    this.#log = ctx.logger.child({ component: 'broker', type: 'embedded' });
  }

  get port(): number | undefined {
    return this.#boundPort;
  }

  /** The TLS listener's real port (after start()), when configured. */
  get tlsPort(): number | undefined {
    return this.#listeners.find((l) => l.kind === 'tls')?.port;
  }

  /** The WebSocket listener's real port (after start()), when configured. */
  get webSocketPort(): number | undefined {
    return this.#listeners.find((l) => l.kind === 'ws' || l.kind === 'wss')?.port;
  }

  #loggedIn(client: Client): ClientInfo {
    return this.#infos.get(client) ?? this.#info(client);
  }

  #info(client: Client): ClientInfo {
    const username = this.#usernames.get(client);
    const address = remoteAddress(client);
    return {
      clientId: client.id,
      ...(username === undefined ? {} : { username }),
      ...(address === undefined ? {} : { remoteAddress: address }),
    };
  }

  /** Connected MQTT clients (the host included, in process or not). */
  get clients(): number {
    return (this.#aedes?.connectedClients ?? 0) + (this.#hostPort?.attached ?? 0);
  }

  /** The route of the hub's own host into this broker, without a socket (in-process.ts). */
  inProcessPort(): AedesInProcessPort {
    const aedes = this.#aedes;
    if (aedes === undefined) throw new HubError('WANJI_E_HUB_STATE', 'broker is not started');
    if (this.#hostPort === undefined)
      this.#hostPort = new AedesInProcessPort(aedes, this.#traffic, this.#log);
    return this.#hostPort;
  }

  /** Messages and bytes through the broker since it started (/metrics). */
  traffic(): BrokerTrafficCounters {
    return this.#traffic.counters();
  }

  connectUrl(): string {
    if (this.#boundPort === undefined) throw new HubError('WANJI_E_HUB_STATE', 'broker is not started');
    const h = this.#host;
    const host =
      h === '0.0.0.0' || h === '' ? '127.0.0.1' : h === '::' ? '[::1]' : h.includes(':') ? `[${h}]` : h;
    return `mqtt://${host}:${this.#boundPort}`;
  }

  health(): ComponentHealth {
    return { status: this.#status };
  }

  async start(): Promise<void> {
    if (this.#aedes !== undefined) return;
    const policy = this.#policy;
    const log = this.#log;
    const aedes = await Aedes.createBroker({
      // A socket that takes nothing for this long is dropped (its backlog is bounded in bytes
      // too, and never holds up other clients: backlog.ts).
      drainTimeout: 30_000,
      preConnect: (client, packet, done) => {
        if (packet.will)
          this.#wills.set(client, { topic: packet.will.topic, retain: packet.will.retain === true });
        done(null, true);
      },
      authenticate: (client, username, password, done) => {
        const will = this.#wills.get(client);
        const holder = this.#clients.get(client.id);
        const holderName = holder === undefined ? undefined : this.#usernames.get(holder);
        const info: ClientInfo = {
          ...this.#info(client),
          ...(will === undefined ? {} : { will }),
          ...(holder === undefined
            ? {}
            : { clientIdHolder: holderName === undefined ? {} : { username: holderName } }),
        };
        decide(
          () => policy.authenticate(info, username, password),
          (ok) => {
            if (ok) {
              if (username !== undefined) this.#usernames.set(client, username);
              this.#infos.set(client, this.#info(client));
              return done(null, true);
            }
            const err = new Error('bad user name or password') as AuthenticateError;
            err.returnCode = BAD_USERNAME_OR_PASSWORD;
            done(err, false);
          },
          (err) => {
            log.error({ err }, 'authenticate failed');
            done(null, false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        if (client === null) return done(null);
        decide(
          () => policy.authorizePublish(this.#loggedIn(client), packet.topic, packet),
          (ok) => done(ok ? null : new Error(`publish to ${packet.topic} not allowed`)),
          (err) => done(err),
        );
      },
      // Every message forwarded to a subscriber passes here once (after aedes' own checks).
      authorizeForward: (_client, packet) => {
        this.#traffic.messagesSent++;
        return packet;
      },
      authorizeSubscribe: (client, sub, done) => {
        decide(
          () => policy.authorizeSubscribe(this.#loggedIn(client), sub.topic),
          (ok) => done(null, ok ? sub : null),
          (err) => done(err),
        );
      },
    });
    if (!rememberMatches(aedes))
      log.info('this aedes has no topic trie to wrap: subscribers are looked up per message');
    aedes.on('clientReady', (client) => this.#clients.set(client.id, client));
    aedes.on('publish', (_packet, client) => {
      // Without a client: the broker's own ($SYS); those are not traffic from the network.
      if (client) this.#traffic.messagesReceived++;
    });
    aedes.on('clientDisconnect', (client) => {
      if (this.#clients.get(client.id) === client) this.#clients.delete(client.id);
    });
    aedes.on('clientError', (client, err) => log.debug({ clientId: client.id, err }, 'MQTT client error'));
    aedes.on('connectionError', (client, err) =>
      log.debug({ clientId: client?.id, err }, 'MQTT connection error'),
    );
    // Persistence failures surface as 'error', which aedes' typings leave out.
    (aedes as unknown as NodeJS.EventEmitter).on('error', (err: unknown) =>
      log.error({ err }, 'broker error'),
    );
    const maxPacketBytes = this.#config.maxPacketBytes ?? DEFAULT_MAX_PACKET_BYTES;
    // Over WebSocket both the message bound and the packet bound may trip: count a connection once.
    const tripped = new WeakSet<object>();
    const oversize = (key: object, fields: Record<string, unknown>): void => {
      if (tripped.has(key)) return;
      tripped.add(key);
      this.counters.droppedOversized++;
      log.warn({ ...fields, maxPacketBytes }, 'MQTT packet too large; connection dropped');
    };
    const maxBacklogBytes = this.#config.maxSubscriberBacklogBytes ?? DEFAULT_MAX_SUBSCRIBER_BACKLOG_BYTES;
    let unlimited = false;
    let unbounded = false;
    const handle = (stream: Parameters<Aedes['handle']>[0], req?: Parameters<Aedes['handle']>[1]) => {
      const client = aedes.handle(stream, req);
      const socket = req?.socket ?? stream;
      if (isMeteredSocket(socket)) this.#traffic.track(socket);
      const limited = watchParser(client, maxPacketBytes, (declared) => {
        oversize(req ?? stream, { clientId: client.id, remoteAddress: remoteAddress(client), declared });
        stream.destroy();
      });
      if (!limited && !unlimited) {
        unlimited = true;
        log.warn('this aedes has no parser to watch: MQTT packet sizes are not limited');
      }
      const bounded = boundSubscriberBacklog(client, maxBacklogBytes, (backlogBytes) => {
        this.counters.droppedSlowSubscribers++;
        log.warn(
          { clientId: client.id, remoteAddress: remoteAddress(client), backlogBytes, maxBacklogBytes },
          'MQTT subscriber does not read what it subscribed to; connection dropped (mqtt.maxSubscriberBacklogBytes)',
        );
        stream.destroy();
      });
      if (!bounded && !unbounded) {
        unbounded = true;
        log.warn(
          'this aedes has no delivery hooks: a subscriber that stops reading stalls the broker up to its drain timeout',
        );
      }
    };
    const cfg = this.#config;
    try {
      // Certificates first: a bad file is a config error before any port is taken.
      const tlsFiles = cfg.tls === undefined ? undefined : loadTlsFiles(cfg.tls);
      this.#listeners.push(await listenTcp(handle, this.#host, this.#port, log));
      if (cfg.tls !== undefined && tlsFiles !== undefined) {
        this.#listeners.push(
          await listenTls(handle, tlsFiles, cfg.tls.host ?? this.#host, cfg.tls.port, log, () => {
            this.counters.tlsHandshakeErrors++;
          }),
        );
      }
      if (cfg.websocket !== undefined) {
        this.#listeners.push(
          await listenWebSocket(handle, cfg.websocket, tlsFiles, cfg.websocket.host ?? this.#host, log, {
            maxPacketBytes,
            onOversize: (req) => oversize(req, { remoteAddress: req.socket.remoteAddress, websocket: true }),
          }),
        );
      }
    } catch (err) {
      await this.#closeListeners();
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw err instanceof HubError
        ? err
        : new HubError('WANJI_E_BROKER_LISTEN', `MQTT broker cannot start: ${String(err)}`, { cause: err });
    }
    this.#boundPort = this.#listeners[0]?.port;
    this.#aedes = aedes;
    this.#status = 'up';
    for (const l of this.#listeners) {
      log.info({ listener: l.kind, host: l.host, port: l.port }, 'MQTT broker listening');
    }
    const plain = this.#listeners.filter((l) => (l.kind === 'tcp' || l.kind === 'ws') && !isLoopback(l.host));
    if (plain.length > 0) {
      log.warn(
        { listeners: plain.map((l) => `${l.kind} ${l.host}:${l.port}`) },
        'MQTT without TLS on a network interface: passwords and data cross the network in clear (see docs/security.md#tls)',
      );
    }
  }

  /** Stops accepting; after `clientsClosed`, ends what is left and waits for every socket. */
  async #closeListeners(clientsClosed: Promise<void> = Promise.resolve()): Promise<void> {
    const listeners = this.#listeners;
    this.#listeners = [];
    const closed = Promise.all(listeners.map((l) => l.close()));
    await clientsClosed;
    for (const l of listeners) l.destroy();
    await closed;
  }

  /**
   * Drops a client's connection as if its network went away: the broker publishes its will.
   * For operators (revoked credentials, a misbehaving gateway) and tests.
   */
  async disconnectClient(clientId: string): Promise<boolean> {
    const client = this.#clients.get(clientId);
    if (client === undefined) return false;
    await new Promise<void>((resolve) => client.close(() => resolve()));
    return true;
  }

  /** Drops every connection logged in as `username` (a revoked credential). */
  async disconnectUser(username: string): Promise<number> {
    const clients = [...this.#clients.values()].filter((c) => this.#usernames.get(c) === username);
    await Promise.all(clients.map((c) => new Promise<void>((resolve) => c.close(() => resolve()))));
    return clients.length;
  }

  connectedUsernames(): Set<string> {
    const names = new Set<string>();
    for (const c of this.#clients.values()) {
      const u = this.#usernames.get(c);
      if (u !== undefined) names.add(u);
    }
    return names;
  }

  async close(): Promise<void> {
    this.#clients.clear();
    const aedes = this.#aedes;
    this.#aedes = undefined;
    this.#hostPort = undefined;
    this.#status = 'closed';
    if (aedes === undefined) return;
    // Stop accepting, drop the clients (server.close waits for their sockets), then the broker.
    await this.#closeListeners(new Promise<void>((resolve) => aedes.close(() => resolve())));
  }
}

export function createAedesBroker(config: BrokerConfig, ctx: BrokerContext): AedesBroker {
  return new AedesBroker(config, ctx);
}
