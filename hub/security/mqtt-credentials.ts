/**
 * Per-gateway MQTT credentials, in the registry file (table `mqtt_credentials`). A credential
 * binds a user name to one Sparkplug group (the enterprise) and edge node (the gateway); the
 * broker's ACL lets it publish and subscribe only as that node (hub/security/mqtt-acl.ts).
 * Passwords are generated here, shown once, and stored as scrypt hashes. Creation and
 * revocation are audited in the same transaction as the change; refusals are audited too.
 */
import { invalidIdReason } from '../../protocol/index.js';
import { printableName, unsafeNameReason } from '../../protocol/sparkplug/names.js';
import type { HubDatabase } from '../database/database.js';
import type { MqttCredentialRow as Row } from '../database/mqtt-credentials.js';
import { HubError } from '../errors.js';
import { AuditLog } from './audit.js';
import { hashSecret, newSecret } from './secrets.js';

export interface MqttCredential {
  readonly username: string;
  readonly group: string;
  readonly node: string;
  readonly createdBy: string;
  /** ms since the epoch */
  readonly createdAt: number;
  readonly revokedAt?: number;
}

/** What the broker needs to check a login: the credential and its stored hash. */
export interface StoredMqttCredential extends MqttCredential {
  readonly secretHash: string;
}

/** Who asks, for the audit log: `cli:<os user>`, `token:<id>`, and from where. */
export interface MqttCredentialActor {
  readonly actor: string;
  readonly source?: string;
}

export interface NewMqttCredential {
  readonly group: string;
  readonly node: string;
  /** Default `<group>.<node>`. */
  readonly username?: string;
}

/** User names starting with `$` are the hub's own (never stored), so they cannot collide. */
const INTERNAL_PREFIX = '$';
const MAX_USERNAME = 128;

/**
 * Why `username` cannot name a stored credential, or undefined when it can. Spaces inside are
 * fine: the default user name is `<group>.<node>`, and Sparkplug ids of real edge nodes hold them
 * (`Sparkplug B Devices.Python Edge Node 1`). Refused: leading or trailing white space (a name
 * that differs from another only there), and the characters no Sparkplug id may hold (controls,
 * bidirectional, zero-width; protocol/sparkplug/names.ts).
 */
export function invalidUsernameReason(username: string): string | undefined {
  if (username.length === 0) return 'is empty';
  if (username.startsWith(INTERNAL_PREFIX)) return `starts with "${INTERNAL_PREFIX}", which the hub reserves`;
  // Names the character by code point, never echoing it; the caller prints the name safely.
  const unsafe = unsafeNameReason(username, MAX_USERNAME);
  if (unsafe !== undefined) return unsafe.replace(/^"[\s\S]*" (?=contains )/, '');
  if (/^\s|\s$/.test(username)) return 'starts or ends with white space';
  return undefined;
}

function toCredential(r: Row): StoredMqttCredential {
  return {
    username: r.username,
    group: r.group_id,
    node: r.edge_node,
    createdBy: r.created_by,
    createdAt: r.created_at,
    ...(r.revoked_at === null ? {} : { revokedAt: r.revoked_at }),
    secretHash: r.secret_hash,
  };
}

function publicPart(c: StoredMqttCredential): MqttCredential {
  const { secretHash: _hidden, ...rest } = c;
  return rest;
}

export class MqttCredentialStore {
  readonly #db: HubDatabase;
  readonly #audit: AuditLog;
  readonly #clock: () => number;

  constructor(db: HubDatabase, clock: () => number = Date.now) {
    this.#db = db;
    this.#clock = clock;
    this.#audit = new AuditLog(db, clock);
  }

