/**
 * Alerts (docs/alerts.md): rules (access `manage`), alerts (access `fleet`: an enterprise sees
 * only its own), acknowledging one (`manage`, audited), the configured channels (names, kinds
 * and languages only: never a URL, key or password) and a test message through one.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import {
  type AlertActor,
  AlertListReply,
  AlertReply,
  type AlertService,
  ChannelListReply,
  ChannelTestReply,
  RuleCreateBodySchema,
  RuleListReply,
  RulePatchBodySchema,
  RuleReply,
  type RuleView,
} from '../../alerts/index.js';
import { inScope, scopeOf } from '../access.js';
import { isoOrNull, iso as isoTime, type RouteDeps } from '../deps.js';
import { actorOf, sendRefusal } from '../errors.js';
import { ErrorReply } from '../schemas.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };
const changeErrors = { ...errors, 413: ErrorReply, 415: ErrorReply };
const REFUSALS = { WANJI_E_ALERT_RULE_INVALID: 400, WANJI_E_ALERT_CHANNEL_FAILED: 502 };

export const AlertsQuery = Type.Object(
  {
    state: Type.Optional(Type.Union([Type.Literal('active'), Type.Literal('cleared')])),
    acknowledged: Type.Optional(Type.Boolean()),
    rule: Type.Optional(Type.Integer({ minimum: 1 })),
    limit: Type.Integer({ minimum: 1, maximum: 1_000, default: 100 }),
    offset: Type.Integer({ minimum: 0, default: 0 }),
  },
  { additionalProperties: false },
);
type AlertsQuery = Static<typeof AlertsQuery>;

const IdParams = Type.Object({ id: Type.Integer({ minimum: 1 }) });
type IdParams = Static<typeof IdParams>;
const ChannelParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
type ChannelParams = Static<typeof ChannelParams>;

export const AckBody = Type.Object(
  {
    note: Type.Optional(
      Type.String({ minLength: 1, maxLength: 500, description: 'kept with the alert and in the audit log' }),
    ),
  },
  { additionalProperties: false },
);
type AckBody = Static<typeof AckBody>;

const ruleJson = (r: RuleView): Static<typeof RuleReply> => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  scope: r.scope,
  threshold: r.threshold,
  durationMs: r.durationMs,
  severity: r.severity,
  channels: [...r.channels],
  enabled: r.enabled,
  createdBy: r.createdBy,
  createdAt: isoTime(r.createdAt),
  updatedBy: r.updatedBy,
  updatedAt: isoTime(r.updatedAt),
  activeAlerts: r.activeAlerts,
  delivery: r.delivery.map((d) => ({
    ...d,
    lastSentAt: isoOrNull(d.lastSentAt),
    lastErrorAt: isoOrNull(d.lastErrorAt),
  })),
});

export function alertRoutes(app: FastifyInstance, deps: RouteDeps & { readonly alerts: AlertService }): void {
  const { alerts } = deps;
  const by = (req: FastifyRequest): AlertActor => ({ actor: actorOf(req), source: req.ip });

  app.get(
    '/api/v1/alerts/rules',
    {
      config: { access: 'manage' },
      schema: {
        summary: 'alert rules, each with its active alerts and its deliveries per channel',
        response: { 200: RuleListReply, ...errors },
      },
    },
    async () => ({ rules: alerts.rules().map(ruleJson) }),
  );

  app.get<{ Params: IdParams }>(
    '/api/v1/alerts/rules/:id',
    {
      config: { access: 'manage' },
      schema: { summary: 'one alert rule', params: IdParams, response: { 200: RuleReply, ...errors } },
    },
    async (req) => ruleJson(alerts.rule(req.params.id)),
  );

  app.post<{ Body: Static<typeof RuleCreateBodySchema> }>(
    '/api/v1/alerts/rules',
    {
      config: { access: 'manage', action: 'alert.rule.create' },
      schema: {
        summary: 'make an alert rule (audited)',
        body: RuleCreateBodySchema,
        response: { 201: RuleReply, ...changeErrors },
      },
    },
    async (req, reply) => {
      try {
        const rule = alerts.createRule(req.body, by(req));
        return reply.status(201).send(ruleJson(rule));
      } catch (err) {
        return sendRefusal(err, req, reply, REFUSALS);
      }
    },
  );

  app.patch<{ Params: IdParams; Body: Static<typeof RulePatchBodySchema> }>(
    '/api/v1/alerts/rules/:id',
    {
      config: { access: 'manage', action: 'alert.rule.update' },
      schema: {
        summary: 'change an alert rule: any of its fields (audited)',
        params: IdParams,
        body: RulePatchBodySchema,
        response: { 200: RuleReply, ...changeErrors },
      },
    },
    async (req, reply) => {
      try {
        return ruleJson(alerts.updateRule(req.params.id, req.body, by(req)));
      } catch (err) {
        return sendRefusal(err, req, reply, REFUSALS);
      }
    },
  );

  app.delete<{ Params: IdParams }>(
    '/api/v1/alerts/rules/:id',
    {
      config: { access: 'manage', action: 'alert.rule.delete' },
      schema: {
        summary: 'delete an alert rule (audited); its active alerts clear at the next evaluation',
        params: IdParams,
        response: { 204: Type.Null(), ...errors },
      },
    },
    async (req, reply) => {
      alerts.deleteRule(req.params.id, by(req));
      return reply.status(204).send();
    },
  );

  app.get<{ Querystring: AlertsQuery }>(
    '/api/v1/alerts',
    {
      config: { access: 'fleet' },
      schema: {
        summary: 'alerts, newest first (an enterprise sees its own only)',
        querystring: AlertsQuery,
        response: { 200: AlertListReply, ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      const scope = scopeOf(req.principal);
      return alerts.alerts({
        ...(q.state === undefined ? {} : { state: q.state }),
        ...(q.acknowledged === undefined ? {} : { acknowledged: q.acknowledged }),
        ...(q.rule === undefined ? {} : { ruleId: q.rule }),
        ...(scope.enterprises === undefined ? {} : { enterprises: scope.enterprises }),
        ...(scope.regions === undefined ? {} : { regions: scope.regions }),
        limit: q.limit,
        offset: q.offset,
      });
    },
  );

  app.get<{ Params: IdParams }>(
    '/api/v1/alerts/:id',
    {
      config: { access: 'fleet' },
      schema: {
        summary: 'one alert (404 outside the scope, as a missing one)',
        params: IdParams,
        response: { 200: AlertReply, ...errors },
      },
    },
    async (req) => {
      const scope = scopeOf(req.principal);
      return alerts.alert(
        req.params.id,
        (a) => a.enterprise !== null && inScope(scope, a.enterprise, a.region),
      );
    },
  );

  app.post<{ Params: IdParams; Body: AckBody | undefined }>(
    '/api/v1/alerts/:id/ack',
    {
      config: { access: 'manage', action: 'alert.ack' },
      preValidation: async (req) => {
        if (req.body === undefined || req.body === null) req.body = {};
      },
      schema: {
        summary:
          'acknowledge an alert (audited): who and when are kept; it stays active until its condition clears',
        params: IdParams,
        body: AckBody,
        response: {
          200: Type.Object({
            alert: AlertReply,
            changed: Type.Boolean({
              description: 'false when it was acknowledged already (the first stands)',
            }),
          }),
          ...changeErrors,
        },
      },
    },
    async (req) => alerts.acknowledge(req.params.id, by(req), req.body?.note),
  );

  app.get(
    '/api/v1/alerts/channels',
    {
      config: { access: 'manage' },
      schema: {
        summary: "the hub config's notification channels: names, kinds and languages only",
        response: {
          200: ChannelListReply,
          ...errors,
        },
      },
    },
    async () => ({ channels: alerts.channels() }),
  );

  app.post<{ Params: ChannelParams }>(
    '/api/v1/alerts/channels/:name/test',
    {
      config: { access: 'manage', action: 'alert.channel.test' },
      schema: {
        summary: 'send a test message through a channel now; 502 with the reason when it is not taken',
        params: ChannelParams,
        response: {
          200: ChannelTestReply,
          ...errors,
          502: ErrorReply,
        },
      },
    },
    async (req, reply) => {
      try {
        const r = await alerts.testChannel(req.params.name, by(req));
        return { channel: r.channel, sentAt: isoTime(r.sentAt) };
      } catch (err) {
        return sendRefusal(err, req, reply, REFUSALS);
      }
    },
  );
}
