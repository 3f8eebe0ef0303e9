/**
 * The web app's user accounts and their sign-in sessions (docs/api.md, "Signing in"). A user
 * has a role and scope exactly as an API token (roles.ts; child-hub is for tokens only) and a
 * password, stored as a scrypt hash (secrets.ts, as tokens and MQTT passwords). A sign-in is
 * throttled as MQTT logins are (login-throttle.ts: per user name and address, and per address)
 * and opens a session: a random 256-bit id the cookie carries, of which only a SHA-256 is
 * stored, ending after `idleMs` without a request or `absoluteMs` after the sign-in. The user
 * row is read on every request, so a change of role or scope applies at once; disabling or
 * deleting a user, or setting a new password, ends its sessions. Every change, sign-in and
 * sign-out is audited; refusals too.
 */
import { createHash, randomBytes } from 'node:crypto';
import { WanjiError } from '../../protocol/errors.js';
import type { HubDatabase } from '../database/database.js';
import type { UserChange, UserRow } from '../database/users.js';
import type { AuditLog } from './audit.js';
import { unsafeTextReason } from './child-hub-scope.js';
import { LoginThrottle, type LoginThrottleOptions, UNKNOWN_USER } from './login-throttle.js';
import { type Principal, ROLES, type Role } from './roles.js';
import { enterpriseProblem, unknownRegionsProblem } from './scope-checks.js';
import { hashSecret, newSecret, verifySecret } from './secrets.js';
import type { Actor } from './tokens.js';

/** The roles a user may have: a child hub is a program, it signs in with a token. */
export const USER_ROLES = ROLES.filter((r) => r !== 'child-hub');
export const USER_NAME_MAX = 64;
export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 1_024;
export const SESSION_IDLE_MS = 8 * 3_600_000;
export const SESSION_ABSOLUTE_MS = 7 * 86_400_000;
/** A session's "last seen" is written at most this often (one write a minute, not one a request). */
const TOUCH_EVERY_MS = 60_000;
/** A session's principal id: `user:<name>`, what the audit log shows as the actor. */
const SESSION_PRINCIPAL_PREFIX = 'user:';

export type UserErrorCode = 'WANJI_E_USER_INVALID' | 'WANJI_E_USER_EXISTS' | 'WANJI_E_USER_NOT_FOUND';

export class UserError extends WanjiError<UserErrorCode> {
  constructor(code: UserErrorCode, message: string) {
    super(code, message);
    this.name = 'UserError';
  }
}

export interface UserRecord {
  readonly name: string;
  readonly role: Role;
  readonly enterprise: string | null;
  readonly regions: readonly string[];
  readonly createdBy: string;
  /** ms since the epoch */
  readonly createdAt: number;
  readonly updatedAt: number;
  readonly disabledAt: number | null;
  readonly lastLoginAt: number | null;
}

export interface NewUser {
  readonly name: string;
  readonly role: string;
  readonly regions?: readonly string[];
  readonly enterprise?: string;
  /** Left out: one is generated and returned once. */
  readonly password?: string;
}

export interface UserUpdate {
  readonly password?: string;
  readonly role?: string;
  readonly regions?: readonly string[];
  /** null takes it away (a role other than enterprise). */
  readonly enterprise?: string | null;
  readonly disabled?: boolean;
}

export type SignIn =
  | {
      readonly ok: true;
      readonly sessionId: string;
      readonly principal: Principal;
      readonly expiresAt: number;
    }
  | { readonly ok: false; readonly reason: 'unknown user' | 'wrong password' | 'disabled' }
  | {
      readonly ok: false;
      readonly reason: 'locked';
      readonly limit: 'user' | 'address';
      readonly retryInMs: number;
    };

export type SessionCheck =
  | { readonly ok: true; readonly principal: Principal }
  | {
      readonly ok: false;
      readonly reason: 'unknown session' | 'idle' | 'expired' | 'user gone' | 'disabled';
    };

