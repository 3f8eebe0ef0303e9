/** TypeBox schemas for every API route: fastify validates requests and serializes replies with them. */
import { type Static, type TSchema, Type } from '@sinclair/typebox';

const Nullable = <T extends TSchema>(t: T) => Type.Union([t, Type.Null()]);
/** ISO 8601 time. */
const Time = Type.String({ format: 'date-time' });
const Rate = Nullable(Type.Number({ description: '0–1 (× 100 % for display); null without a denominator' }));

export const ErrorReply = Type.Object({
  statusCode: Type.Integer(),
  code: Type.String({ description: 'stable WANJI_E_* code' }),
  error: Type.String(),
  message: Type.String(),
});

export const ComponentHealthSchema = Type.Object({
  status: Type.Union([
    Type.Literal('up'),
    Type.Literal('degraded'),
    Type.Literal('down'),
    Type.Literal('starting'),
    Type.Literal('closed'),
  ]),
  detail: Type.Optional(Type.String()),
});

export const HealthReply = Type.Object({
  status: Type.Union([Type.Literal('ok'), Type.Literal('degraded')]),
  /** Always sent by /healthz (optional for the deps that build the rest of the reply). */
  reasons: Type.Optional(
    Type.Array(Type.String(), {
      description: '"<component>: <status> (<detail>)" for each component not up; empty when ok',
    }),
  ),
  components: Type.Object({
    broker: ComponentHealthSchema,
    host: ComponentHealthSchema,
    store: ComponentHealthSchema,
    registry: ComponentHealthSchema,
    /** Gateway journals: degraded naming each gateway whose journal does not drain. */
    journals: Type.Optional(ComponentHealthSchema),
  }),
  counters: Type.Record(Type.String(), Type.Record(Type.String(), Type.Number())),
});
export type HealthReply = Static<typeof HealthReply>;

const GroupStats = Type.Object({
  code: Type.String(),
  nameZh: Type.String(),
  nameEn: Type.String(),
  enterprises: Type.Integer(),
  backboneEnterprises: Type.Integer(),
  backboneMeetingTarget: Type.Integer(),
  machines: Type.Integer(),
  networked: Type.Integer(),
  networkedMeasured: Type.Integer(),
  beyondLedger: Type.Integer(),
  enterprisesExceedingLedger: Type.Integer(),
  online: Type.Integer(),
  productionEquipment: Type.Integer(),
  ncEquipment: Type.Integer(),
  robots: Type.Integer(),
  networkingRate: Rate,
  ncRate: Rate,
  networkingRateMean: Rate,
  ncRateMean: Rate,
});

export const StatsReply = Type.Object({
  target: Type.Integer(),
  networked: Type.Integer({
    description: 'counted: each enterprise capped by its ledger (docs/statistics.md)',
  }),
  networkedMeasured: Type.Integer({ description: 'measured, before the cap' }),
  networkedUnconfirmed: Type.Integer(),
  beyondLedger: Type.Integer({ description: 'measured but beyond the ledgers: not counted' }),
  enterprisesExceedingLedger: Type.Integer(),
  online: Type.Integer(),
  machines: Type.Integer(),
  enterprises: Type.Integer(),
  productionEquipment: Type.Integer(),
  ncEquipment: Type.Integer(),
  robots: Type.Integer(),
  networkingRate: Rate,
  ncRate: Rate,
  unattributed: Type.Object({ machines: Type.Integer(), networked: Type.Integer(), online: Type.Integer() }),
  byRegion: Type.Array(GroupStats),
  byIndustry: Type.Array(GroupStats),
  windows: Type.Object({ networkingMs: Type.Integer(), onlineMs: Type.Integer() }),
  generatedAt: Time,
});

/** docs/statistics.md, "What is counted". */
export const MachineStatusSchema = Type.Union(
  [Type.Literal('confirmed'), Type.Literal('unconfirmed'), Type.Literal('retired')],
  {
    description:
      'unconfirmed: announced by a gateway, not yet confirmed; confirmed by an operator; retired: out of every count',
  },
);

export const MachinesQuery = Type.Object(
  {
    enterprise: Type.Optional(Type.String({ minLength: 1 })),
    region: Type.Optional(Type.String({ minLength: 1 })),
    industry: Type.Optional(Type.String({ minLength: 1 })),
    online: Type.Optional(Type.Boolean()),
    status: Type.Optional(MachineStatusSchema),
    search: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 200,
        description: 'a part of the machine id, the enterprise code or its name (case-insensitive)',
      }),
    ),
    order: Type.Union([Type.Literal('id'), Type.Literal('attention')], {
      default: 'id',
      description:
        'id: by enterprise and id, machines never announced last; attention: machines never announced first, then not online, alarm, degraded health, each by enterprise and id',
    }),
    limit: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);
export type MachinesQuery = Static<typeof MachinesQuery>;

export const Machine = Type.Object({
  enterprise: Type.String(),
  id: Type.String(),
  kind: Nullable(Type.String()),
  nc: Nullable(Type.Boolean()),
  robot: Nullable(Type.Boolean()),
  dataDepth: Nullable(Type.String()),
  state: Nullable(Type.String({ description: '"offline" unless online; else the last reported state' })),
  online: Type.Boolean(),
  networked: Type.Boolean(),
  dead: Type.Boolean(),
  health: Nullable(
    Type.Union([Type.Literal('online'), Type.Literal('degraded'), Type.Literal('offline')], {
      description:
        "the machine's link as its gateway reports it (Devices/<id>/Health); offline while the gateway is offline; null when the gateway does not report health",
    }),
  ),
  gateway: Type.String({ description: 'edge node id the machine was last seen on' }),
  region: Nullable(Type.String()),
  industry: Nullable(Type.String()),
  firstSeen: Time,
  lastSeenAt: Nullable(Time),
  lastSampleAt: Nullable(Time),
  status: MachineStatusSchema,
  confirmedAt: Nullable(Time),
  confirmedBy: Nullable(Type.String()),
  retiredAt: Nullable(Time),
  retiredBy: Nullable(Type.String()),
  mergedInto: Nullable(Type.String({ description: 'the machine this duplicate was merged into' })),
});

