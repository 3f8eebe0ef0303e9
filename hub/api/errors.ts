/**
 * How the API answers errors: `{ statusCode, code: "WANJI_E_…", error, message }`, one shape for
 * every refusal, logged with its reason. Refusals of a route that changes something (it names
 * its audit `action` in its config) are audited too, and so is a 404 answered to a token with
 * a limited scope (enterprise, regional bureau) for an enterprise outside it, whichever route
 * answered it, so that no route can forget to (docs/api.md).
 */
import { STATUS_CODES } from 'node:http';
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { WanjiError, type WanjiErrorCode } from '../../protocol/errors.js';
import { HubError } from '../errors.js';
import type { AuditLog } from '../security/audit.js';
import { TokenError } from '../security/tokens.js';
import { sessionUser, UserError } from '../security/users.js';
import { inScope, scopeOf } from './access.js';
import { setDataReplyHeaders } from './headers.js';
import { unscoped } from './scope.js';

export type ApiErrorCode =
  | 'WANJI_E_API_UNAUTHORIZED'
  | 'WANJI_E_API_FORBIDDEN'
  | 'WANJI_E_API_RATE_LIMITED'
  | 'WANJI_E_API_BODY_TOO_LARGE'
  | 'WANJI_E_API_BAD_BODY'
  | 'WANJI_E_API_UNSUPPORTED_MEDIA_TYPE'
  | 'WANJI_E_API_REQUEST';

/** An error the API answers with its own status. */
export class ApiError extends WanjiError<ApiErrorCode> {
  readonly statusCode: number;
  constructor(statusCode: number, code: ApiErrorCode, message: string) {
    super(code, message);
    this.name = 'ApiError';
    this.statusCode = statusCode;
  }
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  WANJI_E_API_VALIDATION: 400,
  WANJI_E_API_BAD_TIME: 400,
  WANJI_E_API_NOT_FOUND: 404,
  WANJI_E_TOKEN_INVALID: 400,
  WANJI_E_TOKEN_NOT_FOUND: 404,
  WANJI_E_USER_INVALID: 400,
  WANJI_E_USER_EXISTS: 409,
  WANJI_E_USER_NOT_FOUND: 404,
};

/** fastify's own request errors, with the code the API answers them with. */
const FASTIFY_CODES: Readonly<Record<string, [number, ApiErrorCode]>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: [413, 'WANJI_E_API_BODY_TOO_LARGE'],
  FST_ERR_CTP_INVALID_JSON_BODY: [400, 'WANJI_E_API_BAD_BODY'],
  FST_ERR_CTP_EMPTY_JSON_BODY: [400, 'WANJI_E_API_BAD_BODY'],
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: [400, 'WANJI_E_API_BAD_BODY'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: [415, 'WANJI_E_API_UNSUPPORTED_MEDIA_TYPE'],
};

/**
 * Errors fastify meets before a route is found (a malformed URL, a path parameter over the
 * router's length limit): answered in the API's shape and logged.
 */
export function frameworkError(
  audit: AuditLog,
  err: FastifyError,
  req: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = typeof err.statusCode === 'number' && err.statusCode < 500 ? err.statusCode : 400;
  req.log.warn(
    { code: 'WANJI_E_API_REQUEST', reason: err.code, method: req.method, path: pathOf(req), ip: req.ip },
    'API request refused',
  );
  // No route, so no token check and no rate limit yet: only attempted changes are audited.
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    audit.record({
      actor: 'anonymous',
      action: 'access',
      target: `${req.method} ${pathOf(req)}`,
      outcome: 'refused',
      source: req.ip,
      detail: { reason: err.code, status },
    });
  }
  setDataReplyHeaders(reply);
  void sendError(reply, status, 'WANJI_E_API_REQUEST', `the request URL is not usable (${err.code})`);
}

/** The actor of a request, for the log and the audit: `token:<id>`, `user:<name>` or `anonymous`. */
export function actorOf(req: FastifyRequest): string {
  if (req.principal === undefined) return 'anonymous';
  const user = sessionUser(req.principal);
  return user === undefined ? `token:${req.principal.tokenId}` : `user:${user}`;
}

/** The path without the query, cut short: never a whole (possibly hostile) URL in a log. */
export function pathOf(req: FastifyRequest): string {
  const path = req.url.split('?')[0] ?? '';
  return path.length > 200 ? `${path.slice(0, 200)}…` : path;
}

/** Requests whose out-of-scope refusal was audited already where it was found (auth.ts outOfScope). */
const scopeRefusalsAudited = new WeakSet<FastifyRequest>();

/** Notes that the request's out-of-scope refusal is in the audit log, so it is not written twice. */
export function noteScopeRefusalAudited(req: FastifyRequest): void {
  scopeRefusalsAudited.add(req);
}

/** Where the API looks up an enterprise's region, to tell a hidden object from a missing one. */
export interface ScopeLookup {
  /** The region of a declared enterprise; undefined when there is none with that code. */
  enterpriseRegion(code: string): string | null | undefined;
}

/** The enterprise codes a request names: path `:enterprise`, `:group`, `:code`, query `enterprise`. */
function enterprisesNamed(req: FastifyRequest): string[] {
  const named: string[] = [];
  for (const bag of [req.params, req.query]) {
    if (typeof bag !== 'object' || bag === null) continue;
    const b = bag as Record<string, unknown>;
    const keys = bag === req.params ? ['enterprise', 'group', 'code'] : ['enterprise'];
    for (const k of keys) if (typeof b[k] === 'string') named.push(b[k]);
  }
  return named;
}