  /**
   * Creates a credential and returns its password, which is stored only as a hash: the one
   * time it can be shown. Throws WANJI_E_MQTT_USER_INVALID or _EXISTS, changing nothing.
   */
  create(
    input: NewMqttCredential,
    by: MqttCredentialActor,
  ): { credential: MqttCredential; password: string } {
    const username = input.username ?? `${input.group}.${input.node}`;
    const refuse = (code: 'WANJI_E_MQTT_USER_INVALID' | 'WANJI_E_MQTT_USER_EXISTS', reason: string) => {
      this.#audit.record({
        ...by,
        action: 'mqtt_user.create',
        target: username,
        outcome: 'refused',
        detail: { group: input.group, node: input.node, reason },
      });
      return new HubError(code, reason);
    };
    const groupReason = invalidIdReason(input.group);
    if (groupReason !== undefined) throw refuse('WANJI_E_MQTT_USER_INVALID', `group id ${groupReason}`);
    const nodeReason = invalidIdReason(input.node);
    if (nodeReason !== undefined) throw refuse('WANJI_E_MQTT_USER_INVALID', `edge node id ${nodeReason}`);
    const userReason = invalidUsernameReason(username);
    if (userReason !== undefined) {
      const hint = input.username === undefined ? '; choose one with --username' : '';
      throw refuse(
        'WANJI_E_MQTT_USER_INVALID',
        `user name "${printableName(username)}" ${userReason}${hint}`,
      );
    }
    const password = newSecret();
    const secretHash = hashSecret(password);
    const now = this.#clock();
    const created = this.#db.transaction(() => {
      const existing = this.#db.mqttCredentials.find(username);
      if (existing !== undefined) return toCredential(existing);
      this.#db.mqttCredentials.insert({
        username,
        group_id: input.group,
        edge_node: input.node,
        secret_hash: secretHash,
        created_by: by.actor,
        created_at: now,
      });
      this.#audit.record({
        ...by,
        action: 'mqtt_user.create',
        target: username,
        outcome: 'ok',
        detail: { group: input.group, node: input.node },
      });
      return undefined;
    });
    if (created !== undefined) {
      const state = created.revokedAt === undefined ? '' : ' (revoked; user names are never reused)';
      throw refuse(
        'WANJI_E_MQTT_USER_EXISTS',
        `user name "${username}" already exists for ${created.group}/${created.node}${state}; choose another with --username`,
      );
    }
    return {
      credential: { username, group: input.group, node: input.node, createdBy: by.actor, createdAt: now },
      password,
    };
  }

  /**
   * Marks a credential revoked: the broker refuses its next login and drops a connection
   * using it. Throws WANJI_E_MQTT_USER_NOT_FOUND for an unknown user; revoking twice keeps
   * the first revocation time.
   */
  revoke(username: string, by: MqttCredentialActor): MqttCredential {
    const now = this.#clock();
    const result = this.#db.transaction(() => {
      const row = this.#db.mqttCredentials.find(username);
      if (row === undefined) return undefined;
      const c = toCredential(row);
      if (c.revokedAt !== undefined) return { credential: c, already: true };
      this.#db.mqttCredentials.setRevoked(username, now);
      this.#audit.record({
        ...by,
        action: 'mqtt_user.revoke',
        target: username,
        outcome: 'ok',
        detail: { group: c.group, node: c.node },
      });
      return { credential: { ...c, revokedAt: now }, already: false };
    });
    if (result === undefined) {
      const reason = `no MQTT user "${username}" (see wanji mqtt-user list)`;
      this.#audit.record({
        ...by,
        action: 'mqtt_user.revoke',
        target: username,
        outcome: 'refused',
        detail: { reason },
      });
      throw new HubError('WANJI_E_MQTT_USER_NOT_FOUND', reason);
    }
    return publicPart(result.credential);
  }

  /** Every credential, revoked ones included, oldest first; never the hashes. */
  list(): MqttCredential[] {
    return this.#db.mqttCredentials.list().map((r) => publicPart(toCredential(r)));
  }

  /** The credential with its hash, for the broker's login check. */
  find(username: string): StoredMqttCredential | undefined {
    const row = this.#db.mqttCredentials.find(username);
    return row === undefined ? undefined : toCredential(row);
  }

  /** User names revoked so far (the broker drops connections that use one). */
  revokedUsernames(): Set<string> {
    return new Set(this.#db.mqttCredentials.revokedUsernames());
  }

  /** The hub database it works on. */
  get database(): HubDatabase {
    return this.#db;
  }

  /** For audit entries written by the broker (logins). */
  get audit(): AuditLog {
    return this.#audit;
  }
}
