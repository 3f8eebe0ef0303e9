/** TypeBox schemas of the programme targets API (hub/api/routes/targets.ts). */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import {
  PLATFORM_LEVELS,
  RECOGNITION_KINDS,
  TARGET_KIND_NAMES,
  YEAR_MAX,
  YEAR_MIN,
} from '../registry/programme-records.js';
import { ImportReasonSchema } from '../registry/schemas.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ format: 'date-time' });
const Year = Type.Integer({ minimum: YEAR_MIN, maximum: YEAR_MAX });
const Kind = Type.Union(TARGET_KIND_NAMES.map((k) => Type.Literal(k)));
const Basis = Type.Union([Type.Literal('declared'), Type.Literal('measured')]);
const Figure = Nullable(Type.Number());
const Milestone = Type.Object({
  year: Nullable(Type.Integer({ description: 'null: every year (a yearly kind), or no deadline' })),
  value: Type.Number(),
});

export const TargetProgressSchema = Type.Object({
  kind: Kind,
  unit: Type.Union([Type.Literal('count'), Type.Literal('rate')], { description: 'rate: 0–1' }),
  cadence: Type.Union([Type.Literal('total'), Type.Literal('yearly')], {
    description: 'total: a level to reach by a year; yearly: so many each year',
  }),
  basis: Type.Union([Type.Literal('declared'), Type.Literal('measured')], {
    description: 'which of declared (申报) / measured (监测) `current` is',
  }),
  figures: Type.Array(Basis, { description: 'the figures this kind has' }),
  target: Nullable(Milestone),
  milestones: Type.Array(Milestone),
  current: Figure,
  declared: Figure,
  measured: Figure,
  done: Nullable(Type.Number({ description: 'current ÷ target; may exceed 1' })),
  detail: Type.Record(Type.String(), Type.Number(), {
    description:
      'backbone kinds: backboneEnterprises, meeting (reaching the target); platform kinds: childHubs (child hubs reporting as a platform without a declaration)',
  }),
  series: Type.Array(
    Type.Object({
      year: Type.Integer(),
      value: Figure,
      declared: Figure,
      measured: Figure,
      target: Figure,
    }),
  ),
});

export const TargetsReply = Type.Object({
  year: Type.Integer({ description: 'the local year now' }),
  scope: Type.Object({
    level: Type.Union([Type.Literal('city'), Type.Literal('region'), Type.Literal('enterprise')]),
    codes: Type.Array(Type.String()),
  }),
  targets: Type.Array(TargetProgressSchema),
  generatedAt: Time,
});

export const TargetItem = Type.Object({
  kind: Kind,
  region: Nullable(Type.String({ description: 'null: the city' })),
  year: Nullable(Type.Integer()),
  value: Type.Number(),
  updatedBy: Type.String(),
  updatedAt: Time,
});
export const TargetList = Type.Object({ targets: Type.Array(TargetItem) });

export const TargetBody = Type.Object(
  {
    kind: Type.String({ minLength: 1, maxLength: 64, description: `one of ${TARGET_KIND_NAMES.join(', ')}` }),
    region: Type.Optional(
      Nullable(Type.String({ minLength: 1, maxLength: 200, description: 'leave out for the city' })),
    ),
    year: Type.Optional(
      Nullable(
        Type.Integer({
          minimum: 0,
          maximum: YEAR_MAX,
          description: 'leave out (or 0): every year / no deadline',
        }),
      ),
    ),
    value: Type.Number({ description: 'a whole number for counts; 0–1 for rates (0.7 = 70 %)' }),
  },
  { additionalProperties: false },
);
export type TargetBody = Static<typeof TargetBody>;

export const TargetKey = Type.Object(
  {
    kind: Type.String({ minLength: 1, maxLength: 64 }),
    region: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    year: Type.Optional(Type.Integer({ minimum: 0, maximum: YEAR_MAX })),
  },
  { additionalProperties: false },
);
export type TargetKey = Static<typeof TargetKey>;