/**
 * A 404 answered to a token with a limited scope, for a request that names an enterprise that
 * exists outside that scope: audited as an `access` refusal, whichever route answered it (a
 * route may also have audited it itself, with outOfScope: then it is not written twice). A
 * 404 for something that does not exist at all gets the same answer and no entry.
 */
function auditOutOfScopeNotFound(
  audit: AuditLog,
  lookup: ScopeLookup | undefined,
  req: FastifyRequest,
  reason: string,
): void {
  if (lookup === undefined || scopeRefusalsAudited.has(req)) return;
  const scope = scopeOf(req.principal);
  if (unscoped(scope)) return;
  const hidden = enterprisesNamed(req).find((code) => {
    const region = lookup.enterpriseRegion(code);
    return region !== undefined && !inScope(scope, code, region);
  });
  if (hidden === undefined) return;
  scopeRefusalsAudited.add(req);
  req.log.warn(
    { reason: 'outside the scope', actor: actorOf(req), target: `enterprise ${hidden}`, ip: req.ip },
    'API request refused',
  );
  audit.record({
    actor: actorOf(req),
    action: 'access',
    target: `enterprise ${hidden}`.slice(0, 200),
    outcome: 'refused',
    source: req.ip,
    detail: {
      reason: 'outside the scope',
      route: `${req.method} ${req.routeOptions.url ?? ''}`,
      status: 404,
      message: reason.slice(0, 200),
    },
  });
}

export function sendError(
  reply: FastifyReply,
  statusCode: number,
  code: WanjiErrorCode,
  message: string,
): FastifyReply {
  return reply
    .status(statusCode)
    .send({ statusCode, code, error: STATUS_CODES[statusCode] ?? 'Error', message });
}

/**
 * Answers a HubError whose code `statusOf` maps to a status (a refusal the store that raised it
 * has already audited), logged like every refusal; anything else is thrown on to the error handler.
 */
export function sendRefusal(
  err: unknown,
  req: FastifyRequest,
  reply: FastifyReply,
  statusOf: Readonly<Record<string, number>>,
): FastifyReply {
  const status = err instanceof HubError ? statusOf[err.code] : undefined;
  if (!(err instanceof HubError) || status === undefined) throw err;
  req.log.warn(
    {
      code: err.code,
      reason: err.message,
      actor: actorOf(req),
      method: req.method,
      path: pathOf(req),
      ip: req.ip,
    },
    'API request refused',
  );
  return sendError(reply, status, err.code, err.message);
}

function classify(err: FastifyError | Error): { status: number; code: WanjiErrorCode } {
  if ('validation' in err && err.validation !== undefined)
    return { status: 400, code: 'WANJI_E_API_VALIDATION' };
  if (err instanceof ApiError) return { status: err.statusCode, code: err.code };
  if (err instanceof HubError || err instanceof TokenError || err instanceof UserError) {
    return { status: STATUS_BY_CODE[err.code] ?? 500, code: err.code };
  }
  const known = 'code' in err && typeof err.code === 'string' ? FASTIFY_CODES[err.code] : undefined;
  if (known !== undefined) return { status: known[0], code: known[1] };
  const status = 'statusCode' in err && typeof err.statusCode === 'number' ? err.statusCode : 500;
  return status >= 400 && status < 500
    ? { status, code: 'WANJI_E_API_REQUEST' }
    : { status: 500, code: 'WANJI_E_API_INTERNAL' };
}

/**
 * The error and not-found handlers. With `scope`, a 404 for an enterprise outside a scoped
 * token's scope is audited on every route (auditOutOfScopeNotFound).
 */
export function installErrorHandlers(app: FastifyInstance, audit: AuditLog, scope?: ScopeLookup): void {
  app.setErrorHandler((err: FastifyError | Error, req, reply) => {
    const { status, code } = classify(err);
    if (status >= 500) {
      req.log.error({ err, method: req.method, path: pathOf(req) }, 'request failed');
      return sendError(reply, 500, code, 'internal error; see the hub log');
    }
    const reason = err.message.length > 500 ? `${err.message.slice(0, 500)}…` : err.message;
    req.log.warn(
      { code, reason, actor: actorOf(req), method: req.method, path: pathOf(req), ip: req.ip },
      'API request refused',
    );
    const action = req.routeOptions.config.action;
    if (status === 404 && code === 'WANJI_E_API_NOT_FOUND' && action === undefined) {
      auditOutOfScopeNotFound(audit, scope, req, reason);
    }
    // The token and user stores audit their own refusals; the rest of a change route's are audited here.
    if (action !== undefined && !(err instanceof TokenError) && !(err instanceof UserError)) {
      audit.record({
        actor: actorOf(req),
        action,
        outcome: 'refused',
        source: req.ip,
        detail: { status, code, reason },
      });
    }
    return sendError(reply, status, code, err.message);
  });

  app.setNotFoundHandler((req, reply) => {
    req.log.info({ method: req.method, path: pathOf(req), ip: req.ip }, 'API request for no route');
    return sendError(reply, 404, 'WANJI_E_API_NOT_FOUND', `no route ${req.method} ${pathOf(req)}`);
  });
}
