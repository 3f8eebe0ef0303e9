/**
 * The registry: regions, industries, enterprises and their ledger declarations (with
 * history), imports from CSV/XLSX, and each enterprise's ledger against the machines its
 * gateways announced. Reads are aggregates (narrowed to the scope; outside it answers 404),
 * changes are `manage` and audited in the transaction that makes them.
 */
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WanjiErrorCode } from '../../../protocol/errors.js';
import { HubError } from '../../errors.js';
import { importLedgers } from '../../registry/import.js';
import { annotatedXlsx, templateCsv, templateXlsx } from '../../registry/import-sheets.js';
import { machineLedger } from '../../registry/machine-ledger.js';
import {
  DeclarationBody,
  DeclarationHistory,
  EnterpriseParams,
  EnterpriseReply,
  ImportAnnotatedQuery,
  ImportErrorReply,
  ImportQuery,
  ImportReportSchema,
  ImportTemplateQuery,
  IndustryAliasBody,
  IndustryAliasParams,
  MachineLedgerReply,
  ReferenceList,
} from '../../registry/schemas.js';
import type { DeclarationRecord } from '../../registry/types.js';
import { inScope, scopeOf } from '../access.js';
import type { RouteDeps } from '../deps.js';
import { actorOf, sendError } from '../errors.js';
import { ErrorReply } from '../schemas.js';
import { acceptUploads, drainRefusedUpload, readUpload, sendImportRefusal, XLSX_TYPE } from '../uploads.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };
/** Registry refusals and their HTTP status. */
const STATUS: Readonly<Record<string, number>> = {
  WANJI_E_REGISTRY_UNKNOWN_REGION: 400,
  WANJI_E_REGISTRY_UNKNOWN_INDUSTRY: 400,
  WANJI_E_REGISTRY_INVALID_DECLARATION: 400,
  WANJI_E_REGISTRY_IMPORT_FORMAT: 400,
  WANJI_E_REGISTRY_IMPORT_TOO_LARGE: 413,
};

const declarationJson = (d: DeclarationRecord) => ({
  code: d.code,
  name: d.name,
  region: d.regionCode,
  industry: d.industryCode,
  backbone: d.backbone,
  ledger: d.ledger,
  declaredBy: d.declaredBy,
  declaredAt: new Date(d.declaredAt).toISOString(),
});

