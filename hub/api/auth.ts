/**
 * The authentication hook (the contract is access.ts). For every request it:
 * 1. finds the route's access level; a route that declares none is refused, never open;
 * 2. resolves `Authorization: Bearer wj_<id>_<secret>` to a Principal (401 when missing or bad),
 *    or, without that header, the `wanji_session` cookie of a signed-in user (session-cookie.ts);
 *    a change (POST, PUT, PATCH, DELETE) the cookie authenticates must come from the hub's own
 *    pages (403 WANJI_E_CROSS_SITE otherwise);
 * 3. applies the rate limit: per token once authenticated, per client address before (so a
 *    flood of guessed tokens is bounded before any scrypt runs);
 * 4. refuses a role the access level does not admit (403).
 * Every refusal is logged with its reason and audited; the first successful use of a token in
 * this process is audited as a login.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../errors.js';
import type { AuditLog } from '../security/audit.js';
import { sourceKey } from '../security/source-address.js';
import type { TokenStore } from '../security/tokens.js';
import type { UserStore } from '../security/users.js';
import { ACCESS_LEVELS, type Access, mayAccess, ROLES } from './access.js';
import { actorOf, noteScopeRefusalAudited, pathOf, sendError } from './errors.js';
import { ErrorReply } from './schemas.js';
import { changesSomething, crossSiteReason, sessionIdOf } from './session-cookie.js';

export interface RateLimits {
  readonly enabled: boolean;
  readonly windowMs: number;
  readonly perToken: number;
  readonly perIp: number;
}

export interface AuthDeps {
  readonly tokens: TokenStore;
  /** Users' sign-in sessions (the `wanji_session` cookie). */
  readonly users: UserStore;
  readonly audit: AuditLog;
  readonly rateLimit: RateLimits;
  /** Routes under this prefix (the OpenAPI document and its browser) are public. */
  readonly docsPrefix: string;
}

/** `isAllowed` means "on the allow list"; `isExceeded` is the verdict (@fastify/rate-limit). */
type Limiter = (
  req: FastifyRequest,
) => Promise<{ isAllowed: true } | { isAllowed: false; isExceeded: boolean; ttlInSeconds: number }>;

const REALM = 'Bearer realm="wanji"';
const NO_QUERY = Type.Object({}, { additionalProperties: false });
const BEARER = /^Bearer +(\S{1,512})$/i;

/** Which roles an access level admits, for the OpenAPI description of each route. */
export function rolesFor(access: Access): string {
  return access === 'public' ? 'anyone' : ROLES.filter((r) => mayAccess(r, access)).join(', ');
}

/** What a route declared, with what the auth hook added (its default querystring schema). */
export interface RouteDeclaration {
  readonly method: string;
  readonly url: string;
  readonly access: Access | undefined;
  readonly schema: Readonly<Record<string, unknown>>;
}

/** The route options as onRoute saw them; read later, after the hook completed them. */
interface Declared {
  readonly method: string;
  readonly url: string;
  readonly route: { readonly config?: { readonly access?: Access }; readonly schema?: object };
}

const DECLARED = new WeakMap<FastifyInstance, Declared[]>();

/** Every route of an API built with installAuth (for the test that walks them all). */
export function declaredRoutes(app: FastifyInstance): readonly RouteDeclaration[] {
  return (DECLARED.get(app) ?? []).map(({ method, url, route }) => ({
    method,
    url,
    access: route.config?.access,
    schema: { ...route.schema },
  }));
}

