/** Health, and the programme's aggregates (statistics, enterprises and their rates). */
import type { FastifyInstance } from 'fastify';
import { officialCount } from '../../stats/figures.js';
import { activityOf, computeStats } from '../../stats/stats.js';
import { inScope, scopeOf } from '../access.js';
import { iso, type RouteDeps } from '../deps.js';
import { EnterpriseList, ErrorReply, HealthReply, StatsReply } from '../schemas.js';
import { unscoped } from '../scope.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

export function overviewRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, clock, windows } = deps;

  app.get(
    '/healthz',
    {
      // Probes (load balancers, systemd, tests) poll it from one address; it reads counters only.
      config: { access: 'public', rateLimit: false },
      schema: {
        summary:
          'component status and counters: 503 when a component is down, 200 (degraded) when one is degraded',
        response: { 200: HealthReply, 503: HealthReply },
      },
    },
    async (_req, reply) => {
      const h = deps.health();
      const parts = Object.entries(h.components);
      // Degraded (a gateway's bad rows refused persistently, the rest applied) keeps 200: a
      // probe that restarts the hub on 503 must not be something one gateway can trigger.
      const down = parts.some(([, c]) => c.status !== 'up' && c.status !== 'degraded');
      const reasons = parts
        .filter(([, c]) => c.status !== 'up')
        .map(([name, c]) => `${name}: ${c.status}${c.detail === undefined ? '' : ` (${c.detail})`}`);
      return reply
        .status(down ? 503 : 200)
        .send({ status: reasons.length === 0 ? 'ok' : 'degraded', reasons, ...h });
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
          // Counted as the statistics count it: capped by the ledger (docs/statistics.md).
          const a = activity.get(e.code);
          const c = officialCount(e.ledger, activityOf(a), a?.networkedUnconfirmed ?? 0);
          const p = e.ledger.productionEquipment;
          const networked = c.networked;
          return {
            code: e.code,
            name: e.name,
            region: e.regionCode,
            industry: e.industryCode,
            backbone: e.backbone,
            ledger: e.ledger,
            declaredBy: e.declaredBy,
            declaredAt: iso(e.declaredAt),
            machines: c.machines,
            networked,
            networkedMeasured: c.networkedMeasured,
            beyondLedger: c.beyondLedger,
            exceedsLedger: c.exceedsLedger,
            online: c.online,
            networkingRate: p > 0 ? networked / p : null,
            ncRate: p > 0 ? e.ledger.ncEquipment / p : null,
          };
        }),
      };
    },
  );
}