export const RecognitionItem = Type.Object({
  id: Type.Integer(),
  enterprise: Type.String(),
  enterpriseName: Nullable(Type.String()),
  region: Type.String(),
  name: Type.String(),
  kind: Type.Union(RECOGNITION_KINDS.map((k) => Type.Literal(k))),
  benchmark: Type.Boolean(),
  year: Type.Integer(),
  declaredBy: Type.String(),
  declaredAt: Time,
});
export const RecognitionList = Type.Object({ recognitions: Type.Array(RecognitionItem) });
export const RecognitionBody = Type.Object(
  {
    enterprise: Type.String({ minLength: 1, maxLength: 200 }),
    name: Type.String({ minLength: 1, maxLength: 200 }),
    kind: Type.Union(RECOGNITION_KINDS.map((k) => Type.Literal(k))),
    benchmark: Type.Boolean({ default: false }),
    year: Year,
  },
  { additionalProperties: false },
);
export type RecognitionBody = Static<typeof RecognitionBody>;

export const PlatformItem = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  level: Type.Union(PLATFORM_LEVELS.map((l) => Type.Literal(l))),
  operator: Type.String(),
  operatorName: Nullable(Type.String()),
  region: Type.String(),
  year: Type.Integer(),
  hubId: Nullable(Type.String()),
  reporting: Type.Boolean({ description: 'its child hub has a usable report here (measured)' }),
  declaredBy: Type.String(),
  declaredAt: Time,
});
export const PlatformList = Type.Object({
  platforms: Type.Array(PlatformItem),
  childHubs: Type.Array(
    Type.Object({
      hubId: Type.String(),
      name: Type.String(),
      level: Type.Union(PLATFORM_LEVELS.map((l) => Type.Literal(l))),
      declared: Type.Boolean({ description: 'a platform declaration names this hub id' }),
    }),
    { description: 'child hubs reporting as a platform (hub config parent.platform)' },
  ),
});
export const PlatformBody = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: 200 }),
    level: Type.Union(PLATFORM_LEVELS.map((l) => Type.Literal(l))),
    operator: Type.String({ minLength: 1, maxLength: 200, description: 'the operating enterprise code' }),
    year: Year,
    hubId: Type.Optional(Nullable(Type.String({ minLength: 1, maxLength: 64 }))),
  },
  { additionalProperties: false },
);
export type PlatformBody = Static<typeof PlatformBody>;

export const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
export type IdParams = Static<typeof IdParams>;

export const DeclarationImportQuery = Type.Object(
  {
    file: Type.String({ minLength: 1, maxLength: 255, default: 'upload' }),
    dryRun: Type.Boolean({ default: false }),
    partial: Type.Boolean({ default: false, description: 'import the good rows even when some are refused' }),
  },
  { additionalProperties: false },
);
export type DeclarationImportQuery = Static<typeof DeclarationImportQuery>;

export const DeclarationImportReport = Type.Object({
  file: Type.String(),
  what: Type.Union([Type.Literal('recognitions'), Type.Literal('platforms'), Type.Literal('targets')]),
  dryRun: Type.Boolean(),
  partial: Type.Boolean(),
  rows: Type.Integer(),
  accepted: Type.Integer(),
  refusedRows: Type.Integer(),
  refused: Type.Array(
    Type.Object({
      row: Type.Integer({ description: 'as the spreadsheet numbers it' }),
      reasons: Type.Array(Type.String()),
      details: Type.Array(ImportReasonSchema, {
        description: 'the reasons as codes and parameters, in order',
      }),
      columns: Type.Array(Type.String()),
    }),
  ),
  applied: Type.Boolean(),
  created: Type.Integer(),
  updated: Type.Integer(),
  header: Type.Object({ row: Type.Integer(), cells: Type.Array(Type.String()) }),
  skipped: Type.Array(
    Type.Object({
      row: Type.Integer(),
      kind: Type.Union([Type.Literal('title'), Type.Literal('total')]),
      reason: Type.String(),
    }),
  ),
});
