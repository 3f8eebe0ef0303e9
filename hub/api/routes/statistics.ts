/**
 * The programme's statistics (docs/statistics.md): every figure by enterprise, region,
 * industry and city, state time and utilisation, daily snapshots and their trends, exports,
 * and the reports child hubs forward. Aggregates only: narrowed to the caller's scope.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HubError } from '../../errors.js';
import { localDay } from '../../registry/days.js';
import { enterpriseSummary, StatisticsQuery } from '../../stats/enterprise-summary.js';
import {
  EnterpriseDaysReply,
  MachineDaysReply,
  SnapshotReply,
  StateTimeQuery,
  StatisticsReply,
  TrendQuery,
  TrendReply,
} from '../../stats/schemas.js';
import { takeSnapshot, trend } from '../../stats/snapshot.js';
import { enterpriseDays, machineDays } from '../../stats/state-time.js';
import { computeStats } from '../../stats/stats.js';
import { inScope, scopeOf } from '../access.js';
import type { RouteDeps } from '../deps.js';
import { actorOf } from '../errors.js';
import { ErrorReply } from '../schemas.js';
import { childReportRoutes } from './child-reports.js';
import { statisticsExportRoutes } from './statistics-export.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

export function statisticsRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, clock, windows } = deps;
  const today = (): string => localDay(clock(), registry.utcOffsetMin);

  app.get<{ Querystring: StatisticsQuery }>(
    '/api/v1/statistics',
    {
      config: { access: 'aggregate' },
      schema: {
        summary:
          'every figure by city, region, industry and enterprise; all and backbone enterprises; declared beside measured (within the scope); enterprises=summary: the enterprise rankings and anomalies instead of every enterprise',
        querystring: StatisticsQuery,
        response: { 200: StatisticsReply, ...errors },
      },
    },
    async (req) => {
      const stats = computeStats(registry, clock(), windows, { scope: scopeOf(req.principal) });
      if (req.query.enterprises !== 'summary') return stats;
      // The rankings from the caller's own (scoped) enterprises; the list itself stays here.
      return {
        ...stats,
        byEnterprise: [],
        enterpriseSummary: enterpriseSummary(stats.byEnterprise, req.query.rank),
      };
    },
  );

  /** The query of a state-time route; an enterprise outside the caller's scope is a logged 404. */
  const dayQuery = (req: FastifyRequest<{ Querystring: StateTimeQuery }>) => {
    const scope = scopeOf(req.principal);
    const asked = req.query.enterprise;
    if (asked !== undefined) {
      const e = registry.enterprise(asked);
      if (!inScope(scope, asked, e?.regionCode ?? null)) {
        req.log.info({ actor: actorOf(req), enterprise: asked }, 'state time asked outside the scope');
        throw new HubError('WANJI_E_API_NOT_FOUND', `no enterprise "${asked}"`);
      }
    }
    return {
      day: req.query.day ?? today(),
      now: clock(),
      windows,
      scope,
      ...(asked === undefined ? {} : { enterprise: asked }),
    };
  };

  app.get<{ Querystring: StateTimeQuery }>(
    '/api/v1/statistics/state-time',
    {
      config: { access: 'aggregate' },
      schema: {
        summary:
          'time in each machine state and utilisation (稼动率) per enterprise, for one local day (default today)',
        querystring: StateTimeQuery,
        response: { 200: EnterpriseDaysReply, ...errors },
      },
    },
    async (req) => {
      const q = dayQuery(req);
      return { day: q.day, enterprises: enterpriseDays(machineDays(registry, q)) };
    },
  );

  app.get<{ Querystring: StateTimeQuery }>(
    '/api/v1/statistics/state-time/machines',
    {
      config: { access: 'fleet' },
      schema: {
        summary: 'time in each state and utilisation per machine, for one local day (default today)',
        querystring: StateTimeQuery,
        response: { 200: MachineDaysReply, ...errors },
      },
    },
    async (req) => {
      const q = dayQuery(req);
      return { day: q.day, machines: machineDays(registry, q) };
    },
  );

  app.post(
    '/api/v1/statistics/snapshots',
    {
      config: { access: 'manage', action: 'statistics.snapshot' },
      schema: {
        summary: "take today's snapshot now (replaced by later ones of the same day and by the midnight one)",
        response: { 200: SnapshotReply, ...errors },
      },
    },
    async (req) => {
      const r = takeSnapshot(registry, clock(), windows);
      deps.audit.record({
        actor: actorOf(req),
        action: 'statistics.snapshot',
        target: r.day,
        outcome: 'ok',
        source: req.ip,
        detail: { rows: r.rows },
      });
      return r;
    },
  );

  app.get<{ Querystring: TrendQuery }>(
    '/api/v1/statistics/trend',
    {
      config: { access: 'aggregate' },
      schema: {
        summary: 'daily snapshots of one level (and code), oldest first (within the scope)',
        querystring: TrendQuery,
        response: { 200: TrendReply, ...errors },
      },
    },
    async (req) => {
      const { figures, ...q } = req.query;
      // Only the figures asked for (read so by the store): a sparkline of 1,000 enterprises needs one or two of ~30.
      const snapshots = trend(registry, {
        ...q,
        scope: scopeOf(req.principal),
        ...(figures === undefined ? {} : { figures: [...new Set(figures.split(','))] }),
      });
      return { snapshots };
    },
  );

  statisticsExportRoutes(app, deps);
  childReportRoutes(app, deps);
}