export function installAuth(app: FastifyInstance, deps: AuthDeps): void {
  const { tokens, users, audit, rateLimit, docsPrefix } = deps;
  const declared: Declared[] = [];
  DECLARED.set(app, declared);

  app.decorateRequest('principal', undefined);

  // Runs before the OpenAPI plugin's own onRoute hook, so the document shows what is set here.
  app.addHook('onRoute', (route) => {
    const url = route.url ?? route.path;
    const docs = url === docsPrefix || url.startsWith(`${docsPrefix}/`);
    if (docs) route.config = { ...route.config, access: route.config?.access ?? 'public' };
    for (const method of [route.method].flat()) declared.push({ method, url, route });
    const access = route.config?.access;
    if (docs) return;
    if (access === undefined || !ACCESS_LEVELS.includes(access)) return; // refused per request
    const schema = route.schema ?? {};
    const response = (schema.response ?? {}) as Record<string, unknown>;
    route.schema = {
      ...schema,
      // A route that takes no parameters refuses them (400) rather than ignoring them.
      querystring: schema.querystring ?? NO_QUERY,
      ...(access === 'public' ? { security: [] } : {}),
      description: `${schema.description === undefined ? '' : `${schema.description}\n\n`}Access: **${access}** (${rolesFor(access)}).`,
      response: {
        ...(access === 'public' ? {} : { 401: ErrorReply, 403: ErrorReply }),
        429: ErrorReply,
        ...response,
      },
    };
  });

  let limiters: { token: Limiter; ip: Limiter } | undefined;
  // The rate-limit plugin decorates the instance when it loads, after this runs: made on first use.
  const limiter = (kind: 'token' | 'ip'): Limiter => {
    limiters ??= {
      token: app.createRateLimit({
        max: rateLimit.perToken,
        timeWindow: rateLimit.windowMs,
        keyGenerator: (req) => `token:${req.principal?.tokenId ?? '?'}`,
      }),
      ip: app.createRateLimit({
        max: rateLimit.perIp,
        timeWindow: rateLimit.windowMs,
        // An IPv6 client counts as its /64, so it cannot dodge the limit by rotating addresses.
        keyGenerator: (req) => `ip:${sourceKey(req.ip)}`,
      }),
    };
    return limiters[kind];
  };

  /** False (and the 429 sent) when the caller is over its limit. */
  const withinLimit = async (kind: 'token' | 'ip', req: FastifyRequest, reply: FastifyReply) => {
    if (!rateLimit.enabled) return true;
    const r = await limiter(kind)(req);
    if (r.isAllowed || !r.isExceeded) return true;
    const retry = Math.max(1, r.ttlInSeconds);
    req.log.warn(
      { reason: `over the ${kind} rate limit`, actor: actorOf(req), ip: req.ip, path: pathOf(req) },
      'API request refused',
    );
    await sendError(
      reply.header('retry-after', String(retry)),
      429,
      'WANJI_E_API_RATE_LIMITED',
      `too many requests; retry in ${retry} s`,
    );
    return false;
  };

  const refuse = async (
    req: FastifyRequest,
    reply: FastifyReply,
    r: {
      status: 401 | 403;
      action: string;
      actor: string;
      reason: string;
      message: string;
      code?: 'WANJI_E_CROSS_SITE';
    },
  ): Promise<void> => {
    const target = `${req.method} ${req.routeOptions.url ?? pathOf(req)}`;
    req.log.warn({ reason: r.reason, actor: r.actor, ip: req.ip, target }, 'API request refused');
    audit.record({
      actor: r.actor,
      action: r.action,
      target,
      outcome: 'refused',
      source: req.ip,
      detail: { reason: r.reason },
    });
    if (r.status === 401) {
      const error = r.reason === 'no token' ? '' : ', error="invalid_token"';
      reply.header('www-authenticate', `${REALM}${error}`);
      await sendError(reply, 401, 'WANJI_E_API_UNAUTHORIZED', r.message);
    } else {
      await sendError(reply, 403, r.code ?? 'WANJI_E_API_FORBIDDEN', r.message);
    }
  };

  /** A request without an Authorization header but with a session cookie. */
  const viaSession = async (req: FastifyRequest, reply: FastifyReply, access: Access, sessionId: string) => {
    const s = users.session(sessionId);
    if (!s.ok) {
      if (access === 'public' && req.routeOptions.config.rateLimit === false) return;
      if (!(await withinLimit('ip', req, reply))) return;
      if (access === 'public') return; // signed out: an anonymous request
      return refuse(req, reply, {
        status: 401,
        action: 'access',
        actor: 'anonymous',
        reason: `session: ${s.reason}`,
        message:
          'the sign-in session has ended (signed out, expired, or its user disabled or deleted); sign in again',
      });
    }
    req.principal = s.principal;
    if (changesSomething(req.method)) {
      const why = crossSiteReason(req);
      if (why !== undefined) {
        return refuse(req, reply, {
          status: 403,
          code: 'WANJI_E_CROSS_SITE',
          action: 'access',
          actor: actorOf(req),
          reason: `cross-site request with the session cookie: ${why}`,
          message:
            "a change sent with the session cookie must come from the hub's own pages; programs send a bearer token",
        });
      }
    }
    if (!(await withinLimit('token', req, reply))) return;
    if (!mayAccess(s.principal.role, access)) {
      return refuse(req, reply, {
        status: 403,
        action: 'access',
        actor: actorOf(req),
        reason: `role ${s.principal.role} may not reach ${access} routes`,
        message: `a ${s.principal.role} user may not use this route (it needs ${rolesFor(access)})`,
      });
    }
  };

  app.addHook('onRequest', async (req, reply) => {
    // Unknown paths: no token needed to learn that nothing is there, but they count per address.
    if (req.is404) {
      await withinLimit('ip', req, reply);
      return;
    }
    const access = req.routeOptions.config.access;
    if (access === undefined || !ACCESS_LEVELS.includes(access)) {
      req.log.error({ route: req.routeOptions.url }, 'route declares no access level; refused');
      return refuse(req, reply, {
        status: 403,
        action: 'access',
        actor: 'anonymous',
        reason: 'the route declares no access level',
        message: 'this route is closed: it declares no access level',
      });
    }
    const header = req.headers.authorization;
    // A bearer token wins over the cookie: a program's request is the token's, whatever it carries.
    const sessionId = header === undefined ? sessionIdOf(req) : undefined;
    if (sessionId !== undefined) return viaSession(req, reply, access, sessionId);
    if (header === undefined) {
      if (access === 'public' && req.routeOptions.config.rateLimit === false) return;
      if (!(await withinLimit('ip', req, reply))) return;
      if (access === 'public') return;
      return refuse(req, reply, {
        status: 401,
        action: 'access',
        actor: 'anonymous',
        reason: 'no token',
        message: 'this route needs a bearer token: Authorization: Bearer wj_…',
      });
    }
    const bearer = BEARER.exec(header)?.[1];
    // Only a token already verified in this process skips the per-address limit: guessing
    // (which costs a scrypt each) is bounded by it.
    if (bearer === undefined || !tokens.isCached(bearer)) {
      if (!(await withinLimit('ip', req, reply))) return;
    }
    if (bearer === undefined) {
      return refuse(req, reply, {
        status: 401,
        action: 'login',
        actor: 'anonymous',
        reason: 'malformed authorization header',
        message: 'the Authorization header must be "Bearer wj_…"',
      });
    }
    const v = await tokens.verify(bearer);
    if (!v.ok) {
      return refuse(req, reply, {
        status: 401,
        action: 'login',
        actor: v.tokenId === undefined ? 'anonymous' : `token:${v.tokenId}`,
        reason: v.reason,
        message: 'the bearer token is not valid (unknown, revoked, expired or mistyped)',
      });
    }
    req.principal = v.principal;
    if (v.firstUse) {
      audit.record({
        actor: actorOf(req),
        action: 'login',
        target: v.principal.tokenId,
        outcome: 'ok',
        source: req.ip,
        detail: { name: v.principal.name, role: v.principal.role },
      });
      req.log.info({ actor: actorOf(req), role: v.principal.role, ip: req.ip }, 'API token login');
    }
    if (!(await withinLimit('token', req, reply))) return;
    if (!mayAccess(v.principal.role, access)) {
      return refuse(req, reply, {
        status: 403,
        action: 'access',
        actor: actorOf(req),
        reason: `role ${v.principal.role} may not reach ${access} routes`,
        message: `a ${v.principal.role} token may not use this route (it needs ${rolesFor(access)})`,
      });
    }
  });
}

/**
 * For a handler that found an object outside the caller's scope: logged and audited as a
 * refusal, answered exactly like a missing object (404 with `message`), so a scoped token
 * cannot learn that it exists.
 */
export function outOfScope(audit: AuditLog, req: FastifyRequest, target: string, message: string): HubError {
  req.log.warn(
    { reason: 'outside the scope', actor: actorOf(req), target, ip: req.ip },
    'API request refused',
  );
  audit.record({
    actor: actorOf(req),
    action: 'access',
    target: target.slice(0, 200),
    outcome: 'refused',
    source: req.ip,
    detail: { reason: 'outside the scope', route: `${req.method} ${req.routeOptions.url ?? ''}` },
  });
  noteScopeRefusalAudited(req); // the error handler's audit of scoped 404s (errors.ts) skips it
  return new HubError('WANJI_E_API_NOT_FOUND', message);
}
