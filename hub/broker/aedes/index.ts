/** The embedded broker: aedes 1.x on a plain TCP server. */
import { createServer, type Server } from 'node:net';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Logger } from 'pino';
import { type ComponentHealth, HubError } from '../../errors.js';
import type { BrokerAccessPolicy, BrokerConfig, BrokerContext, MqttBroker } from '../types.js';

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

export class AedesBroker implements MqttBroker {
  readonly type = 'embedded';
  readonly #host: string;
  readonly #port: number;
  readonly #policy: BrokerAccessPolicy;
  readonly #log: Logger;
  #aedes: Aedes | undefined;
  #server: Server | undefined;
  #boundPort: number | undefined;
  readonly #clients = new Map<string, Client>();
  #status: ComponentHealth['status'] = 'starting';

  constructor(config: BrokerConfig, ctx: BrokerContext) {
    this.#host = config.host;
    this.#port = config.port;
    this.#policy = ctx.policy;
    this.#log = ctx.logger.child({ component: 'broker', type: 'embedded' });
  }

  get port(): number | undefined {
    return this.#boundPort;
  }

  /** Connected MQTT clients (the host included). */
  get clients(): number {
    return this.#aedes?.connectedClients ?? 0;
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
      // A frozen subscriber must not stall delivery to everyone else.
      drainTimeout: 30_000,
      authenticate: (client, username, password, done) => {
        decide(
          () => policy.authenticate({ clientId: client.id }, username, password),
          (ok) => {
            if (ok) return done(null, true);
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
          () => policy.authorizePublish({ clientId: client.id }, packet.topic),
          (ok) => done(ok ? null : new Error(`publish to ${packet.topic} not allowed`)),
          (err) => done(err),
        );
      },
      authorizeSubscribe: (client, sub, done) => {
        decide(
          () => policy.authorizeSubscribe({ clientId: client.id }, sub.topic),
          (ok) => done(null, ok ? sub : null),
          (err) => done(err),
        );
      },
    });
    aedes.on('clientReady', (client) => this.#clients.set(client.id, client));
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
    const server = createServer(aedes.handle);
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(this.#port, this.#host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      throw new HubError(
        'WANJI_E_BROKER_LISTEN',
        `MQTT broker cannot listen on ${this.#host}:${this.#port}: ${String(err)}`,
        {
          cause: err,
        },
      );
    }
    server.on('error', (err) => log.error({ err }, 'MQTT server error'));
    const addr = server.address();
    this.#boundPort = typeof addr === 'object' && addr !== null ? addr.port : this.#port;
    this.#aedes = aedes;
    this.#server = server;
    this.#status = 'up';
    log.info({ host: this.#host, port: this.#boundPort }, 'MQTT broker listening');
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

  async close(): Promise<void> {
    this.#clients.clear();
    const aedes = this.#aedes;
    const server = this.#server;
    this.#aedes = undefined;
    this.#server = undefined;
    this.#status = 'closed';
    if (aedes === undefined || server === undefined) return;
    // Stop accepting, drop the clients (server.close waits for their sockets), then the broker.
    const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
    await new Promise<void>((resolve) => aedes.close(() => resolve()));
    await serverClosed;
  }
}

export function createAedesBroker(config: BrokerConfig, ctx: BrokerContext): AedesBroker {
  return new AedesBroker(config, ctx);
}