export interface UserStoreOptions {
  readonly clock?: () => number;
  readonly idleMs?: number;
  readonly absoluteMs?: number;
  /** The sign-in throttle's limits; default as for MQTT logins. */
  readonly throttle?: Omit<LoginThrottleOptions, 'clock'>;
}

/** A password for a user who gets none: 32 random bytes, base64url (43 characters). */
export function generatePassword(): string {
  return newSecret();
}

const sha256hex = (s: string): string => createHash('sha256').update(s).digest('hex');

/** The user a principal is signed in as, or undefined for a token (or the command line). */
export function sessionUser(p: Principal | undefined): string | undefined {
  return p?.tokenId.startsWith(SESSION_PRINCIPAL_PREFIX) === true
    ? p.tokenId.slice(SESSION_PRINCIPAL_PREFIX.length)
    : undefined;
}

function toRecord(r: UserRow): UserRecord {
  return {
    name: r.name,
    role: r.role as Role,
    enterprise: r.enterprise,
    regions: JSON.parse(r.regions) as string[],
    createdBy: r.created_by,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
    disabledAt: r.disabled_at,
    lastLoginAt: r.last_login_at,
  };
}

function principalOf(r: UserRow): Principal {
  return {
    tokenId: `${SESSION_PRINCIPAL_PREFIX}${r.name}`,
    name: r.name,
    role: r.role as Role,
    ...(r.enterprise === null ? {} : { enterprise: r.enterprise }),
    regions: JSON.parse(r.regions) as string[],
  };
}

/** Why `name` cannot name a user, or undefined when it can. */
export function userNameProblem(name: string): string | undefined {
  if (name.length === 0 || name.length > USER_NAME_MAX) {
    return `a user name has 1 to ${USER_NAME_MAX} characters`;
  }
  // A name must read as it is: no controls, bidi, zero-width or line separators (named by code point).
  const unsafe = unsafeTextReason(name, USER_NAME_MAX);
  if (unsafe !== undefined) return `a user name ${unsafe}`;
  if (/^\s|\s$/.test(name)) return 'a user name may not start or end with white space';
  return undefined;
}

function passwordProblem(password: string): string | undefined {
  if (password.length < PASSWORD_MIN) return `a password has at least ${PASSWORD_MIN} characters`;
  if (password.length > PASSWORD_MAX) return `a password has at most ${PASSWORD_MAX} characters`;
  return undefined;
}

export class UserStore {
  readonly #db: HubDatabase;
  readonly #audit: AuditLog;
  readonly #clock: () => number;
  readonly #idleMs: number;
  readonly #absoluteMs: number;
  readonly #throttle: LoginThrottle;
  /** Checked instead of a password for names that do not exist, so both take as long. */
  #decoy: string | undefined;

  constructor(db: HubDatabase, audit: AuditLog, opts: UserStoreOptions = {}) {
    this.#db = db;
    this.#audit = audit;
    this.#clock = opts.clock ?? Date.now;
    this.#idleMs = opts.idleMs ?? SESSION_IDLE_MS;
    this.#absoluteMs = opts.absoluteMs ?? SESSION_ABSOLUTE_MS;
    this.#throttle = new LoginThrottle({ ...opts.throttle, clock: this.#clock });
  }

  /** How long a session lasts at most, for the cookie's Max-Age. */
  get absoluteMs(): number {
    return this.#absoluteMs;
  }

