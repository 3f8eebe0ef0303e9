/**
 * The reports child hubs forward (docs/statistics.md, "Several hubs"): posted by a child-hub
 * token within its scope, listed by an operator, deleted by an admin. hub/stats/child-report.ts
 * checks them; hub/stats/children.ts keeps and audits them.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HubError } from '../../errors.js';
import { ChildReportSchema, DEFAULT_REPORT_LIMITS, type ReportLimits } from '../../stats/child-report.js';
import {
  acceptChildReport,
  ChildReportRefused,
  deleteChildReport,
  listChildReports,
  logUnusableChildReports,
} from '../../stats/children.js';
import { ChildReportReply } from '../../stats/schemas.js';
import type { RouteDeps } from '../deps.js';
import { actorOf, sendError } from '../errors.js';
import { ErrorReply } from '../schemas.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };
const Time = Type.String({ format: 'date-time' });

const ChildReportItem = Type.Object({
  hubId: Type.String(),
  receivedAt: Type.Union([Time, Type.Null()]),
  generatedAt: Type.Union([Time, Type.Null()]),
  enterprises: Type.Union([Type.Integer(), Type.Null()]),
  status: Type.Union([Type.Literal('counted'), Type.Literal('stale'), Type.Literal('unusable')], {
    description:
      'counted: in the figures; stale: in the figures but older than limits.maxPastMs; unusable: left out of the figures (see reason)',
  }),
  reason: Type.Optional(Type.String()),
});
const ChildReportList = Type.Object({ children: Type.Array(ChildReportItem) });
// Long enough to name (and delete) a row an older version stored with an over-long id.
const ChildHubParams = Type.Object({ hubId: Type.String({ minLength: 1, maxLength: 1_000 }) });
type ChildHubParams = Static<typeof ChildHubParams>;

export function childReportRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, clock } = deps;
  const limits: ReportLimits = { ...DEFAULT_REPORT_LIMITS, ...deps.limits };
  logUnusableChildReports(registry, deps.logger);
  const by = (req: FastifyRequest) => ({ actor: actorOf(req), source: req.ip });

  app.post(
    '/api/v1/statistics/children',
    {
      config: { access: 'child-report', action: 'statistics.child-report' },
      // A city's enterprises with their ledgers and counts: a few MB at most.
      bodyLimit: 16 * 1_048_576,
      schema: {
        summary:
          "a child hub's aggregates (sent by its parent forwarder with a child-hub token); they replace the child's previous report and the parent's statistics include them",
        body: ChildReportSchema,
        response: { 200: ChildReportReply, ...errors, 409: ErrorReply },
      },
    },
    async (req, reply) => {
      const p = req.principal;
      if (p?.role !== 'child-hub' || p.hubId === undefined) {
        // The auth hook admits only child-hub tokens; a token without its hub id is refused.
        return sendError(reply, 403, 'WANJI_E_API_FORBIDDEN', 'only a child-hub token may post a report');
      }
      try {
        const r = acceptChildReport(registry, req.body, {
          ...by(req),
          scope: { hubId: p.hubId, regions: p.regions, enterprises: p.enterprises ?? [] },
          limits,
        });
        req.log.info(
          { actor: actorOf(req), hubId: r.hubId, enterprises: r.report.enterprises.length },
          'child report accepted',
        );
        return {
          hubId: r.hubId,
          receivedAt: new Date(r.receivedAt).toISOString(),
          enterprises: r.report.enterprises.length,
        };
      } catch (err) {
        // Refused and audited by acceptChildReport; logged here with the reason.
        if (!(err instanceof ChildReportRefused)) throw err;
        req.log.warn({ code: err.code, reason: err.message, actor: actorOf(req) }, 'child report refused');
        return sendError(reply, err.status, err.code, err.message);
      }
    },
  );

  app.get(
    '/api/v1/statistics/children',
    {
      config: { access: 'manage' },
      schema: {
        summary:
          "every child hub's stored report: counted, stale, or unusable (left out of the figures) and why",
        response: { 200: ChildReportList, ...errors },
      },
    },
    async () => ({ children: listChildReports(registry, clock(), limits) }),
  );

  app.delete<{ Params: ChildHubParams }>(
    '/api/v1/statistics/children/:hubId',
    {
      config: { access: 'admin', action: 'statistics.child-report.delete' },
      schema: {
        summary:
          "delete a child hub's stored report: its enterprises leave the figures until it reports again",
        params: ChildHubParams,
        response: { 200: ChildReportItem, ...errors },
      },
    },
    async (req, reply) => {
      try {
        const held = deleteChildReport(registry, req.params.hubId, by(req), limits);
        req.log.info({ actor: actorOf(req), hubId: held.hubId }, 'child report deleted');
        return held;
      } catch (err) {
        // deleteChildReport audits its own refusal; the error handler must not audit it again.
        if (err instanceof HubError && err.code === 'WANJI_E_API_NOT_FOUND') {
          req.log.warn({ actor: actorOf(req), reason: err.message }, 'child report delete refused');
          return sendError(reply, 404, err.code, err.message);
        }
        throw err;
      }
    },
  );
}
