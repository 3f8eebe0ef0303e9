/**
 * Signing in and out of the web app (docs/api.md, "Signing in"): access `public`, since a
 * caller signs in before it is anyone. The user store throttles and audits sign-ins; a failed
 * one reads the same whether the name or the password was wrong.
 */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import type { Principal } from '../../security/roles.js';
import { sessionUser } from '../../security/users.js';
import { ACCESS_LEVELS, mayAccess } from '../access.js';
import type { RouteDeps } from '../deps.js';
import { actorOf, sendError } from '../errors.js';
import { ErrorReply } from '../schemas.js';
import { SessionReply, SignInBody } from '../schemas-users.js';
import { clearSessionCookie, crossSiteReason, sessionIdOf, setSessionCookie } from '../session-cookie.js';

export function sessionJson(p: Principal) {
  return {
    name: p.name,
    role: p.role,
    regions: [...p.regions],
    enterprise: p.enterprise ?? null,
    via: sessionUser(p) === undefined ? ('token' as const) : ('session' as const),
    // What the role reaches (access.ts), so the web app offers only that, from one table.
    access: ACCESS_LEVELS.filter((a) => a !== 'public' && mayAccess(p.role, a)),
  };
}

const SIGN_IN_FAILED = 'wrong user name or password';

export function sessionRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { users, audit } = deps;

  app.post<{ Body: SignInBody }>(
    '/api/v1/session',
    {
      config: { access: 'public', action: 'login' },
      schema: {
        summary: 'sign in with a user name and password; sets the wanji_session cookie',
        body: SignInBody,
        response: { 200: SessionReply, 400: ErrorReply, 401: ErrorReply, 403: ErrorReply, 415: ErrorReply },
      },
    },
    async (req, reply) => {
      // A browser says where the form was: a sign-in from another site's page is refused, so no
      // page elsewhere can sign a visitor in as someone else. Programs send neither header.
      const browser = req.headers.origin !== undefined || req.headers['sec-fetch-site'] !== undefined;
      const crossSite = browser ? crossSiteReason(req) : undefined;
      if (crossSite !== undefined) {
        req.log.warn({ reason: crossSite, ip: req.ip }, 'sign-in refused: cross-site');
        audit.record({
          actor: 'anonymous',
          action: 'login',
          outcome: 'refused',
          source: req.ip,
          detail: { reason: `cross-site: ${crossSite}`, via: 'session' },
        });
        return sendError(reply, 403, 'WANJI_E_CROSS_SITE', "sign in from the hub's own page");
      }
      const r = await users.signIn(req.body.name, req.body.password, req.ip);
      if (!r.ok && r.reason === 'locked') {
        const retry = Math.max(1, Math.ceil(r.retryInMs / 1000));
        req.log.warn({ reason: 'too many failed sign-ins', limit: r.limit, ip: req.ip }, 'sign-in refused');
        return sendError(
          reply.header('retry-after', String(retry)),
          429,
          'WANJI_E_SIGN_IN_LOCKED',
          `too many failed sign-ins ${r.limit === 'user' ? 'for this user name from this address' : 'from this address'}; retry in ${retry} s`,
        );
      }
      if (!r.ok) {
        // The name is logged only when it exists: an unknown one may be a password typed in the wrong field.
        req.log.warn(
          { reason: r.reason, ...(r.reason === 'unknown user' ? {} : { user: req.body.name }), ip: req.ip },
          'sign-in refused',
        );
        return sendError(reply, 401, 'WANJI_E_SIGN_IN_FAILED', SIGN_IN_FAILED);
      }
      // A sign-in over a session replaces it.
      const previous = sessionIdOf(req);
      if (previous !== undefined) users.signOut(previous, req.ip);
      setSessionCookie(reply, req, r.sessionId, users.absoluteMs);
      req.log.info({ user: r.principal.name, role: r.principal.role, ip: req.ip }, 'user signed in');
      return sessionJson(r.principal);
    },
  );

  app.get(
    '/api/v1/session',
    {
      config: { access: 'public' },
      schema: {
        summary: 'who the caller is: the signed-in user, or the bearer token',
        response: { 200: SessionReply, 401: ErrorReply },
      },
    },
    async (req, reply) => {
      if (req.principal === undefined) {
        return sendError(reply, 401, 'WANJI_E_API_UNAUTHORIZED', 'not signed in');
      }
      return sessionJson(req.principal);
    },
  );

  app.delete(
    '/api/v1/session',
    {
      config: { access: 'public', action: 'logout' },
      schema: {
        summary: 'sign out: ends the session at once and clears the cookie',
        response: { 204: Type.Null({ description: 'signed out (or was not signed in)' }) },
      },
    },
    async (req, reply) => {
      const id = sessionIdOf(req);
      if (id !== undefined && users.signOut(id, req.ip)) {
        req.log.info({ actor: actorOf(req), ip: req.ip }, 'user signed out');
      }
      clearSessionCookie(reply, req);
      return reply.status(204).send();
    },
  );
}
