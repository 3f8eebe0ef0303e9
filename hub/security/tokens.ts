/**
 * API bearer tokens: `wj_<id>_<secret>`. The id (12 hex digits) finds the row; only the
 * secret is verified, against its scrypt hash. scrypt takes tens of milliseconds, so a verified
 * secret is remembered for a while as a SHA-256 digest; the row itself is read on every use,
 * so a revocation (from the API or from `wanji token revoke` in another process) and an
 * expiry take effect on the next request.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { HubDatabase } from '../database/database.js';
import type { TokenRow } from '../database/tokens.js';
import type { AuditLog } from './audit.js';
import { ENTERPRISE_CODE_MAX, HUB_ID_MAX, idReason } from './child-hub-scope.js';
import { type Principal, ROLES, type Role } from './roles.js';
import { enterpriseProblem, unknownRegionsProblem } from './scope-checks.js';
import { hashSecret, newSecret, verifySecret } from './secrets.js';
import { TokenError } from './tokens-errors.js';

export { TokenError, type TokenErrorCode } from './tokens-errors.js';

export const TOKEN_PREFIX = 'wj_';
const TOKEN_RE = /^wj_([0-9a-f]{12})_([A-Za-z0-9_-]{43})$/;
const NAME_MAX = 100;

export interface TokenRecord {
  readonly id: string;
  readonly name: string;
  readonly role: Role;
  readonly enterprise: string | null;
  readonly regions: readonly string[];
  /** Role child-hub: the hub id its reports carry. */
  readonly hubId: string | null;
  /** Role child-hub: enterprise codes it may report besides its regions'. */
  readonly enterprises: readonly string[];
  readonly createdBy: string;
  /** ms since the epoch */
  readonly createdAt: number;
  readonly expiresAt: number | null;
  readonly lastUsedAt: number | null;
  readonly revokedAt: number | null;
}

export interface NewToken {
  readonly role: string;
  readonly name?: string;
  readonly enterprise?: string;
  readonly regions?: readonly string[];
  /** Role child-hub (required): the child's hub id (its `hostId`). */
  readonly hubId?: string;
  /** Role child-hub: enterprise codes it may report besides those of its regions. */
  readonly enterprises?: readonly string[];
  /** ms since the epoch; undefined = never expires. */
  readonly expiresAt?: number;
}

/** Who asks for a change, for the audit log. */
export interface Actor {
  /** `token:<id>`, `cli:<os user>` */
  readonly actor: string;
  /** an IP address, `cli` */
  readonly source: string;
}

export type Verification =
  | { readonly ok: true; readonly principal: Principal; readonly firstUse: boolean }
  | {
      readonly ok: false;
      /** Why, for the log and the audit entry (never shown to the caller in detail). */
      readonly reason: 'malformed' | 'unknown' | 'revoked' | 'expired' | 'wrong secret';
      /** The id the token claims, when it has the token format. */
      readonly tokenId?: string;
    };

interface CachedSecret {
  /** SHA-256 of the secret that passed scrypt. */
  readonly digest: Buffer;
  /** The row's hash it was checked against: a changed row is checked anew. */
  readonly hash: string;
  readonly at: number;
}

export interface TokenStoreOptions {
  readonly clock?: () => number;
  /** How long a verified secret skips scrypt; default 10 minutes. */
  readonly cacheMs?: number;
  /** At most this many cached secrets (oldest dropped first); default 10,000. */
  readonly cacheSize?: number;
}

const LAST_USED_EVERY_MS = 60_000;

const sha256 = (s: string): Buffer => createHash('sha256').update(s).digest();

function toRecord(r: TokenRow): TokenRecord {
  return {
    id: r.id,
    name: r.name,
    role: r.role as Role,
    enterprise: r.enterprise,
    regions: JSON.parse(r.regions) as string[],
    hubId: r.hub_id,
    enterprises: JSON.parse(r.enterprises) as string[],
    createdBy: r.created_by,
    createdAt: r.created_at,
    expiresAt: r.expires_at,
    lastUsedAt: r.last_used_at,
    revokedAt: r.revoked_at,
  };
}

/** Splits `wj_<id>_<secret>`; undefined when the text is not a token. */
export function parseToken(text: string): { id: string; secret: string } | undefined {
  const m = TOKEN_RE.exec(text);
  return m === null ? undefined : { id: m[1]!, secret: m[2]! };
}

export class TokenStore {
  readonly #db: HubDatabase;
  readonly #audit: AuditLog;
  readonly #clock: () => number;
  readonly #cacheMs: number;
  readonly #cacheSize: number;
  readonly #cache = new Map<string, CachedSecret>();
  /** Tokens that have logged in during this process (a login is audited once). */
  readonly #loggedIn = new Set<string>();

  constructor(db: HubDatabase, audit: AuditLog, opts: TokenStoreOptions = {}) {
    this.#db = db;
    this.#audit = audit;
    this.#clock = opts.clock ?? Date.now;
    this.#cacheMs = opts.cacheMs ?? 10 * 60_000;
    this.#cacheSize = opts.cacheSize ?? 10_000;
  }

