/** TypeBox schemas of the statistics API (hub/api/routes/statistics.ts). */
import { type Static, type TSchema, Type } from '@sinclair/typebox';
import { EnterpriseSummarySchema } from './enterprise-summary.js';
import { EXPORT_LANGS, EXPORT_TABLES } from './tables.js';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
const Time = Type.String({ format: 'date-time' });
const Int = Type.Integer();
const Rate = Nullable(Type.Number({ description: '0–1 (× 100 % for display); null without a denominator' }));
const Day = Type.String({ pattern: '^\\d{4}-\\d{2}-\\d{2}$', description: 'local date, YYYY-MM-DD' });

/** What is counted beside what is measured (docs/statistics.md, "What is counted"). */
const CountedFields = {
  networked: Type.Integer({
    description: 'counted: networked machines, each enterprise capped by its declared production equipment',
  }),
  networkedMeasured: Type.Integer({
    description: 'measured networked machines (not retired), before the cap',
  }),
  networkedUnconfirmed: Type.Integer({ description: 'measured networked machines no operator confirmed' }),
  beyondLedger: Type.Integer({ description: 'networkedMeasured − networked: measured, not counted' }),
};
const ExceedingFields = {
  ...CountedFields,
  enterprisesExceedingLedger: Type.Integer({
    description: 'enterprises with more machines (or networked NC machines, robots) than they declared',
  }),
};

const FigureFields = {
  population: Type.Union([Type.Literal('all'), Type.Literal('backbone')], {
    description: 'the enterprises these figures cover',
  }),
  enterprises: Int,
  backboneEnterprises: Int,
  backboneMeetingTarget: Int,
  backboneMeetingNetworking: Type.Integer({
    description: 'backbone enterprises whose networking rate reaches backboneTargets.networkingRate',
  }),
  backboneMeetingNc: Type.Integer({
    description: 'backbone enterprises whose NC rate reaches backboneTargets.ncRate',
  }),
  machines: Int,
  ...ExceedingFields,
  online: Int,
  poweredOn: Int,
  networkedNc: Int,
  networkedRobots: Int,
  productionEquipment: Int,
  ncEquipment: Int,
  robots: Int,
  networkingRate: Rate,
  ncRate: Rate,
  onlineRate: Rate,
  powerOnRate: Rate,
  measuredNcRate: Rate,
  networkingRateMean: Rate,
  ncRateMean: Rate,
  onlineRateMean: Rate,
  powerOnRateMean: Rate,
};
const Figures = Type.Object(FigureFields);
export const GroupStatsSchema = Type.Object({
  code: Type.String(),
  nameZh: Type.String(),
  nameEn: Type.String(),
  ...FigureFields,
  backbone: Figures,
});

export const EnterpriseStatsSchema = Type.Object({
  code: Type.String(),
  name: Type.String(),
  region: Type.String(),
  industry: Type.String(),
  backbone: Type.Boolean(),
  machines: Int,
  ...CountedFields,
  exceedsLedger: Type.Boolean({
    description:
      'more machines (or networked NC machines, robots) than declared: the ledger is out of date, or machines were invented',
  }),
  online: Int,
  poweredOn: Int,
  networkedNc: Int,
  networkedRobots: Int,
  productionEquipment: Int,
  ncEquipment: Int,
  robots: Int,
  networkingRate: Rate,
  ncRate: Rate,
  onlineRate: Rate,
  powerOnRate: Rate,
  measuredNcRate: Rate,
  meetsBackboneTarget: Type.Boolean(),
  via: Nullable(Type.String({ description: 'the child hub that reported it' })),
});

