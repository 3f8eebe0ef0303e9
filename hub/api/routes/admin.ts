/** Tokens and the audit log: admin only. Each change is audited by the token store. */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { parseExpiry, type TokenRecord } from '../../security/tokens.js';
import { iso, isoOrNull, parseTime, type RouteDeps } from '../deps.js';
import { actorOf } from '../errors.js';
import { ErrorReply } from '../schemas.js';
import {
  AuditList,
  AuditQuery,
  TokenCreateBody,
  TokenCreated,
  TokenList,
  TokenParams,
} from '../schemas-security.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

export function tokenJson(t: TokenRecord, now: number) {
  return {
    id: t.id,
    name: t.name,
    role: t.role,
    enterprise: t.enterprise,
    regions: [...t.regions],
    hubId: t.hubId,
    enterprises: [...t.enterprises],
    status:
      t.revokedAt !== null
        ? ('revoked' as const)
        : t.expiresAt !== null && t.expiresAt <= now
          ? ('expired' as const)
          : ('active' as const),
    createdBy: t.createdBy,
    createdAt: iso(t.createdAt),
    expiresAt: isoOrNull(t.expiresAt),
    lastUsedAt: isoOrNull(t.lastUsedAt),
    revokedAt: isoOrNull(t.revokedAt),
  };
}

export function adminRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { tokens, audit, clock } = deps;
  const by = (req: FastifyRequest) => ({ actor: actorOf(req), source: req.ip });

  app.post<{ Body: TokenCreateBody }>(
    '/api/v1/tokens',
    {
      config: { access: 'admin', action: 'token.create' },
      schema: {
        summary: 'create a token; the reply shows it once',
        body: TokenCreateBody,
        response: { 201: TokenCreated, ...errors, 415: ErrorReply, 413: ErrorReply },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const now = clock();
      let expiresAt: number | undefined;
      try {
        expiresAt = b.expires === undefined ? undefined : parseExpiry(b.expires, now);
      } catch (err) {
        audit.record({
          ...by(req),
          action: 'token.create',
          outcome: 'refused',
          detail: { reason: (err as Error).message },
        });
        throw err;
      }
      const { token, record } = tokens.create(
        {
          role: b.role,
          ...(b.name === undefined ? {} : { name: b.name }),
          ...(b.enterprise === undefined ? {} : { enterprise: b.enterprise }),
          ...(b.regions === undefined ? {} : { regions: b.regions }),
          ...(b.hubId === undefined ? {} : { hubId: b.hubId }),
          ...(b.enterprises === undefined ? {} : { enterprises: b.enterprises }),
          ...(expiresAt === undefined ? {} : { expiresAt }),
        },
        by(req),
      );
      req.log.info({ actor: actorOf(req), token: record.id, role: record.role }, 'API token created');
      return reply.status(201).send({ token, record: tokenJson(record, now) });
    },
  );

  app.get(
    '/api/v1/tokens',
    {
      config: { access: 'admin' },
      schema: { summary: 'every token (never a secret)', response: { 200: TokenList, ...errors } },
    },
    async () => {
      const now = clock();
      return { tokens: tokens.list().map((t) => tokenJson(t, now)) };
    },
  );

  app.delete<{ Params: TokenParams }>(
    '/api/v1/tokens/:id',
    {
      config: { access: 'admin', action: 'token.revoke' },
      schema: {
        summary: 'revoke a token: refused from the next request on',
        params: TokenParams,
        response: { 200: TokenList.properties.tokens.items, ...errors },
      },
    },
    async (req) => {
      const record = tokens.revoke(req.params.id, by(req));
      req.log.info({ actor: actorOf(req), token: record.id }, 'API token revoked');
      return tokenJson(record, clock());
    },
  );

  app.get<{ Querystring: AuditQuery }>(
    '/api/v1/audit',
    {
      config: { access: 'admin' },
      schema: {
        summary: 'the audit log, newest first: logins, refusals and changes',
        querystring: AuditQuery,
        response: { 200: AuditList, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const since = parseTime('since', q.since);
      const until = parseTime('until', q.until);
      const entries = audit.list({
        limit: q.limit,
        ...(since === undefined ? {} : { since }),
        ...(until === undefined ? {} : { until }),
        ...(q.actor === undefined ? {} : { actor: q.actor }),
        ...(q.action === undefined ? {} : { action: q.action }),
        ...(q.outcome === undefined ? {} : { outcome: q.outcome }),
        ...(q.before === undefined ? {} : { beforeId: q.before }),
      });
      return { entries: entries.map((e) => ({ ...e, at: iso(e.at) })) };
    },
  );
}
