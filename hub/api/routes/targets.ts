/**
 * The programme's targets (docs/statistics.md, "Programme targets"): progress against every
 * quantified target of the action plan (aggregate, narrowed to the caller's scope: a county
 * sees its regions' own targets, never the city's), and the records behind them (manage,
 * audited): the targets themselves, digital workshop / smart factory and industrial internet
 * platform declarations, one by one or imported from CSV/XLSX.
 */
import type { Readable } from 'node:stream';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../../errors.js';
import type { DeclarationKind } from '../../registry/import-declarations.js';
import { importDeclarations } from '../../registry/import-recognitions.js';
import { ProgrammeRecords, platforms, recognitions, targets } from '../../registry/programme-records.js';
import { ImportErrorReply } from '../../registry/schemas.js';
import { childReports } from '../../stats/children.js';
import { programmeTargets } from '../../stats/targets.js';
import {
  DeclarationImportQuery,
  DeclarationImportReport,
  IdParams,
  PlatformBody,
  PlatformItem,
  PlatformList,
  RecognitionBody,
  RecognitionItem,
  RecognitionList,
  TargetBody,
  TargetItem,
  TargetKey,
  TargetList,
  TargetsReply,
} from '../../stats/targets-schemas.js';
import { inScope, scopeOf } from '../access.js';
import type { RouteDeps } from '../deps.js';
import { actorOf, sendRefusal } from '../errors.js';
import { ErrorReply } from '../schemas.js';
import { acceptUploads, drainRefusedUpload, readUpload, sendImportRefusal } from '../uploads.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };
/** Refusals the records and the import audited themselves, and their status. */
const STATUS: Readonly<Record<string, number>> = {
  WANJI_E_REGISTRY_PROGRAMME: 400,
  WANJI_E_API_NOT_FOUND: 404,
  WANJI_E_REGISTRY_IMPORT_FORMAT: 400,
  WANJI_E_REGISTRY_IMPORT_TOO_LARGE: 413,
};
const iso = (ms: number): string => new Date(ms).toISOString();