  /**
   * Creates a user and audits it. Returns the password when it was generated (shown once,
   * never stored). Throws UserError (nothing stored, the refusal audited).
   */
  create(req: NewUser, by: Actor): { record: UserRecord; password?: string } {
    const refuse = (code: UserErrorCode, message: string): UserError => {
      this.#audit.record({
        ...by,
        action: 'user.create',
        ...(userNameProblem(req.name) === undefined ? { target: req.name } : {}),
        outcome: 'refused',
        detail: { reason: message.slice(0, 500) },
      });
      return new UserError(code, message);
    };
    const problems = [
      ...[userNameProblem(req.name)].filter((p) => p !== undefined),
      ...(req.password === undefined ? [] : [passwordProblem(req.password)].filter((p) => p !== undefined)),
      ...this.#scopeProblems(req.role, req.regions ?? [], req.enterprise ?? null),
    ];
    if (problems.length > 0) {
      throw refuse('WANJI_E_USER_INVALID', `cannot create the user: ${problems.join('; ')}`);
    }
    const generated = req.password === undefined ? generatePassword() : undefined;
    const now = this.#clock();
    const row: UserRow = {
      name: req.name,
      role: req.role,
      enterprise: req.enterprise ?? null,
      regions: JSON.stringify(req.regions ?? []),
      password_hash: hashSecret(req.password ?? generated!),
      created_by: by.actor,
      created_at: now,
      updated_at: now,
      disabled_at: null,
      last_login_at: null,
    };
    const created = this.#db.transaction(() => {
      if (this.#db.users.byName(req.name) !== undefined) return false;
      this.#db.users.insert(row);
      this.#audit.record({
        ...by,
        action: 'user.create',
        target: row.name,
        outcome: 'ok',
        detail: {
          role: row.role,
          ...(row.enterprise === null ? {} : { enterprise: row.enterprise }),
          ...((req.regions ?? []).length === 0 ? {} : { regions: req.regions }),
          password: generated === undefined ? 'given' : 'generated',
        },
      });
      return true;
    });
    if (!created) {
      throw refuse('WANJI_E_USER_EXISTS', `a user "${req.name}" exists already; choose another name`);
    }
    return { record: toRecord(row), ...(generated === undefined ? {} : { password: generated }) };
  }

  #scopeProblems(role: string, regions: readonly string[], enterprise: string | null): string[] {
    const problems: string[] = [];
    if (!(USER_ROLES as readonly string[]).includes(role)) {
      problems.push(
        `role "${role.slice(0, 40)}" is not one of ${USER_ROLES.join(', ')} (child-hub is for API tokens)`,
      );
    }
    const enterpriseIssue = enterpriseProblem(this.#db, role, enterprise ?? undefined, 'an enterprise');
    if (enterpriseIssue !== undefined) problems.push(enterpriseIssue);
    if (regions.length > 0 && role !== 'bureau') {
      problems.push('only role bureau takes regions');
    } else if (regions.length > 0) {
      const unknown = unknownRegionsProblem(this.#db, regions);
      if (unknown !== undefined) problems.push(unknown);
      if (new Set(regions).size !== regions.length) problems.push('a region appears twice');
    }
    return problems;
  }

  /** By name, with how many sessions each has open; never a password hash. */
  list(): (UserRecord & { readonly sessions: number })[] {
    const now = this.#clock();
    const sessions = this.#db.sessions.countByUser(now - this.#idleMs, now - this.#absoluteMs);
    return this.#db.users.list().map((r) => ({ ...toRecord(r), sessions: sessions.get(r.name) ?? 0 }));
  }

  get(name: string): UserRecord | undefined {
    const r = this.#db.users.byName(name);
    return r === undefined ? undefined : toRecord(r);
  }

  /**
   * Changes a user; audited (never the password itself). Disabling it, or a new password, ends
   * its sessions, but for `keepSession` (the id of the session asking, so a user who sets
   * their own password stays signed in). Throws UserError, changing nothing.
   */
  update(name: string, change: UserUpdate, by: Actor, keepSession?: string): UserRecord {
    const refuse = (code: UserErrorCode, message: string): UserError => {
      this.#audit.record({
        ...by,
        action: 'user.update',
        target: name.slice(0, USER_NAME_MAX),
        outcome: 'refused',
        detail: { reason: message.slice(0, 500) },
      });
      return new UserError(code, message);
    };
    const row = this.#db.users.byName(name);
    if (row === undefined) {
      throw refuse(
        'WANJI_E_USER_NOT_FOUND',
        `no user "${name.slice(0, USER_NAME_MAX)}" (see wanji user list)`,
      );
    }
    const role = change.role ?? row.role;
    // A new role drops the scope the old one had, unless the change gives one.
    const sameRole = role === row.role;
    const regions = change.regions ?? (sameRole ? (JSON.parse(row.regions) as string[]) : []);
    const enterprise = change.enterprise !== undefined ? change.enterprise : sameRole ? row.enterprise : null;
    const problems = [
      ...(change.password === undefined
        ? []
        : [passwordProblem(change.password)].filter((p) => p !== undefined)),
      ...this.#scopeProblems(role, regions, enterprise),
    ];
    if (problems.length > 0) {
      throw refuse('WANJI_E_USER_INVALID', `cannot change user "${name}": ${problems.join('; ')}`);
    }
    const now = this.#clock();
    const columns: UserChange = {
      ...(role === row.role ? {} : { role }),
      ...(JSON.stringify(regions) === row.regions ? {} : { regions: JSON.stringify(regions) }),
      ...(enterprise === row.enterprise ? {} : { enterprise }),
      ...(change.password === undefined ? {} : { password_hash: hashSecret(change.password) }),
      ...(change.disabled === undefined || change.disabled === (row.disabled_at !== null)
        ? {}
        : { disabled_at: change.disabled ? now : null }),
    };
    const endSessions = change.password !== undefined || change.disabled === true;
    const keep = change.disabled === true || keepSession === undefined ? undefined : sha256hex(keepSession);
    const updated = this.#db.transaction(() => {
      // `enterprise: null` must reach the UPDATE: the repository skips undefined only.
      this.#db.users.update(name, columns, now);
      const ended = endSessions ? this.#db.sessions.deleteForUser(name, keep) : 0;
      this.#audit.record({
        ...by,
        action: 'user.update',
        target: name,
        outcome: 'ok',
        detail: {
          ...(columns.role === undefined ? {} : { role }),
          ...(columns.regions === undefined ? {} : { regions }),
          ...(columns.enterprise === undefined ? {} : { enterprise }),
          ...(change.password === undefined ? {} : { password: 'changed' }),
          ...(columns.disabled_at === undefined ? {} : { disabled: columns.disabled_at !== null }),
          ...(ended === 0 ? {} : { sessionsEnded: ended }),
        },
      });
      return this.#db.users.byName(name)!;
    });
    return toRecord(updated);
  }

  /** Deletes a user and ends its sessions at once; audited. */
  delete(name: string, by: Actor): UserRecord {
    const result = this.#db.transaction(() => {
      const row = this.#db.users.byName(name);
      if (row === undefined) return undefined;
      this.#db.users.delete(name);
      const ended = this.#db.sessions.deleteForUser(name);
      this.#audit.record({
        ...by,
        action: 'user.delete',
        target: name,
        outcome: 'ok',
        detail: { role: row.role, ...(ended === 0 ? {} : { sessionsEnded: ended }) },
      });
      return row;
    });
    if (result === undefined) {
      const reason = `no user "${name.slice(0, USER_NAME_MAX)}" (see wanji user list)`;
      this.#audit.record({
        ...by,
        action: 'user.delete',
        target: name.slice(0, USER_NAME_MAX),
        outcome: 'refused',
        detail: { reason },
      });
      throw new UserError('WANJI_E_USER_NOT_FOUND', reason);
    }
    return toRecord(result);
  }

  /**
   * Checks a name and password from `address` and opens a session; audited either way (a name
   * that does not exist is not written down: it may be a password typed in the wrong field).
   */
  async signIn(name: string, password: string, address: string | undefined): Promise<SignIn> {
    const row = userNameProblem(name) === undefined ? this.#db.users.byName(name) : undefined;
    const attempt = this.#throttle.begin(row === undefined ? UNKNOWN_USER : name, address);
    const refused = (reason: string, extra: Record<string, unknown> = {}): void => {
      this.#audit.record({
        actor: row === undefined ? 'anonymous' : `${SESSION_PRINCIPAL_PREFIX}${name}`,
        action: 'login',
        ...(row === undefined ? {} : { target: name }),
        outcome: 'refused',
        source: address ?? 'unknown',
        detail: { reason, via: 'session', ...extra },
      });
    };
    if ('limit' in attempt) {
      refused('too many failures', { limit: attempt.limit });
      return { ok: false, reason: 'locked', limit: attempt.limit, retryInMs: attempt.retryInMs };
    }
    this.#decoy ??= hashSecret(newSecret());
    const right = await verifySecret(password.slice(0, PASSWORD_MAX), row?.password_hash ?? this.#decoy);
    // Read again: a user deleted, disabled or given a new password while scrypt ran is refused.
    const now = this.#clock();
    const current = row === undefined ? undefined : this.#db.users.byName(name);
    if (row === undefined || current === undefined || !right || current.password_hash !== row.password_hash) {
      const limits = this.#throttle.failed(attempt);
      const reason = row === undefined || current === undefined ? 'unknown user' : 'wrong password';
      refused(reason, limits.length === 0 ? {} : { limitReached: limits });
      return { ok: false, reason };
    }
    this.#throttle.succeeded(attempt);
    if (current.disabled_at !== null) {
      refused('disabled');
      return { ok: false, reason: 'disabled' };
    }
    const sessionId = randomBytes(32).toString('base64url');
    this.#db.transaction(() => {
      this.#db.sessions.deleteExpired(now - this.#idleMs, now - this.#absoluteMs);
      this.#db.sessions.insert({
        id_hash: sha256hex(sessionId),
        user_name: name,
        created_at: now,
        last_seen_at: now,
        source: address ?? null,
      });
      this.#db.users.setLastLogin(name, now);
      this.#audit.record({
        actor: `${SESSION_PRINCIPAL_PREFIX}${name}`,
        action: 'login',
        target: name,
        outcome: 'ok',
        source: address ?? 'unknown',
        detail: { role: current.role, via: 'session' },
      });
    });
    return { ok: true, sessionId, principal: principalOf(current), expiresAt: now + this.#absoluteMs };
  }

  /** True when `password` is the user's (for a tool that keeps one, e.g. `wanji demo`); no session, not audited. */
  async checkPassword(name: string, password: string): Promise<boolean> {
    const row = this.#db.users.byName(name);
    return row !== undefined && (await verifySecret(password.slice(0, PASSWORD_MAX), row.password_hash));
  }

  /** The principal of a live session (its "last seen" moved on); an ended one is removed. */
  session(sessionId: string): SessionCheck {
    const hash = sha256hex(sessionId);
    const s = this.#db.sessions.byHash(hash);
    if (s === undefined) return { ok: false, reason: 'unknown session' };
    const now = this.#clock();
    const ended =
      now - s.created_at >= this.#absoluteMs
        ? 'expired'
        : now - s.last_seen_at >= this.#idleMs
          ? 'idle'
          : undefined;
    if (ended !== undefined) {
      this.#db.sessions.delete(hash);
      return { ok: false, reason: ended };
    }
    const user = this.#db.users.byName(s.user_name);
    if (user === undefined || user.disabled_at !== null) {
      this.#db.sessions.delete(hash);
      return { ok: false, reason: user === undefined ? 'user gone' : 'disabled' };
    }
    if (now - s.last_seen_at >= TOUCH_EVERY_MS) this.#db.sessions.touch(hash, now);
    return { ok: true, principal: principalOf(user) };
  }

  /** Ends a session (sign-out); audited when there was one. */
  signOut(sessionId: string, source: string | undefined): boolean {
    const hash = sha256hex(sessionId);
    return this.#db.transaction(() => {
      const s = this.#db.sessions.byHash(hash);
      if (s === undefined) return false;
      this.#db.sessions.delete(hash);
      this.#audit.record({
        actor: `${SESSION_PRINCIPAL_PREFIX}${s.user_name}`,
        action: 'logout',
        target: s.user_name,
        outcome: 'ok',
        source: source ?? 'unknown',
        detail: {},
      });
      return true;
    });
  }
}
