/**
 * The broker's access policy with per-gateway credentials (BrokerAccessPolicy, hub/broker/
 * types.ts). Three kinds of client:
 * - the hub's own Sparkplug host, with an internal credential made at start, never stored or
 *   printed: full access (it publishes the retained STATE and every command);
 * - gateways, with a stored credential: the topic ACL of hub/security/mqtt-acl.ts;
 * - anonymous clients, only when `mqtt.allowAnonymous` (the demo): full access, as before
 *   credentials existed.
 * Every refusal is logged with its reason and counted; logins are audited. Wrong passwords are
 * throttled per user name and source address (login-throttle.ts).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Logger } from 'pino';
import type { BrokerAccessPolicy, ClientInfo, PublishInfo } from '../broker/types.js';
import {
  LOGIN_FAILURE_WINDOW_MS,
  type LoginAttempt,
  type LoginHold,
  LoginThrottle,
  UNKNOWN_USER,
} from './login-throttle.js';
import {
  allowedFilters,
  allowedPublishPrefix,
  checkPublish,
  checkSubscribe,
  checkWill,
  type GatewayGrant,
  type PublishRule,
  publishRule,
} from './mqtt-acl.js';
import type { MqttCredentialStore } from './mqtt-credentials.js';
import { newSecret, verifySecret } from './secrets.js';

/** The user name of the hub's own host client; `$` keeps it apart from stored ones. */
export const INTERNAL_USERNAME = '$wanji-host';

export interface InternalCredential {
  readonly username: string;
  readonly password: string;
}

export function newInternalCredential(): InternalCredential {
  return { username: INTERNAL_USERNAME, password: newSecret() };
}

export interface MqttAccessPolicyOptions {
  /** The credential table; a function because the registry opens at start(). */
  readonly credentials: () => MqttCredentialStore;
  readonly internal: InternalCredential;
  readonly allowAnonymous: boolean;
  /** This hub's Sparkplug host id: gateways may subscribe to its STATE. */
  readonly hostId: string;
  readonly logger: Logger;
  /** ms since the epoch; default Date.now. */
  readonly clock?: () => number;
}

interface Grant extends GatewayGrant {
  readonly filters: readonly string[];
  readonly publish: PublishRule;
}

export type MqttRefusal =
  | 'anonymous'
  | 'unknown user'
  | 'revoked'
  | 'bad password'
  | 'no password'
  | 'too many failures'
  | 'will'
  | 'client id'
  | 'publish'
  | 'subscribe';

const digest = (b: Buffer): Buffer => createHash('sha256').update(b).digest();

function holdReason(h: LoginHold): string {
  const s = h.windowMs / 1000;
  // The first wording is the one the wrong-password limit always had (logs may be matched on it).
  return h.limit === 'user'
    ? `${h.failures} wrong passwords within ${s} s; try again later`
    : `${h.failures} failed logins from this address within ${s} s; try again later`;
}

export class MqttAccessPolicy implements BrokerAccessPolicy {
  readonly counters = {
    logins: 0,
    refusedAnonymous: 0,
    refusedUnknownUser: 0,
    refusedRevoked: 0,
    refusedBadPassword: 0,
    refusedTooManyFailures: 0,
    /** Times a user name from one address reached its failed-login limit. */
    throttledUserAddress: 0,
    /** Times an address reached its failed-login limit across user names. */
    throttledAddress: 0,
    refusedWill: 0,
    refusedClientId: 0,
    refusedPublish: 0,
    refusedRetained: 0,
    refusedSubscribe: 0,
    droppedRevoked: 0,
  };
  readonly #o: MqttAccessPolicyOptions;
  readonly #log: Logger;
  readonly #internalDigest: Buffer;
  /** Grants of the user names that logged in; dropped when revoked. */
  readonly #grants = new Map<string, Grant>();
  /**
   * A login already checked with scrypt: the stored hash it matched and a SHA-256 of the
   * password, so a reconnect storm costs a hash, not a scrypt each (≈50 ms of CPU).
   */
  readonly #verified = new Map<string, { secretHash: string; digest: Buffer }>();
  /** Failed logins per user name and source address, and per source address. */
  readonly #throttle: LoginThrottle;

