/**
 * Drops connections whose credential was revoked. `wanji mqtt-user revoke` runs in another
 * process and only writes the registry file, so the hub looks at the revoked user names
 * every `intervalMs` and compares them with who is connected; a revocation inside the hub
 * process calls checkNow() and takes effect at once.
 */
import type { Logger } from 'pino';
import type { Timers } from '../../protocol/clock.js';
import type { MqttBroker } from '../broker/types.js';
import type { MqttCredentialStore } from './mqtt-credentials.js';
import type { MqttAccessPolicy } from './mqtt-policy.js';

export interface RevocationWatchOptions {
  readonly broker: MqttBroker;
  readonly policy: MqttAccessPolicy;
  readonly credentials: () => MqttCredentialStore;
  readonly intervalMs: number;
  readonly timers: Timers;
  readonly logger: Logger;
}

export class RevocationWatch {
  readonly #o: RevocationWatchOptions;
  readonly #log: Logger;
  #timer: unknown;
  #running = false;
  /** The check in progress, so checks never overlap and close() can wait for it. */
  #current: Promise<void> | undefined;

  constructor(o: RevocationWatchOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'mqtt-access' });
  }

  async start(): Promise<void> {
    if (this.#running) return;
    this.#running = true;
    this.#schedule();
  }

  async close(): Promise<void> {
    this.#running = false;
    this.#o.timers.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#current;
  }

  /** Drops the connections of revoked credentials now; resolves with how many. */
  checkNow(): Promise<number> {
    const run = (this.#current ?? Promise.resolve()).then(() => this.#check());
    this.#current = run.then(
      () => undefined,
      () => undefined,
    );
    return run;
  }

  #schedule(): void {
    if (!this.#running) return;
    this.#timer = this.#o.timers.setTimeout(() => {
      this.checkNow()
        .catch((err: unknown) => this.#log.error({ err }, 'revocation check failed'))
        .finally(() => this.#schedule());
    }, this.#o.intervalMs);
  }

  async #check(): Promise<number> {
    const broker = this.#o.broker;
    if (broker.connectedUsernames === undefined || broker.disconnectUser === undefined) return 0;
    const connected = broker.connectedUsernames();
    if (connected.size === 0) return 0;
    const revoked = this.#o.credentials().revokedUsernames();
    let dropped = 0;
    for (const username of connected) {
      if (!revoked.has(username)) continue;
      this.#o.policy.forget(username);
      const n = await broker.disconnectUser(username);
      dropped += n;
      this.#log.warn({ username, connections: n }, 'MQTT connections of a revoked credential dropped');
    }
    this.#o.policy.countDropped(dropped);
    return dropped;
  }
}
