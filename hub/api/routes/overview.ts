/** The dashboard page, health, and the programme's aggregates (statistics, enterprises and their rates). */
import { Type } from '@sinclair/typebox';
import type { FastifyInstance } from 'fastify';
import { computeStats } from '../../stats/stats.js';
import { inScope, scopeOf } from '../access.js';
import { iso, type RouteDeps } from '../deps.js';
import { dashboardHtml } from '../page.js';
import { EnterpriseList, ErrorReply, HealthReply, StatsReply } from '../schemas.js';
import { unscoped } from '../scope.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

export function overviewRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, clock, windows } = deps;

  app.get(
    '/',
    {
      config: { access: 'public' },
      schema: {
        summary: 'the dashboard (HTML); it asks for a token and keeps it in the browser tab',
        querystring: Type.Object(
          { token: Type.Optional(Type.String({ description: "read by the page's script, not by the hub" })) },
          { additionalProperties: false },
        ),
        response: { 200: { type: 'string' } },
      },
    },
    async (_req, reply) => reply.type('text/html; charset=utf-8').send(dashboardHtml()),
  );

  app.get(
    '/healthz',
    {
      // Probes (load balancers, systemd, tests) poll it from one address; it reads counters only.
      config: { access: 'public', rateLimit: false },
      schema: { summary: 'component status and counters', response: { 200: HealthReply, 503: HealthReply } },
    },
    async (_req, reply) => {
      const h = deps.health();
      const ok = Object.values(h.components).every((c) => c.status === 'up');
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', ...h });
    },
  );

  app.get(
    '/api/v1/stats',
    {
      config: { access: 'aggregate' },
      schema: {
        summary: 'networked machines against the target, rates by region and industry (within the scope)',
        response: { 200: StatsReply, ...errors },
      },
    },
    // computeStats narrows every figure (totals, regions, industries, enterprises) to the scope.
    async (req) => computeStats(registry, clock(), windows, { scope: scopeOf(req.principal) }),
  );

  app.get(
    '/api/v1/enterprises',
    {
      config: { access: 'aggregate' },
      schema: {
        summary: 'enterprises with their declared ledger and measured rates (within the scope)',
        response: { 200: EnterpriseList, ...errors },
      },
    },
    async (req) => {
      const now = clock();
      const scope = scopeOf(req.principal);
      const activity = new Map(
        registry
          .activityByEnterprise(now - windows.networkingMs, now - windows.onlineMs)
          .map((a) => [a.enterprise, a]),
      );
      const visible = registry
        .enterprises()
        .filter((e) => unscoped(scope) || inScope(scope, e.code, e.regionCode));
      return {
        enterprises: visible.map((e) => {
          const a = activity.get(e.code);
          const p = e.ledger.productionEquipment;
          const networked = a?.networked ?? 0;
          return {
            code: e.code,
            name: e.name,
            region: e.regionCode,
            industry: e.industryCode,
            backbone: e.backbone,
            ledger: e.ledger,
            declaredBy: e.declaredBy,
            declaredAt: iso(e.declaredAt),
            machines: a?.machines ?? 0,
            networked,
            online: a?.online ?? 0,
            networkingRate: p > 0 ? networked / p : null,
            ncRate: p > 0 ? e.ledger.ncEquipment / p : null,
          };
        }),
      };
    },
  );
}
