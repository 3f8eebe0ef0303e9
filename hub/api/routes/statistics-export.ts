/**
 * `GET /api/v1/statistics/export`: a statistics table as a file for people (docs/statistics.md
 * "Export"): in the caller's language, names before codes, 是/否, percentages, a total row,
 * and in XLSX a 说明 / About sheet. Narrowed to the caller's scope like every statistics route.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { localDay } from '../../registry/days.js';
import { type Table, toCsv, toXlsx } from '../../stats/export.js';
import { ExportQuery } from '../../stats/schemas.js';
import { trend } from '../../stats/snapshot.js';
import { machineDays } from '../../stats/state-time.js';
import { computeStats } from '../../stats/stats.js';
import {
  type AboutFacts,
  aboutSheet,
  type ExportLang,
  type ExportScope,
  type Names,
  stateTimeTable,
  statsTable,
  trendTable,
} from '../../stats/tables.js';
import { type Scope, scopeOf } from '../access.js';
import type { RouteDeps } from '../deps.js';
import { ErrorReply } from '../schemas.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

export function statisticsExportRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, clock, windows } = deps;

  /** Region and industry names in one language; a code the registry does not know stays a code. */
  const namesIn = (lang: ExportLang): Names => {
    const byCode = (list: readonly { code: string; nameZh: string; nameEn: string }[]) => {
      const m = new Map(list.map((x) => [x.code, lang === 'en' ? x.nameEn : x.nameZh]));
      return (code: string): string => m.get(code) ?? code;
    };
    return { region: byCode(registry.regions()), industry: byCode(registry.industries()) };
  };

  const exportScope = (scope: Scope, names: Names): ExportScope => {
    if (scope.enterprises !== undefined) {
      return {
        kind: 'enterprise',
        names: scope.enterprises.map((code) => {
          const name = registry.enterprise(code)?.name;
          return name === undefined ? code : `${name} (${code})`;
        }),
      };
    }
    if (scope.regions !== undefined) return { kind: 'regions', names: scope.regions.map(names.region) };
    return { kind: 'city' };
  };

  app.get<{ Querystring: ExportQuery }>(
    '/api/v1/statistics/export',
    {
      config: { access: 'aggregate' },
      schema: {
        summary:
          'a statistics table as CSV or XLSX for people, in zh-CN (default) or en, with a total row; XLSX adds an About sheet (within the scope)',
        querystring: ExportQuery,
        response: { 200: { type: 'string', description: 'the file' }, ...errors },
      },
    },
    async (req, reply) => {
      const q = req.query;
      const lang = q.lang;
      const now = clock();
      const today = localDay(now, registry.utcOffsetMin);
      const scope = scopeOf(req.principal);
      const names = namesIn(lang);
      const facts: Omit<AboutFacts, 'table'> = {
        now,
        utcOffsetMin: registry.utcOffsetMin,
        windows,
        scope: exportScope(scope, names),
        hubId: deps.hubId ?? 'wanji-hub',
      };
      let table: Table;
      let about: AboutFacts;
      if (q.table === 'state-time') {
        const day = q.day ?? today;
        const enterpriseName = (code: string): string => registry.enterprise(code)?.name ?? code;
        table = stateTimeTable(lang, machineDays(registry, { day, now, windows, scope }), enterpriseName);
        about = { ...facts, table: q.table, day };
      } else if (q.table === 'trend') {
        const asked = {
          level: q.level ?? 'city',
          ...(q.code === undefined ? {} : { code: q.code }),
          ...(q.from === undefined ? {} : { from: q.from }),
          ...(q.to === undefined ? {} : { to: q.to }),
        };
        table = trendTable(lang, trend(registry, { ...asked, scope }));
        about = { ...facts, table: q.table, trend: asked };
      } else {
        const s = computeStats(registry, now, windows, { scope });
        table = statsTable(lang, q.table, s, names);
        about = {
          ...facts,
          table: q.table,
          programme: { target: s.target, ...s.backboneTargets },
        };
      }
      return sendFile(
        reply,
        { ...table, about: aboutSheet(lang, about, table) },
        q.format,
        `wanji-${q.table}-${today}`,
      );
    },
  );
}

async function sendFile(reply: FastifyReply, table: Table, format: 'csv' | 'xlsx', base: string) {
  const name = `${base}.${format}`;
  void reply.header('content-disposition', `attachment; filename="${name}"`);
  if (format === 'csv') return reply.type('text/csv; charset=utf-8').send(toCsv(table));
  return reply
    .type('application/vnd.openxmlformats-officedocument.spreadsheetml.sheet')
    .send(await toXlsx(table));
}