export function registryRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, clock, windows } = deps;

  // Import bodies arrive as the file itself, in this plugin only.
  acceptUploads(app);

  /** The enterprise, when it exists and the caller may see it; else a logged 404. */
  const visible = (req: FastifyRequest, code: string) => {
    const e = registry.enterprise(code);
    if (e !== undefined && inScope(scopeOf(req.principal), e.code, e.regionCode)) return e;
    if (e !== undefined)
      req.log.info({ actor: actorOf(req), enterprise: code }, 'enterprise outside the scope');
    throw new HubError('WANJI_E_API_NOT_FOUND', `no enterprise "${code}"`);
  };

  app.get(
    '/api/v1/registry/regions',
    {
      config: { access: 'aggregate' },
      schema: { summary: 'regions (code, names, aliases)', response: { 200: ReferenceList, ...errors } },
    },
    async () => ({ items: registry.regions().map((r) => ({ ...r, aliases: [...r.aliases] })) }),
  );

  app.get(
    '/api/v1/registry/industries',
    {
      config: { access: 'aggregate' },
      schema: { summary: 'industries (code, names, aliases)', response: { 200: ReferenceList, ...errors } },
    },
    async () => ({ items: registry.industries().map((i) => ({ ...i, aliases: [...i.aliases] })) }),
  );

  app.post<{ Params: IndustryAliasParams; Body: IndustryAliasBody }>(
    '/api/v1/registry/industries/:code/aliases',
    {
      config: { access: 'manage', action: 'industry.alias' },
      schema: {
        summary:
          'add another name an import may use for an industry (汽车零部件 for auto-moto-parts); stored in the registry, audited',
        params: IndustryAliasParams,
        body: IndustryAliasBody,
        response: { 200: ReferenceList.properties.items.items, ...errors, 409: ErrorReply },
      },
    },
    async (req, reply) => {
      const { code } = req.params;
      const alias = req.body.alias.normalize('NFKC').trim();
      const actor = actorOf(req);
      const refuse = (status: number, errCode: WanjiErrorCode, reason: string) => {
        deps.audit.record({
          actor,
          action: 'industry.alias',
          target: code,
          outcome: 'refused',
          source: req.ip,
          detail: { alias, code: errCode, reason },
        });
        req.log.warn({ actor, industry: code, alias, reason }, 'industry alias refused');
        return sendError(reply, status, errCode, reason);
      };
      const industry = registry.industries().find((i) => i.code === code);
      if (industry === undefined) {
        return refuse(
          404,
          'WANJI_E_REGISTRY_UNKNOWN_INDUSTRY',
          `no industry "${code}" (GET /api/v1/registry/industries)`,
        );
      }
      const control = [...alias].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
      if (alias === '' || control) {
        return refuse(400, 'WANJI_E_API_VALIDATION', 'the alias is empty or holds a control character');
      }
      const taken = registry.resolveIndustry(alias);
      if (taken !== undefined && taken !== code) {
        return refuse(
          409,
          'WANJI_E_REGISTRY_ALIAS',
          `"${alias}" already names the industry "${taken}": pick another alias or change that industry's`,
        );
      }
      if (taken === undefined) {
        registry.database.transaction(() => {
          registry.database.reference.setIndustryAliases(code, JSON.stringify([...industry.aliases, alias]));
          deps.audit.record({
            actor,
            action: 'industry.alias',
            target: code,
            outcome: 'ok',
            source: req.ip,
            detail: { alias },
          });
        });
        req.log.info({ actor, industry: code, alias }, 'industry alias added');
      }
      const now = registry.industries().find((i) => i.code === code)!;
      return { ...now, aliases: [...now.aliases] };
    },
  );

  app.get<{ Params: EnterpriseParams }>(
    '/api/v1/registry/enterprises/:code/declarations',
    {
      config: { access: 'aggregate' },
      schema: {
        summary: "an enterprise's ledger declarations, oldest first, with who declared each and when",
        params: EnterpriseParams,
        response: { 200: DeclarationHistory, ...errors },
      },
    },
    async (req) => {
      const e = visible(req, req.params.code);
      return { code: e.code, declarations: registry.declarations(e.code).map(declarationJson) };
    },
  );

  app.get<{ Params: EnterpriseParams }>(
    '/api/v1/registry/enterprises/:code/machines',
    {
      config: { access: 'aggregate' },
      schema: {
        summary:
          "the declared ledger beside the machines the enterprise's gateways announced (counts by kind, NC, robot, data depth)",
        params: EnterpriseParams,
        response: { 200: MachineLedgerReply, ...errors },
      },
    },
    async (req) =>
      machineLedger(registry, visible(req, req.params.code).code, clock() - windows.networkingMs),
  );

  app.put<{ Params: EnterpriseParams; Body: DeclarationBody }>(
    '/api/v1/registry/enterprises/:code',
    {
      config: { access: 'manage', action: 'enterprise.declare' },
      schema: {
        summary: "declare an enterprise's ledger (kept in its history, audited)",
        params: EnterpriseParams,
        body: DeclarationBody,
        response: { 200: EnterpriseReply, ...errors },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const region = registry.resolveRegion(b.region);
      const industry = registry.resolveIndustry(b.industry);
      const actor = actorOf(req);
      try {
        const e = registry.upsertEnterprise(
          {
            code: req.params.code,
            name: b.name,
            regionCode: region ?? b.region,
            industryCode: industry ?? b.industry,
            backbone: b.backbone,
            ledger: b.ledger,
          },
          b.declaredBy ?? actor,
          { actor, source: req.ip },
        );
        return { enterprise: declarationJson(e) };
      } catch (err) {
        const status = err instanceof HubError ? STATUS[err.code] : undefined;
        if (status === undefined || !(err instanceof HubError)) throw err;
        deps.audit.record({
          actor,
          action: 'enterprise.declare',
          target: req.params.code,
          outcome: 'refused',
          source: req.ip,
          detail: { code: err.code, reason: err.message },
        });
        req.log.warn({ code: err.code, reason: err.message, actor }, 'declaration refused');
        return sendError(reply, status, err.code, err.message);
      }
    },
  );

  app.post<{ Querystring: ImportQuery; Body: Readable }>(
    '/api/v1/registry/import',
    {
      config: { access: 'manage', action: 'enterprise.import' },
      schema: {
        summary:
          'import enterprises and ledgers from a CSV (text/csv) or XLSX body: all rows or none unless partial=true; the report counts the refused rows and lists the first 1,000 with why',
        querystring: ImportQuery,
        response: {
          200: ImportReportSchema,
          422: ImportReportSchema,
          ...errors,
          400: ImportErrorReply,
          413: ImportErrorReply,
          415: ErrorReply,
        },
      },
    },
    async (req, reply) => {
      const actor = actorOf(req);
      const q = req.query;
      try {
        const table = await readUpload(req, q.file);
        const report = importLedgers(registry, table, {
          actor,
          source: req.ip,
          file: q.file,
          dryRun: q.dryRun,
          partial: q.partial,
        });
        if (report.refusedRows > 0) {
          req.log.warn(
            { actor, file: q.file, refused: report.refusedRows, applied: report.applied },
            'import rows refused',
          );
        }
        // 422: rows were refused and so nothing was imported.
        return reply
          .status(report.refusedRows > 0 && !report.partial && !report.dryRun ? 422 : 200)
          .send(report);
      } catch (err) {
        drainRefusedUpload(req.raw);
        if (!(err instanceof HubError) || STATUS[err.code] === undefined) throw err;
        deps.audit.record({
          actor,
          action: 'enterprise.import',
          target: q.file,
          outcome: 'refused',
          source: req.ip,
          detail: { code: err.code, reason: err.message },
        });
        req.log.warn({ code: err.code, reason: err.message, actor }, 'import refused');
        return sendImportRefusal(reply, STATUS[err.code]!, err);
      }
    },
  );

  app.get<{ Querystring: ImportTemplateQuery }>(
    '/api/v1/registry/import/template',
    {
      config: { access: 'manage' },
      schema: {
        summary:
          'a file to start an import from: the header row in the language asked for, an example row; XLSX adds a sheet of the valid region and industry names',
        querystring: ImportTemplateQuery,
        response: { ...errors },
      },
    },
    async (req, reply) => {
      const { format, lang } = req.query;
      const db = registry.database;
      const regions = db.reference.regions();
      const industries = db.reference.industries();
      const base = lang === 'zh-CN' ? '台账导入模板' : 'ledger-import-template';
      if (format === 'csv') {
        return reply
          .type('text/csv; charset=utf-8')
          .header('content-disposition', attachment(`${base}.csv`))
          .send(templateCsv(lang, regions, industries));
      }
      return reply
        .type(XLSX_TYPE)
        .header('content-disposition', attachment(`${base}.xlsx`))
        .send(await templateXlsx(lang, regions, industries));
    },
  );

  app.post<{ Querystring: ImportAnnotatedQuery; Body: Readable }>(
    '/api/v1/registry/import/annotated',
    {
      config: { access: 'manage' },
      schema: {
        summary:
          'the uploaded file checked as a dry run and returned as XLSX with an added 错误/Error column and the cells at fault marked; nothing is imported',
        querystring: ImportAnnotatedQuery,
        response: { ...errors, 400: ImportErrorReply, 413: ImportErrorReply, 415: ErrorReply },
      },
    },
    async (req, reply) => {
      const q = req.query;
      try {
        const table = await readUpload(req, q.file);
        const report = importLedgers(registry, table, {
          actor: actorOf(req),
          source: req.ip,
          file: q.file,
          dryRun: true,
          maxListed: Number.POSITIVE_INFINITY,
        });
        const base = q.file.replace(/\.(csv|xlsx)$/i, '');
        return reply
          .type(XLSX_TYPE)
          .header(
            'content-disposition',
            attachment(`${base}-${q.lang === 'zh-CN' ? '错误标注' : 'errors'}.xlsx`),
          )
          .send(await annotatedXlsx(table, report, q.lang));
      } catch (err) {
        drainRefusedUpload(req.raw);
        if (!(err instanceof HubError) || STATUS[err.code] === undefined) throw err;
        req.log.warn({ code: err.code, reason: err.message, actor: actorOf(req) }, 'annotation refused');
        return sendImportRefusal(reply, STATUS[err.code]!, err);
      }
    },
  );
}

/** A download's Content-Disposition: an ASCII name for old clients, the real one (RFC 5987) for the rest. */
function attachment(name: string): string {
  const ascii = name.replace(/[^\x20-\x7e]|["\\]/g, '_');
  return `attachment; filename="${ascii}"; filename*=UTF-8''${encodeURIComponent(name)}`;
}