  constructor(o: MqttAccessPolicyOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'mqtt-access' });
    this.#throttle = new LoginThrottle({ clock: o.clock ?? Date.now });
    this.#internalDigest = digest(Buffer.from(o.internal.password));
  }

  /** The throttle's tables: keys held and keys dropped to keep its memory bounded. */
  get loginThrottle(): LoginThrottle['stats'] {
    return this.#throttle.stats;
  }

  async authenticate(
    client: ClientInfo,
    username: string | undefined,
    password: Buffer | undefined,
  ): Promise<boolean> {
    if (username === undefined) {
      if (this.#o.allowAnonymous) return true;
      return this.#refuseLogin(client, undefined, 'anonymous', 'no user name, and anonymous access is off');
    }
    if (username === this.#o.internal.username) {
      return password !== undefined && timingSafeEqual(digest(password), this.#internalDigest)
        ? true
        : this.#refuseLogin(client, username, 'bad password', 'wrong password for the hub host user');
    }
    const store = this.#o.credentials();
    const c = store.find(username);
    const d = password === undefined || password.length === 0 ? undefined : digest(password);
    const known = this.#verified.get(username);
    // A password the hub already accepted gets in at once, whatever anyone guessed meanwhile.
    const remembered =
      c !== undefined &&
      d !== undefined &&
      known !== undefined &&
      known.secretHash === c.secretHash &&
      timingSafeEqual(known.digest, d);
    let attempt: LoginAttempt | undefined;
    if (!remembered) {
      const r = this.#throttle.begin(c === undefined ? UNKNOWN_USER : username, client.remoteAddress);
      if ('limit' in r) return this.#refuseLogin(client, username, 'too many failures', holdReason(r));
      attempt = r;
    }
    if (c === undefined) {
      this.#failed(client, undefined, attempt);
      return this.#refuseLogin(client, username, 'unknown user', 'no such MQTT user');
    }
    if (c.revokedAt !== undefined) {
      if (attempt !== undefined) this.#throttle.succeeded(attempt); // not a guess: the name is known
      return this.#refuseLogin(
        client,
        username,
        'revoked',
        `credential revoked at ${new Date(c.revokedAt).toISOString()}`,
      );
    }
    if (password === undefined || d === undefined) {
      this.#failed(client, username, attempt);
      return this.#refuseLogin(client, username, 'no password', 'no password given');
    }
    const ok = remembered || (await verifySecret(password.toString('utf8'), c.secretHash));
    if (!ok) {
      this.#failed(client, username, attempt);
      return this.#refuseLogin(client, username, 'bad password', 'wrong password');
    }
    if (attempt !== undefined) this.#throttle.succeeded(attempt);
    // Revoked while scrypt ran? The row is read again: a revocation wins.
    if (store.find(username)?.revokedAt !== undefined) {
      return this.#refuseLogin(client, username, 'revoked', 'credential revoked');
    }
    this.#verified.set(username, { secretHash: c.secretHash, digest: d });
    // Taking over a connection's client id drops it: only its own user may (a reconnect).
    // Checked after the password, so that no one learns which client ids are connected.
    const holder = client.clientIdHolder;
    if (holder !== undefined && holder.username !== username) {
      return this.#refuseLogin(
        client,
        username,
        'client id',
        `client id "${client.clientId}" is in use by ${holder.username === undefined ? 'an anonymous client' : holder.username.startsWith('$') ? 'the hub' : `user ${holder.username}`}`,
      );
    }
    const grant: Grant = {
      group: c.group,
      node: c.node,
      filters: allowedFilters(c, this.#o.hostId),
      publish: publishRule(c),
    };
    if (client.will !== undefined) {
      const reason = checkWill(grant, client.will.topic, client.will.retain);
      if (reason !== undefined) return this.#refuseLogin(client, username, 'will', reason);
    }
    this.#grants.set(username, grant);
    this.counters.logins++;
    this.#log.info({ clientId: client.clientId, username, group: c.group, node: c.node }, 'MQTT login');
    this.#audit(client, username, 'ok');
    return true;
  }

  authorizePublish(client: ClientInfo, topic: string, publish?: PublishInfo): boolean {
    const username = client.username;
    if (username === undefined) return this.#anonymousAllowed(client, 'publish', topic);
    if (username === this.#o.internal.username) return true;
    const grant = this.#grants.get(username);
    if (grant === undefined) return this.#refuse(client, 'publish', topic, 'the credential was revoked');
    const reason = checkPublish(grant, topic, publish?.retain === true, grant.publish);
    if (reason === undefined) return true;
    if (publish?.retain === true) this.counters.refusedRetained++;
    return this.#refuse(client, 'publish', topic, reason, allowedPublishPrefix(grant));
  }

  authorizeSubscribe(client: ClientInfo, filter: string): boolean {
    const username = client.username;
    if (username === undefined) return this.#anonymousAllowed(client, 'subscribe', filter);
    if (username === this.#o.internal.username) return true;
    const grant = this.#grants.get(username);
    if (grant === undefined) return this.#refuse(client, 'subscribe', filter, 'the credential was revoked');
    const reason = checkSubscribe(grant, filter, grant.filters);
    if (reason === undefined) return true;
    return this.#refuse(client, 'subscribe', filter, reason, grant.filters.join(', '));
  }

  /**
   * Confirms a failed attempt (`username` undefined: a name that does not exist); logs, once a
   * window, a user name from an address, or an address, reaching its limit.
   */
  #failed(client: ClientInfo, username: string | undefined, attempt: LoginAttempt | undefined): void {
    if (attempt === undefined) return;
    for (const limit of this.#throttle.failed(attempt)) {
      if (limit === 'user') this.counters.throttledUserAddress++;
      else this.counters.throttledAddress++;
      this.#log.warn(
        {
          ...(limit === 'user' && username !== undefined ? { username } : {}),
          remoteAddress: client.remoteAddress,
          limit:
            limit === 'address'
              ? 'address'
              : username === undefined
                ? 'unknown user names from this address'
                : 'user name from this address',
          failures: limit === 'user' ? attempt.pair.count : attempt.address.count,
          windowMs: LOGIN_FAILURE_WINDOW_MS,
        },
        'MQTT logins throttled',
      );
    }
  }

  /** Forgets a revoked user name: its next publish or subscribe is refused. */
  forget(username: string): void {
    this.#grants.delete(username);
    this.#verified.delete(username);
  }

  /** Counts connections the revocation check dropped. */
  countDropped(n: number): void {
    this.counters.droppedRevoked += n;
  }

  /** An anonymous client got past login only when anonymous access is on. */
  #anonymousAllowed(client: ClientInfo, what: 'publish' | 'subscribe', topic: string): boolean {
    if (this.#o.allowAnonymous) return true;
    return this.#refuse(client, what, topic, 'anonymous access is off');
  }

  #refuse(
    client: ClientInfo,
    what: 'publish' | 'subscribe',
    topic: string,
    reason: string,
    allowed?: string,
  ): false {
    if (what === 'publish') this.counters.refusedPublish++;
    else this.counters.refusedSubscribe++;
    this.#log.warn(
      {
        clientId: client.clientId,
        username: client.username,
        remoteAddress: client.remoteAddress,
        topic,
        reason,
        ...(allowed === undefined ? {} : { allowed }),
      },
      what === 'publish' ? 'MQTT publish refused' : 'MQTT subscription refused',
    );
    return false;
  }

  #refuseLogin(client: ClientInfo, username: string | undefined, kind: MqttRefusal, reason: string): false {
    switch (kind) {
      case 'anonymous':
        this.counters.refusedAnonymous++;
        break;
      case 'unknown user':
        this.counters.refusedUnknownUser++;
        break;
      case 'revoked':
        this.counters.refusedRevoked++;
        break;
      case 'will':
        this.counters.refusedWill++;
        break;
      case 'client id':
        this.counters.refusedClientId++;
        break;
      case 'too many failures':
        this.counters.refusedTooManyFailures++;
        break;
      default:
        this.counters.refusedBadPassword++;
    }
    this.#log.warn(
      { clientId: client.clientId, username, remoteAddress: client.remoteAddress, refusal: kind, reason },
      'MQTT login refused',
    );
    if (username !== this.#o.internal.username) this.#audit(client, username, 'refused', reason);
    return false;
  }

  #audit(client: ClientInfo, username: string | undefined, outcome: 'ok' | 'refused', reason?: string): void {
    try {
      this.#o.credentials().audit.record({
        actor: username === undefined ? 'anonymous' : `mqtt:${username}`,
        action: 'mqtt.login',
        outcome,
        ...(client.remoteAddress === undefined ? {} : { source: client.remoteAddress }),
        detail: { clientId: client.clientId, ...(reason === undefined ? {} : { reason }) },
      });
    } catch (err) {
      this.#log.error({ err }, 'cannot write the MQTT login to the audit log');
    }
  }
}
