/** TypeBox schemas of the registry API (hub/api/routes/registry.ts). */
import { type Static, type TSchema, Type } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ format: 'date-time' });
const Int = Type.Integer();
const Count = Type.Integer({ minimum: 0 });

const LedgerSchema = Type.Object(
  { productionEquipment: Count, ncEquipment: Count, robots: Count },
  { additionalProperties: false },
);

export const ReferenceList = Type.Object({
  items: Type.Array(
    Type.Object({
      code: Type.String(),
      nameZh: Type.String(),
      nameEn: Type.String(),
      aliases: Type.Array(Type.String()),
      keySubIndustry: Type.Optional(Type.Boolean()),
    }),
  ),
});

export const EnterpriseParams = Type.Object({ code: Type.String({ minLength: 1, maxLength: 200 }) });
export type EnterpriseParams = Static<typeof EnterpriseParams>;

export const DeclarationBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 500 }),
    region: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'code, Chinese or English name, or alias',
    }),
    industry: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'code, Chinese or English name, or alias',
    }),
    backbone: Type.Boolean(),
    ledger: LedgerSchema,
    declaredBy: Type.Optional(
      Type.String({ minLength: 1, maxLength: 200, description: 'who declares; default: the token' }),
    ),
  },
  { additionalProperties: false },
);
export type DeclarationBody = Static<typeof DeclarationBody>;

const Declaration = Type.Object({
  code: Type.String(),
  name: Type.String(),
  region: Type.String(),
  industry: Type.String(),
  backbone: Type.Boolean(),
  ledger: LedgerSchema,
  declaredBy: Type.String(),
  declaredAt: Time,
});

export const EnterpriseReply = Type.Object({ enterprise: Declaration });
export const DeclarationHistory = Type.Object({
  code: Type.String(),
  declarations: Type.Array(Declaration, { description: 'oldest first' }),
});

export const MachineLedgerReply = Type.Object({
  enterprise: Type.String(),
  declared: Nullable(LedgerSchema),
  discovered: Type.Object({
    machines: Type.Integer({ description: 'machines discovered and not retired' }),
    networked: Int,
    confirmed: Int,
    unconfirmed: Int,
    retired: Type.Integer({ description: 'retired machines: in no other figure' }),
    networkedUnconfirmed: Int,
    nc: Int,
    robots: Int,
    unknownNc: Int,
    unknownRobot: Int,
  }),
  coverage: Type.Object({
    production: Nullable(Type.Number()),
    nc: Nullable(Type.Number()),
    robots: Nullable(Type.Number()),
  }),
  counted: Type.Object(
    { networked: Int, beyondLedger: Int },
    { description: 'what the statistics count: networked capped by the declared production equipment' },
  ),
  exceedsLedger: Type.Boolean({
    description:
      'more machines than declared production equipment, or more networked NC machines or robots than declared',
  }),
  byKind: Type.Array(
    Type.Object({
      kind: Nullable(Type.String()),
      nc: Nullable(Type.Boolean()),
      robot: Nullable(Type.Boolean()),
      dataDepth: Nullable(Type.String()),
      machines: Int,
      networked: Int,
    }),
  ),
});

export const ImportQuery = Type.Object(
  {
    dryRun: Type.Boolean({ default: false }),
    partial: Type.Boolean({ default: false }),
    file: Type.String({
      minLength: 1,
      maxLength: 200,
      default: 'upload',
      description: 'the file name, for the report',
    }),
  },
  { additionalProperties: false },
);
export type ImportQuery = Static<typeof ImportQuery>;

/** Why an import refused a row or a file, as a stable code (hub/registry/import-reasons.ts) and its parameters. */
export const ImportReasonSchema = Type.Object({
  code: Type.String({ description: 'a stable reason code: docs/api.md "Imports"' }),
  params: Type.Record(Type.String(), Type.Union([Type.String(), Type.Number()]), {
    description: 'what the reason is about: value, field, row, column, valid, max…',
  }),
});

/** A refused import file: the error reply and its reasons as codes. */
export const ImportErrorReply = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'stable WANJI_E_* code' }),
  error: Type.String(),
  message: Type.String(),
  reasons: Type.Optional(Type.Array(ImportReasonSchema)),
});

export const ImportReportSchema = Type.Object({
  file: Type.String(),
  dryRun: Type.Boolean(),
  partial: Type.Boolean(),
  rows: Int,
  accepted: Int,
  refusedRows: Type.Integer({ description: 'how many rows were refused' }),
  refused: Type.Array(
    Type.Object({
      row: Int,
      code: Type.String(),
      reasons: Type.Array(Type.String()),
      details: Type.Array(ImportReasonSchema, {
        description: 'the reasons as codes and parameters, in order',
      }),
      columns: Type.Array(Type.String(), { description: 'the header texts of the cells at fault' }),
    }),
    {
      description: 'the first 1,000 refused rows in file order, each with why',
    },
  ),
  applied: Type.Boolean(),
  created: Int,
  updated: Int,
  unchanged: Int,
  ignoredColumns: Type.Array(Type.String()),
  header: Type.Object(
    { row: Int, cells: Type.Array(Type.String()) },
    { description: 'the header row as the file has it (a title above it is skipped)' },
  ),
  skipped: Type.Array(
    Type.Object({
      row: Int,
      kind: Type.Union([Type.Literal('title'), Type.Literal('total')]),
      reason: Type.String(),
    }),
    {
      description: 'rows left out on purpose: a title above the header, a 合计 (total) row',
    },
  ),
  changes: Type.Array(
    Type.Object({
      row: Int,
      code: Type.String(),
      name: Type.String(),
      outcome: Type.Union([Type.Literal('created'), Type.Literal('updated')]),
      before: Type.Union([LedgerSchema, Type.Null()]),
      after: LedgerSchema,
    }),
    {
      description: 'the first 1,000 enterprises created and ledgers changed (or that would be, in a dry run)',
    },
  ),
});

const SheetLanguage = Type.Union([Type.Literal('zh-CN'), Type.Literal('en')], {
  default: 'zh-CN',
  description: 'the language of the headers and notes',
});

export const ImportTemplateQuery = Type.Object(
  {
    format: Type.Union([Type.Literal('xlsx'), Type.Literal('csv')], { default: 'xlsx' }),
    lang: SheetLanguage,
  },
  { additionalProperties: false },
);
export type ImportTemplateQuery = Static<typeof ImportTemplateQuery>;

export const ImportAnnotatedQuery = Type.Object(
  {
    file: Type.String({
      minLength: 1,
      maxLength: 200,
      default: 'upload',
      description: 'the file name, for the report',
    }),
    lang: SheetLanguage,
  },
  { additionalProperties: false },
);
export type ImportAnnotatedQuery = Static<typeof ImportAnnotatedQuery>;

export const IndustryAliasParams = Type.Object(
  { code: Type.String({ minLength: 1, maxLength: 64 }) },
  { additionalProperties: false },
);
export type IndustryAliasParams = Static<typeof IndustryAliasParams>;

export const IndustryAliasBody = Type.Object(
  {
    alias: Type.String({
      minLength: 1,
      maxLength: 64,
      description: 'another name an import may use for the industry (汽车零部件 for auto-moto-parts)',
    }),
  },
  { additionalProperties: false },
);
export type IndustryAliasBody = Static<typeof IndustryAliasBody>;