  /**
   * Creates a token and audits it in one transaction. Returns the token text, which is shown
   * once and never stored; throws TokenError (nothing stored, the refusal audited) when the
   * request is invalid.
   */
  create(req: NewToken, by: Actor): { token: string; record: TokenRecord } {
    const problems = this.#problems(req);
    if (problems.length > 0) {
      const message = `cannot create the token: ${problems.join('; ')}`;
      this.#audit.record({
        ...by,
        action: 'token.create',
        outcome: 'refused',
        detail: { reason: message.slice(0, 500) },
      });
      throw new TokenError('WANJI_E_TOKEN_INVALID', message);
    }
    const id = randomBytes(6).toString('hex');
    const secret = newSecret();
    const row: TokenRow = {
      id,
      name: req.name?.trim() || `${req.role} token`,
      role: req.role,
      enterprise: req.enterprise ?? null,
      regions: JSON.stringify(req.regions ?? []),
      hub_id: req.hubId ?? null,
      enterprises: JSON.stringify(req.enterprises ?? []),
      secret_hash: hashSecret(secret),
      created_by: by.actor,
      created_at: this.#clock(),
      expires_at: req.expiresAt ?? null,
      last_used_at: null,
      revoked_at: null,
    };
    this.#db.transaction(() => {
      this.#db.tokens.insert(row);
      this.#audit.record({
        ...by,
        action: 'token.create',
        target: id,
        outcome: 'ok',
        detail: {
          name: row.name,
          role: row.role,
          ...(row.enterprise === null ? {} : { enterprise: row.enterprise }),
          ...(req.regions === undefined || req.regions.length === 0 ? {} : { regions: req.regions }),
          ...(row.hub_id === null ? {} : { hubId: row.hub_id }),
          ...(req.enterprises === undefined || req.enterprises.length === 0
            ? {}
            : { enterprises: req.enterprises }),
          ...(row.expires_at === null ? {} : { expiresAt: new Date(row.expires_at).toISOString() }),
        },
      });
    });
    return { token: `${TOKEN_PREFIX}${id}_${secret}`, record: toRecord(row) };
  }

  #problems(req: NewToken): string[] {
    const problems: string[] = [];
    if (!(ROLES as readonly string[]).includes(req.role)) {
      problems.push(`role "${req.role.slice(0, 40)}" is not one of ${ROLES.join(', ')}`);
    }
    if (req.name !== undefined && (req.name.length > NAME_MAX || /\p{Cc}/u.test(req.name))) {
      problems.push(`name must be at most ${NAME_MAX} characters without control characters`);
    }
    const enterprise = enterpriseProblem(this.#db, req.role, req.enterprise, '--enterprise');
    if (enterprise !== undefined) problems.push(enterprise);
    problems.push(...childHubProblems(req));
    const regions = req.regions ?? [];
    if (regions.length > 0 && req.role !== 'bureau' && req.role !== 'child-hub') {
      problems.push('only role bureau or child-hub takes regions');
    } else {
      const unknown = unknownRegionsProblem(this.#db, regions);
      if (unknown !== undefined) problems.push(unknown);
    }
    if (req.expiresAt !== undefined && !(req.expiresAt > this.#clock())) {
      problems.push('the expiry must lie in the future');
    }
    return problems;
  }

  /** Newest first; secrets are never returned (only their hashes are stored). */
  list(): TokenRecord[] {
    return this.#db.tokens.list().map(toRecord);
  }

  get(id: string): TokenRecord | undefined {
    const r = this.#db.tokens.byId(id);
    return r === undefined ? undefined : toRecord(r);
  }

  /** Revokes at once (the next request with the token is refused); audited. */
  revoke(id: string, by: Actor): TokenRecord {
    const at = this.#clock();
    const result = this.#db.transaction((): TokenRecord | string => {
      const row = this.#db.tokens.byId(id);
      if (row === undefined) return 'no such token';
      if (row.revoked_at !== null) return 'already revoked';
      this.#db.tokens.setRevoked(id, at);
      this.#audit.record({
        ...by,
        action: 'token.revoke',
        target: id,
        outcome: 'ok',
        detail: { name: row.name },
      });
      return toRecord({ ...row, revoked_at: at });
    });
    this.#cache.delete(id);
    if (typeof result === 'string') {
      this.#audit.record({
        ...by,
        action: 'token.revoke',
        target: id.slice(0, 40),
        outcome: 'refused',
        detail: { reason: result },
      });
      throw new TokenError('WANJI_E_TOKEN_NOT_FOUND', `token "${id.slice(0, 40)}": ${result}`);
    }
    return result;
  }

  /**
   * Checks a presented token. `firstUse` is true for its first success in this process: the
   * caller audits that as a login, and every failure (it knows the source address).
   */
  async verify(text: string): Promise<Verification> {
    const parsed = parseToken(text);
    if (parsed === undefined) return { ok: false, reason: 'malformed' };
    const { id, secret } = parsed;
    const row = this.#db.tokens.byId(id);
    if (row === undefined) return { ok: false, reason: 'unknown', tokenId: id };
    const now = this.#clock();
    if (row.revoked_at !== null) return { ok: false, reason: 'revoked', tokenId: id };
    if (row.expires_at !== null && row.expires_at <= now)
      return { ok: false, reason: 'expired', tokenId: id };
    if (!this.#cachedMatch(row, secret, now)) {
      if (!(await verifySecret(secret, row.secret_hash))) {
        return { ok: false, reason: 'wrong secret', tokenId: id };
      }
      this.#remember(id, { digest: sha256(secret), hash: row.secret_hash, at: now });
    }
    const firstUse = !this.#loggedIn.has(id);
    if (firstUse) this.#loggedIn.add(id);
    if (firstUse || row.last_used_at === null || now - row.last_used_at >= LAST_USED_EVERY_MS) {
      this.#db.tokens.setLastUsed(id, now);
    }
    return {
      ok: true,
      firstUse,
      principal: {
        tokenId: id,
        name: row.name,
        role: row.role as Role,
        ...(row.enterprise === null ? {} : { enterprise: row.enterprise }),
        regions: JSON.parse(row.regions) as string[],
        ...(row.hub_id === null ? {} : { hubId: row.hub_id }),
        ...(row.role === 'child-hub' ? { enterprises: JSON.parse(row.enterprises) as string[] } : {}),
      },
    };
  }

  /** True when the cheap check (no scrypt) would accept `text` now. */
  isCached(text: string): boolean {
    const parsed = parseToken(text);
    if (parsed === undefined) return false;
    const row = this.#db.tokens.byId(parsed.id);
    return row !== undefined && this.#cachedMatch(row, parsed.secret, this.#clock());
  }

  #cachedMatch(row: TokenRow, secret: string, now: number): boolean {
    const c = this.#cache.get(row.id);
    if (c === undefined) return false;
    if (c.hash !== row.secret_hash || now - c.at > this.#cacheMs) {
      this.#cache.delete(row.id);
      return false;
    }
    return timingSafeEqual(c.digest, sha256(secret));
  }

  #remember(id: string, c: CachedSecret): void {
    this.#cache.delete(id);
    if (this.#cache.size >= this.#cacheSize) {
      const oldest = this.#cache.keys().next();
      if (oldest.done !== true) this.#cache.delete(oldest.value);
    }
    this.#cache.set(id, c);
  }
}