export const MachineList = Type.Object({ total: Type.Integer(), machines: Type.Array(Machine) });

export const MachineParams = Type.Object({
  enterprise: Type.String({ minLength: 1 }),
  machine: Type.String({ minLength: 1 }),
});
export type MachineParams = Static<typeof MachineParams>;

const SampleValue = Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()], {
  description: 'an Int64/UInt64 value beyond ±(2^53−1) is a string of its decimal digits, so it stays exact',
});
const Quality = Type.Union([Type.Literal('good'), Type.Literal('uncertain'), Type.Literal('bad')]);

export const MachineDetail = Type.Object({
  machine: Machine,
  latest: Type.Array(
    Type.Object({
      metric: Type.String(),
      ts: Type.Integer(),
      value: SampleValue,
      quality: Type.Optional(Quality),
    }),
  ),
});

export const SeriesQuery = Type.Object(
  {
    metric: Type.String({ minLength: 1, description: 'e.g. Signals/spindleSpeed or State' }),
    from: Type.Optional(Type.String({ description: 'ms since the epoch or ISO 8601; inclusive' })),
    to: Type.Optional(Type.String({ description: 'ms since the epoch or ISO 8601; inclusive' })),
    limit: Type.Integer({ minimum: 1, maximum: 100_000, default: 10_000 }),
    step: Type.Optional(
      Type.Integer({
        minimum: 1_000,
        maximum: 86_400_000,
        description:
          'ms; with from: the newest point of each step-wide slice of the range (at most 2000 slices), for charts over long ranges',
      }),
    ),
  },
  { additionalProperties: false },
);
export type SeriesQuery = Static<typeof SeriesQuery>;

export const SeriesReply = Type.Object({
  enterprise: Type.String(),
  machine: Type.String(),
  metric: Type.String(),
  points: Type.Array(
    Type.Object({
      ts: Type.Integer({ description: 'ms since the epoch' }),
      value: SampleValue,
      quality: Type.Optional(Quality),
    }),
  ),
});

const HealthCounts = Type.Object(
  { online: Type.Integer(), degraded: Type.Integer(), offline: Type.Integer() },
  { description: 'how many machines the gateway reports online, degraded and offline' },
);

export const GatewayItem = Type.Object({
  group: Type.String(),
  edgeNode: Type.String(),
  online: Type.Boolean({ description: 'born and not dead (NDEATH with the current bdSeq)' }),
  bdSeq: Nullable(Type.Integer()),
  firstSeen: Time,
  lastBirthAt: Nullable(Time),
  lastDeathAt: Nullable(Time),
  lastSeenAt: Nullable(Time),
  software: Nullable(Type.String({ description: 'Properties/Software of the NBIRTH' })),
  counters: Type.Record(Type.String(), Type.Number(), {
    description:
      'the Gateway/* metrics: samples, suppressed, published, publishErrors, queued, dropped, reloads',
  }),
  devices: HealthCounts,
  metricsAt: Nullable(Time),
});

export const GatewayList = Type.Object({ gateways: Type.Array(GatewayItem) });

export const GatewayParams = Type.Object({
  group: Type.String({ minLength: 1 }),
  node: Type.String({ minLength: 1 }),
});
export type GatewayParams = Static<typeof GatewayParams>;

export const GatewayDetail = Type.Object({
  gateway: GatewayItem,
  devices: Type.Array(
    Type.Object({
      id: Type.String(),
      health: Nullable(
        Type.Union([Type.Literal('online'), Type.Literal('degraded'), Type.Literal('offline')]),
      ),
      reason: Nullable(Type.String({ description: 'why the health last changed' })),
      healthAt: Nullable(Time),
      connection: Nullable(Type.String()),
      samples: Nullable(Type.Number()),
      badSamples: Nullable(Type.Number()),
      outages: Nullable(Type.Number()),
    }),
  ),
  connections: Type.Array(
    Type.Object({
      id: Type.String(),
      counters: Type.Record(Type.String(), Type.Number(), { description: "the driver's counters" }),
    }),
  ),
  metrics: Type.Array(
    Type.Object({
      name: Type.String(),
      value: Type.Union([Type.Number(), Type.String(), Type.Boolean(), Type.Null()]),
      updatedAt: Time,
    }),
    { description: 'every node metric as last received, by name' },
  ),
});

export const EnterpriseList = Type.Object({
  enterprises: Type.Array(
    Type.Object({
      code: Type.String(),
      name: Type.String(),
      region: Type.String(),
      industry: Type.String(),
      backbone: Type.Boolean(),
      ledger: Type.Object({
        productionEquipment: Type.Integer(),
        ncEquipment: Type.Integer(),
        robots: Type.Integer(),
      }),
      declaredBy: Type.String(),
      declaredAt: Time,
      machines: Type.Integer(),
      networked: Type.Integer({ description: 'counted: at most the declared production equipment' }),
      networkedMeasured: Type.Integer({ description: 'measured, before the cap' }),
      beyondLedger: Type.Integer(),
      exceedsLedger: Type.Boolean(),
      online: Type.Integer(),
      networkingRate: Rate,
      ncRate: Rate,
    }),
  ),
});