export const StatisticsReply = Type.Object({
  target: Type.Integer({
    description:
      "the caller's networked target in force this year (the registry's targets, as GET /api/v1/targets): the city's; for a caller scoped to regions the sum of their regionTargets; 0 when its scope has none",
  }),
  progress: Nullable(Type.Number({ description: 'networked ÷ target; null when target is 0' })),
  regionTargets: Type.Record(Type.String(), Int, {
    description: 'the own networked target in force of each region the caller sees, where it has one',
  }),
  backboneTargets: Type.Object(
    { networkingRate: Type.Number(), ncRate: Type.Number() },
    {
      description:
        "what a backbone enterprise must reach (0–1): the city's backboneNetworkingRate and backboneNcRate targets in force",
    },
  ),
  ...ExceedingFields,
  online: Int,
  poweredOn: Int,
  machines: Int,
  enterprises: Int,
  productionEquipment: Int,
  ncEquipment: Int,
  robots: Int,
  networkedRobots: Int,
  networkingRate: Rate,
  ncRate: Rate,
  onlineRate: Rate,
  powerOnRate: Rate,
  unattributed: Type.Object({ machines: Int, networked: Int, online: Int }),
  city: GroupStatsSchema,
  byRegion: Type.Array(GroupStatsSchema),
  byIndustry: Type.Array(GroupStatsSchema),
  byEnterprise: Type.Array(EnterpriseStatsSchema),
  enterpriseSummary: Type.Optional(EnterpriseSummarySchema),
  children: Type.Array(
    Type.Object({ hubId: Type.String(), receivedAt: Time, generatedAt: Time, enterprises: Int }),
  ),
  windows: Type.Object({ networkingMs: Int, onlineMs: Int }),
  figureWindows: Type.Record(Type.String(), Type.String(), {
    description: 'which window (or the declarations) each figure depends on',
  }),
  generatedAt: Time,
});

const StateMs = Type.Record(Type.String(), Type.Number(), { description: 'ms in each machine state' });

const DayFields = {
  enterprise: Type.String(),
  day: Type.String(),
  ms: StateMs,
  poweredOnMs: Type.Number(),
  calendarMs: Type.Number(),
  utilisation: Rate,
  powerOnTimeRate: Rate,
};

export const StateTimeQuery = Type.Object(
  { day: Type.Optional(Day), enterprise: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
  { additionalProperties: false },
);
export type StateTimeQuery = Static<typeof StateTimeQuery>;

export const EnterpriseDaysReply = Type.Object({
  day: Type.String(),
  enterprises: Type.Array(Type.Object({ ...DayFields, machines: Int })),
});

export const MachineDaysReply = Type.Object({
  day: Type.String(),
  machines: Type.Array(Type.Object({ ...DayFields, machine: Type.String() })),
});

export const TrendQuery = Type.Object(
  {
    level: Type.Union([
      Type.Literal('city'),
      Type.Literal('region'),
      Type.Literal('industry'),
      Type.Literal('enterprise'),
    ]),
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    from: Type.Optional(Day),
    to: Type.Optional(Day),
    figures: Type.Optional(
      Type.String({
        pattern: '^[A-Za-z]+(,[A-Za-z]+)*$',
        maxLength: 1000,
        description:
          'comma-separated figure names each snapshot keeps (e.g. networked,online for a sparkline); default every figure',
      }),
    ),
  },
  { additionalProperties: false },
);
export type TrendQuery = Static<typeof TrendQuery>;

export const TrendReply = Type.Object({
  snapshots: Type.Array(
    Type.Object({
      day: Type.String(),
      level: Type.String(),
      code: Type.String(),
      takenAt: Time,
      figures: Type.Record(Type.String(), Type.Unknown()),
    }),
  ),
});

export const SnapshotReply = Type.Object({ day: Type.String(), rows: Int });

export const ExportQuery = Type.Object(
  {
    table: Type.Union(EXPORT_TABLES.map((t) => Type.Literal(t))),
    format: Type.Union([Type.Literal('csv'), Type.Literal('xlsx')], { default: 'csv' }),
    lang: Type.Union(
      EXPORT_LANGS.map((l) => Type.Literal(l)),
      { default: 'zh-CN', description: "the headers', names' and notes' language" },
    ),
    /** state-time: the day (default today); trend: from/to and level/code. */
    day: Type.Optional(Day),
    level: Type.Optional(TrendQuery.properties.level),
    code: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
    from: Type.Optional(Day),
    to: Type.Optional(Day),
  },
  { additionalProperties: false },
);
export type ExportQuery = Static<typeof ExportQuery>;

export const ChildReportReply = Type.Object({ hubId: Type.String(), receivedAt: Time, enterprises: Int });