export function targetRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, clock, windows } = deps;
  const records = new ProgrammeRecords(registry);
  const by = (req: FastifyRequest) => ({ actor: actorOf(req), source: req.ip });
  const nameOf = (code: string): string | null => registry.enterprise(code)?.name ?? null;

  // Import bodies arrive as the file itself, in this plugin only.
  acceptUploads(app);

  app.get(
    '/api/v1/targets',
    {
      config: { access: 'aggregate' },
      schema: {
        summary:
          "every quantified target of the action plan with the caller's target, the current figure (declared 申报 / measured 监测) and a figure per year, within the caller's scope",
        response: { 200: TargetsReply, ...errors },
      },
    },
    async (req) => programmeTargets(registry, clock(), windows, scopeOf(req.principal)),
  );

  app.get(
    '/api/v1/targets/list',
    {
      config: { access: 'manage' },
      schema: {
        summary: 'every stored target (all regions and years)',
        response: { 200: TargetList, ...errors },
      },
    },
    async () => ({ targets: targets(registry).map((t) => ({ ...t, updatedAt: iso(t.updatedAt) })) }),
  );

  app.put<{ Body: TargetBody }>(
    '/api/v1/targets',
    {
      config: { access: 'manage', action: 'target.set' },
      schema: {
        summary: 'set a target (kind, region or the city, year or every year / no deadline, value); audited',
        body: TargetBody,
        response: { 200: TargetItem, ...errors },
      },
    },
    async (req, reply) => {
      try {
        const t = records.setTarget(req.body, by(req));
        return { ...t, updatedAt: iso(t.updatedAt) };
      } catch (err) {
        return sendRefusal(err, req, reply, STATUS);
      }
    },
  );

  app.delete<{ Querystring: TargetKey }>(
    '/api/v1/targets',
    {
      config: { access: 'manage', action: 'target.delete' },
      schema: {
        summary: 'delete a target (kind, region, year as it was set); audited',
        querystring: TargetKey,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      try {
        const q = req.query;
        records.deleteTarget(
          q.kind,
          q.region ?? null,
          q.year === undefined || q.year === 0 ? null : q.year,
          by(req),
        );
        return reply.status(204).send();
      } catch (err) {
        return sendRefusal(err, req, reply, STATUS);
      }
    },
  );

  const visible = (req: FastifyRequest, enterprise: string, region: string): boolean =>
    inScope(scopeOf(req.principal), enterprise, region === '' ? null : region);

  const recognitionJson = (r: ReturnType<typeof recognitions>[number]) => ({
    ...r,
    enterpriseName: nameOf(r.enterprise),
    declaredAt: iso(r.declaredAt),
  });

  app.get(
    '/api/v1/targets/recognitions',
    {
      config: { access: 'aggregate' },
      schema: {
        summary: 'digital workshops and smart factories as declared (申报), within the scope',
        response: { 200: RecognitionList, ...errors },
      },
    },
    async (req) => ({
      recognitions: recognitions(registry)
        .filter((r) => visible(req, r.enterprise, r.region))
        .map(recognitionJson),
    }),
  );

  app.post<{ Body: RecognitionBody }>(
    '/api/v1/targets/recognitions',
    {
      config: { access: 'manage', action: 'recognition.declare' },
      schema: {
        summary:
          'declare a digital workshop or smart factory (the same enterprise, kind and name again replaces it); audited',
        body: RecognitionBody,
        response: { 200: RecognitionItem, 201: RecognitionItem, ...errors },
      },
    },
    async (req, reply) => {
      try {
        const r = records.declareRecognition(req.body, by(req));
        return reply.status(r.created ? 201 : 200).send(recognitionJson(r.recognition));
      } catch (err) {
        return sendRefusal(err, req, reply, STATUS);
      }
    },
  );

  app.delete<{ Params: IdParams }>(
    '/api/v1/targets/recognitions/:id',
    {
      config: { access: 'manage', action: 'recognition.delete' },
      schema: {
        summary: 'delete a workshop or factory declaration; audited',
        params: IdParams,
        response: { 200: RecognitionItem, ...errors },
      },
    },
    async (req, reply) => {
      try {
        return recognitionJson(records.deleteRecognition(req.params.id, by(req)));
      } catch (err) {
        return sendRefusal(err, req, reply, STATUS);
      }
    },
  );

  const platformJson = (p: ReturnType<typeof platforms>[number], reporting: ReadonlySet<string>) => ({
    ...p,
    operatorName: nameOf(p.operator),
    reporting: p.hubId !== null && reporting.has(p.hubId),
    declaredAt: iso(p.declaredAt),
  });
  const reportingHubs = () => {
    try {
      return childReports(registry);
    } catch {
      return [];
    }
  };

  app.get(
    '/api/v1/targets/platforms',
    {
      config: { access: 'aggregate' },
      schema: {
        summary:
          'industrial internet platforms as declared, and child hubs reporting as a platform (the latter to unscoped callers only)',
        response: { 200: PlatformList, ...errors },
      },
    },
    async (req) => {
      const reports = reportingHubs();
      const reporting = new Set(reports.map((r) => r.hubId));
      const all = platforms(registry);
      const declared = new Set(all.flatMap((p) => (p.hubId === null ? [] : [p.hubId])));
      const scope = scopeOf(req.principal);
      const unscopedCaller = scope.enterprises === undefined && scope.regions === undefined;
      return {
        platforms: all
          .filter((p) => visible(req, p.operator, p.region))
          .map((p) => platformJson(p, reporting)),
        childHubs: unscopedCaller
          ? reports.flatMap((r) =>
              r.report.platform === undefined
                ? []
                : [
                    {
                      hubId: r.hubId,
                      name: r.report.platform.name,
                      level: r.report.platform.level,
                      declared: declared.has(r.hubId),
                    },
                  ],
            )
          : [],
      };
    },
  );

  app.post<{ Body: PlatformBody }>(
    '/api/v1/targets/platforms',
    {
      config: { access: 'manage', action: 'platform.declare' },
      schema: {
        summary:
          'declare an industrial internet platform (the same name again replaces it); hubId links the child hub that is it; audited',
        body: PlatformBody,
        response: { 200: PlatformItem, 201: PlatformItem, ...errors },
      },
    },
    async (req, reply) => {
      try {
        const r = records.declarePlatform(req.body, by(req));
        const reporting = new Set(reportingHubs().map((x) => x.hubId));
        return reply.status(r.created ? 201 : 200).send(platformJson(r.platform, reporting));
      } catch (err) {
        return sendRefusal(err, req, reply, STATUS);
      }
    },
  );

  app.delete<{ Params: IdParams }>(
    '/api/v1/targets/platforms/:id',
    {
      config: { access: 'manage', action: 'platform.delete' },
      schema: {
        summary: 'delete a platform declaration; audited',
        params: IdParams,
        response: { 200: PlatformItem, ...errors },
      },
    },
    async (req, reply) => {
      try {
        const reporting = new Set(reportingHubs().map((x) => x.hubId));
        return platformJson(records.deletePlatform(req.params.id, by(req)), reporting);
      } catch (err) {
        return sendRefusal(err, req, reply, STATUS);
      }
    },
  );

  /** The audit action of an import of `what`. */
  const importAction = (what: DeclarationKind): string =>
    `${what === 'platforms' ? 'platform' : what === 'targets' ? 'target' : 'recognition'}.import`;
  for (const what of ['recognitions', 'platforms', 'targets'] as const) {
    app.post<{ Querystring: DeclarationImportQuery; Body: Readable }>(
      what === 'targets' ? '/api/v1/targets/import' : `/api/v1/targets/${what}/import`,
      {
        config: { access: 'manage', action: importAction(what) },
        schema: {
          summary:
            what === 'targets'
              ? 'set programme targets from a CSV (text/csv) or XLSX body of rows (kind, region, year, value), each as PUT /api/v1/targets: all rows or none unless partial=true; each refused row with why'
              : `import ${what === 'platforms' ? 'platform' : 'workshop / factory'} declarations from a CSV (text/csv) or XLSX body: all rows or none unless partial=true; each refused row with why`,
          querystring: DeclarationImportQuery,
          response: {
            200: DeclarationImportReport,
            422: DeclarationImportReport,
            ...errors,
            400: ImportErrorReply,
            413: ImportErrorReply,
            415: ErrorReply,
          },
        },
      },
      async (req, reply) => importRoute(req, reply, what),
    );
  }

  async function importRoute(
    req: FastifyRequest<{ Querystring: DeclarationImportQuery; Body: Readable }>,
    reply: FastifyReply,
    what: DeclarationKind,
  ): Promise<FastifyReply> {
    const q = req.query;
    const actor = actorOf(req);
    try {
      const table = await readUpload(req, q.file);
      const report = importDeclarations(registry, what, table, {
        actor,
        source: req.ip,
        file: q.file,
        dryRun: q.dryRun,
        partial: q.partial,
      });
      if (report.refusedRows > 0)
        req.log.warn({ actor, file: q.file, what, refused: report.refusedRows }, 'import rows refused');
      return reply
        .status(report.refusedRows > 0 && !report.partial && !report.dryRun ? 422 : 200)
        .send(report);
    } catch (err) {
      drainRefusedUpload(req.raw);
      if (err instanceof HubError && STATUS[err.code] !== undefined) {
        deps.audit.record({
          actor,
          action: importAction(what),
          target: q.file,
          outcome: 'refused',
          source: req.ip,
          detail: { code: err.code, reason: err.message },
        });
        req.log.warn({ code: err.code, reason: err.message, actor, what }, 'import refused');
        return sendImportRefusal(reply, STATUS[err.code]!, err);
      }
      return sendRefusal(err, req, reply, STATUS);
    }
  }
}