/**
 * A child-hub token names its hub and what it may report: regions and/or enterprise codes
 * (never nothing, which would read as "anything"). Other roles take neither.
 */
function childHubProblems(req: NewToken): string[] {
  const enterprises = req.enterprises ?? [];
  if (req.role !== 'child-hub') {
    const problems: string[] = [];
    if (req.hubId !== undefined) problems.push('only role child-hub takes a hub id');
    if (enterprises.length > 0)
      problems.push('only role child-hub takes enterprise codes (role enterprise takes one enterprise)');
    return problems;
  }
  const problems: string[] = [];
  if (req.hubId === undefined) {
    problems.push("role child-hub needs --hub-id (the child hub's hostId)");
  } else {
    const r = idReason(req.hubId, HUB_ID_MAX);
    if (r !== undefined) problems.push(`hub id ${r}`);
  }
  if ((req.regions ?? []).length === 0 && enterprises.length === 0) {
    problems.push('role child-hub needs --regions or --enterprises: what the child may report');
  }
  for (const code of enterprises.slice(0, 10_000)) {
    const r = idReason(code, ENTERPRISE_CODE_MAX);
    if (r !== undefined) problems.push(`enterprise code ${r}`);
  }
  if (enterprises.length > 10_000) problems.push('at most 10,000 enterprise codes');
  if (new Set(enterprises).size !== enterprises.length) problems.push('an enterprise code appears twice');
  return problems.slice(0, 20);
}

/** `90d`, `12h`, `30m`, or an ISO 8601 date → ms since the epoch; throws TokenError. */
export function parseExpiry(text: string, now: number): number {
  const m = /^(\d{1,6})([dhm])$/.exec(text.trim());
  if (m !== null) {
    const unit = { d: 86_400_000, h: 3_600_000, m: 60_000 }[m[2] as 'd' | 'h' | 'm'];
    const n = Number(m[1]);
    if (n > 0) return now + n * unit;
  } else if (/^\d{4}-\d{2}-\d{2}/.test(text.trim())) {
    const at = Date.parse(text.trim());
    if (Number.isFinite(at)) return at;
  }
  throw new TokenError(
    'WANJI_E_TOKEN_INVALID',
    `expiry "${text.slice(0, 40)}" is not a duration (e.g. 90d, 12h, 30m) nor an ISO 8601 date`,
  );
}
