/**
 * The alerts' schemas, with nothing of the server: the rule bodies the API validates, and the
 * rules, alerts and channels it replies with. The web app takes its alert types from here
 * (type-only imports), so this file imports TypeBox alone.
 */
import { type Static, Type } from '@sinclair/typebox';

export const RULE_KINDS = [
  'gateway-offline',
  'machine-offline',
  'data-stale',
  'journal-backlog',
  'machine-alarm',
  'networking-rate',
] as const;
export type RuleKind = (typeof RULE_KINDS)[number];

export const SCOPE_KINDS = ['all', 'region', 'enterprise', 'gateway', 'machine'] as const;
export type ScopeKind = (typeof SCOPE_KINDS)[number];

export const SEVERITIES = ['critical', 'warning', 'info'] as const;
export type Severity = (typeof SEVERITIES)[number];

const MAX_DURATION_MS = 30 * 86_400_000;
const Id = (description: string) => Type.String({ minLength: 1, maxLength: 64, description });

export const RuleScope = Type.Object(
  {
    kind: Type.Union(
      SCOPE_KINDS.map((k) => Type.Literal(k)),
      { description: 'all; a region; an enterprise; one gateway; one machine' },
    ),
    region: Type.Optional(Id('region code (kind region)')),
    enterprise: Type.Optional(Id('enterprise code (kinds enterprise, gateway, machine)')),
    gateway: Type.Optional(Id('edge node id (kind gateway)')),
    machine: Type.Optional(Id('machine id (kind machine)')),
  },
  { additionalProperties: false },
);
export type RuleScope = Static<typeof RuleScope>;

const ruleFields = {
  name: Type.String({ minLength: 1, maxLength: 100 }),
  kind: Type.Union(
    RULE_KINDS.map((k) => Type.Literal(k)),
    { description: 'what is watched (docs/alerts.md)' },
  ),
  scope: RuleScope,
  // Null first: the API's validator coerces types, and would turn a null into 0 for a number
  // tried first (a gateway-offline rule sent with threshold: null would then be refused).
  threshold: Type.Union([Type.Null(), Type.Number()], {
    description: 'journal-backlog: messages; networking-rate: percent; null for the other kinds',
  }),
  durationMs: Type.Integer({
    minimum: 0,
    maximum: MAX_DURATION_MS,
    description: 'how long the condition must hold before the alert fires',
  }),
  severity: Type.Union(SEVERITIES.map((s) => Type.Literal(s))),
  channels: Type.Array(Type.String({ minLength: 1, maxLength: 64 }), {
    maxItems: 20,
    description: 'names of channels in the hub config (GET /api/v1/alerts/channels)',
  }),
  enabled: Type.Boolean(),
};

export const RuleCreateBody = Type.Object(
  {
    name: ruleFields.name,
    kind: ruleFields.kind,
    scope: Type.Optional(ruleFields.scope),
    threshold: Type.Optional(ruleFields.threshold),
    durationMs: ruleFields.durationMs,
    severity: Type.Optional(ruleFields.severity),
    channels: Type.Optional(ruleFields.channels),
    enabled: Type.Optional(ruleFields.enabled),
  },
  { additionalProperties: false },
);
export type RuleCreateBody = Static<typeof RuleCreateBody>;

export const RulePatchBody = Type.Partial(Type.Object(ruleFields), {
  additionalProperties: false,
  minProperties: 1,
});
export type RulePatchBody = Static<typeof RulePatchBody>;

const Time = Type.String({ format: 'date-time' });
const TimeOrNull = Type.Union([Time, Type.Null()]);
const StringOrNull = Type.Union([Type.String(), Type.Null()]);

/** The fields a rule is made of (the create and patch bodies are cut from them). */
export const RuleFields = Type.Object(ruleFields);
export type RuleFields = Static<typeof RuleFields>;

export const DeliveryReply = Type.Object({
  channel: Type.String(),
  sent: Type.Integer(),
  pending: Type.Integer(),
  failed: Type.Integer({ description: 'notifications given up after every retry' }),
  failedAttempts: Type.Integer({ description: 'attempts a channel did not take, retried or not' }),
  lastSentAt: TimeOrNull,
  lastError: Type.Union([Type.String(), Type.Null()], {
    description: 'why the last failed attempt failed (no secret)',
  }),
  lastErrorAt: TimeOrNull,
});

export const RuleReply = Type.Object({
  id: Type.Integer(),
  name: Type.String(),
  kind: Type.Union(RULE_KINDS.map((k) => Type.Literal(k))),
  scope: RuleScope,
  threshold: Type.Union([Type.Number(), Type.Null()]),
  durationMs: Type.Integer(),
  severity: Type.Union(SEVERITIES.map((s) => Type.Literal(s))),
  channels: Type.Array(Type.String()),
  enabled: Type.Boolean(),
  createdBy: Type.String(),
  createdAt: Time,
  updatedBy: Type.String(),
  updatedAt: Time,
  activeAlerts: Type.Integer(),
  delivery: Type.Array(DeliveryReply, { description: 'per channel: what was sent, is pending, failed' }),
});

export const AlertReply = Type.Object({
  id: Type.Integer(),
  rule: Type.Object({ id: Type.Integer(), name: Type.String() }),
  kind: Type.String(),
  severity: Type.String(),
  state: Type.Union([Type.Literal('active'), Type.Literal('cleared')]),
  subject: Type.Object({
    type: Type.String({ description: 'gateway, machine or enterprise' }),
    enterprise: StringOrNull,
    enterpriseName: StringOrNull,
    region: StringOrNull,
    gateway: StringOrNull,
    machine: StringOrNull,
  }),
  // The schema of Type.Object({}, { additionalProperties: true }), typed as the open record it is.
  detail: Type.Unsafe<Record<string, unknown>>({
    additionalProperties: true,
    description: 'what the evaluator saw: machines (behind a gateway), backlog, rate, threshold, …',
    type: 'object',
    properties: {},
  }),
  since: Type.String({ format: 'date-time', description: 'when the condition began' }),
  firedAt: Time,
  clearedAt: TimeOrNull,
  acknowledged: Type.Boolean(),
  acknowledgedAt: TimeOrNull,
  acknowledgedBy: StringOrNull,
  ackNote: StringOrNull,
});

export const RuleListReply = Type.Object({ rules: Type.Array(RuleReply) });

export const AlertListReply = Type.Object({ total: Type.Integer(), alerts: Type.Array(AlertReply) });

export const ChannelListReply = Type.Object({
  channels: Type.Array(
    Type.Object({
      name: Type.String(),
      type: Type.String({ description: 'webhook, dingtalk, wecom or email' }),
      language: Type.String({ description: 'zh-CN or en' }),
    }),
  ),
});

export const ChannelTestReply = Type.Object({ channel: Type.String(), sentAt: Time });
