/**
 * The fleet (machines, gateways and their health) and telemetry (latest values, series), and
 * an operator's word on a machine (confirm, retire, merge: docs/statistics.md, "What is
 * counted"). A scoped caller sees only its own: lists are narrowed, a single object outside
 * the scope is answered 404 like a missing one (and the refusal audited).
 */
import { type Static, Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { HubError } from '../../errors.js';
import { asOfGateway, details, type GatewaySummary, summarize } from '../../registry/gateway-metrics.js';
import {
  type BulkRetireResult,
  MAX_BULK_IDS,
  MAX_REASON_CHARS,
  type MachineChangeBy,
} from '../../registry/machine-status.js';
import type { Gateway, MachineRecord } from '../../registry/types.js';
import { jsonPoint } from '../../store/values.js';
import { inScope, scopeOf } from '../access.js';
import { outOfScope } from '../auth.js';
import { iso, isoOrNull, parseTime, type RouteDeps } from '../deps.js';
import { actorOf, sendRefusal } from '../errors.js';
import {
  ErrorReply,
  GatewayDetail,
  GatewayList,
  GatewayParams,
  Machine,
  MachineDetail,
  MachineList,
  MachineParams,
  MachinesQuery,
  SeriesQuery,
  SeriesReply,
} from '../schemas.js';
import { narrowList } from '../scope.js';
import { reportedMachine, reportedMachines } from './reported-machines.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

const Reason = Type.String({
  minLength: 1,
  maxLength: MAX_REASON_CHARS,
  description: 'why; kept in the audit log',
});
export const MachineChangeBody = Type.Object(
  { reason: Type.Optional(Reason) },
  { additionalProperties: false },
);
export type MachineChangeBody = Static<typeof MachineChangeBody>;
export const MachineMergeBody = Type.Object(
  {
    into: Type.String({
      minLength: 1,
      maxLength: 200,
      description: 'the machine (same enterprise) it is a duplicate of',
    }),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type MachineMergeBody = Static<typeof MachineMergeBody>;
export const MachineChangeReply = Type.Object({
  machine: Machine,
  changed: Type.Boolean({ description: 'false when the machine already was what was asked' }),
});

export const EnterpriseMachinesParams = Type.Object({ enterprise: Type.String({ minLength: 1 }) });
export type EnterpriseMachinesParams = Static<typeof EnterpriseMachinesParams>;
export const BulkRetireBody = Type.Object(
  {
    status: Type.Literal('unconfirmed', {
      description:
        'which machines: every unconfirmed one (required, so that no request retires machines by accident)',
    }),
    gateway: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 64,
        description: 'only the machines last announced by this gateway (edge node id)',
      }),
    ),
    reason: Type.Optional(Reason),
  },
  { additionalProperties: false },
);
export type BulkRetireBody = Static<typeof BulkRetireBody>;
export const BulkRetireReply = Type.Object({
  enterprise: Type.String(),
  status: Type.Literal('unconfirmed'),
  gateway: Type.Union([Type.String(), Type.Null()]),
  retired: Type.Integer({ description: 'how many machines were retired' }),
  ids: Type.Array(Type.String(), {
    description: `the first ${MAX_BULK_IDS} ids retired, in id order; GET /api/v1/machines?status=retired lists all`,
  }),
});

/** The registry's refusals of a machine change (already audited there), with their status. */
const CHANGE_STATUS: Readonly<Record<string, number>> = {
  WANJI_E_REGISTRY_UNKNOWN_MACHINE: 404,
  WANJI_E_REGISTRY_MACHINE_CHANGE: 400,
};

const NO_SUMMARY: GatewaySummary = {
  software: null,
  counters: {},
  devices: { online: 0, degraded: 0, offline: 0 },
  metricsAt: null,
  deviceHealth: new Map(),
};

export function fleetRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, store, clock, windows, audit } = deps;

  const machineJson = (m: MachineRecord, now: number) => {
    const online = !m.dead && m.lastSeenAt !== null && m.lastSeenAt >= now - windows.onlineMs;
    return {
      enterprise: m.enterprise,
      id: m.id,
      kind: m.kind,
      nc: m.nc,
      robot: m.robot,
      dataDepth: m.dataDepth,
      state: online ? m.state : 'offline',
      online,
      networked: m.lastSampleAt !== null && m.lastSampleAt >= now - windows.networkingMs,
      dead: m.dead,
      health: m.health,
      gateway: m.gateway,
      region: m.regionCode,
      industry: m.industryCode,
      firstSeen: iso(m.firstSeen),
      lastSeenAt: isoOrNull(m.lastSeenAt),
      lastSampleAt: isoOrNull(m.lastSampleAt),
      status: m.status,
      confirmedAt: isoOrNull(m.confirmedAt),
      confirmedBy: m.confirmedBy,
      retiredAt: isoOrNull(m.retiredAt),
      retiredBy: m.retiredBy,
      mergedInto: m.mergedInto,
    };
  };

  /** The machine, if it exists and the caller may see it; else 404 (the same answer for both). */
  const findMachine = (req: FastifyRequest, p: MachineParams): MachineRecord => {
    const message = `no machine "${p.machine}" in enterprise "${p.enterprise}"`;
    const m = registry.machine(p.enterprise, p.machine);
    if (m === undefined) throw new HubError('WANJI_E_API_NOT_FOUND', message);
    if (!inScope(scopeOf(req.principal), m.enterprise, m.regionCode)) {
      throw outOfScope(audit, req, `machine ${m.enterprise}/${m.id}`, message);
    }
    return m;
  };

  /**
   * A machine its gateway reports but never announced (reported-machines.ts); outside the
   * scope, 404 like a missing one (and audited), as findMachine does.
   */
  const findReported = (req: FastifyRequest, p: MachineParams) => {
    if (registry.machine(p.enterprise, p.machine) !== undefined) return undefined;
    const m = reportedMachine(registry, {}, p.enterprise, p.machine);
    if (m !== undefined && !inScope(scopeOf(req.principal), m.enterprise, m.region)) {
      const message = `no machine "${p.machine}" in enterprise "${p.enterprise}"`;
      throw outOfScope(audit, req, `machine ${m.enterprise}/${m.id}`, message);
    }
    return m;
  };

  /** Region of each declared enterprise, for scoping gateways (a gateway's group is its enterprise). */
  const regionOf = (): Map<string, string> =>
    new Map(registry.enterprises().map((e) => [e.code, e.regionCode]));

  app.get<{ Querystring: MachinesQuery }>(
    '/api/v1/machines',
    {
      config: { access: 'fleet' },
      schema: {
        summary: 'machines with state, online and networked flags (within the scope)',
        querystring: MachinesQuery,
        response: { 200: MachineList, ...errors },
      },
    },
    async (req) => {
      const now = clock();
      const q = req.query;
      const narrowed = narrowList(scopeOf(req.principal), {
        ...(q.enterprise === undefined ? {} : { enterprise: q.enterprise }),
        ...(q.region === undefined ? {} : { region: q.region }),
      });
      if (narrowed.outside !== undefined) {
        // Answered like a filter that matches nothing; recorded as the refusal it is.
        outOfScope(audit, req, narrowed.outside, '');
        return { total: 0, machines: [] };
      }
      const filter = {
        ...narrowed.filter,
        ...(q.industry === undefined ? {} : { industry: q.industry }),
        ...(q.online === undefined ? {} : { online: q.online, onlineSince: now - windows.onlineMs }),
        ...(q.status === undefined ? {} : { status: q.status }),
      };
      const machines = registry.machines({ ...filter, limit: q.limit, offset: q.offset });
      const total = registry.countMachines(filter);
      // After the announced machines, those a gateway reports but never announced (issue 10).
      const reported = reportedMachines(registry, scopeOf(req.principal), {
        ...narrowed.filter,
        ...(q.industry === undefined ? {} : { industry: q.industry }),
        ...(q.online === undefined ? {} : { online: q.online }),
        ...(q.status === undefined ? {} : { status: q.status }),
      });
      const from = Math.max(0, q.offset - total);
      return {
        total: total + reported.length,
        machines: [
          ...machines.map((m) => machineJson(m, now)),
          ...reported.slice(from, from + q.limit - machines.length),
        ],
      };
    },
  );

  app.get<{ Params: MachineParams }>(
    '/api/v1/machines/:enterprise/:machine',
    {
      config: { access: 'telemetry' },
      schema: {
        summary: 'one machine and the latest value of each of its metrics',
        params: MachineParams,
        response: { 200: MachineDetail, ...errors },
      },
    },
    async (req) => {
      const reported = findReported(req, req.params);
      if (reported !== undefined) return { machine: reported, latest: [] };
      const m = findMachine(req, req.params);
      const latest = await store.latest(m.enterprise, m.id);
      return { machine: machineJson(m, clock()), latest: latest.map(jsonPoint) };
    },
  );

  app.get<{ Params: MachineParams; Querystring: SeriesQuery }>(
    '/api/v1/machines/:enterprise/:machine/series',
    {
      config: { access: 'telemetry' },
      schema: {
        summary: "a metric's raw series",
        params: MachineParams,
        querystring: SeriesQuery,
        response: { 200: SeriesReply, ...errors },
      },
    },
    async (req) => {
      const reported = findReported(req, req.params);
      if (reported !== undefined) {
        return {
          enterprise: reported.enterprise,
          machine: reported.id,
          metric: req.query.metric,
          points: [],
        };
      }
      const m = findMachine(req, req.params);
      const from = parseTime('from', req.query.from);
      const to = parseTime('to', req.query.to);
      const points = await store.query({
        enterprise: m.enterprise,
        machine: m.id,
        metric: req.query.metric,
        limit: req.query.limit,
        ...(from === undefined ? {} : { from }),
        ...(to === undefined ? {} : { to }),
      });
      // An integer beyond ±(2^53−1) leaves as a string of its digits (docs/api.md).
      return {
        enterprise: m.enterprise,
        machine: m.id,
        metric: req.query.metric,
        points: points.map(jsonPoint),
      };
    },
  );

  machineChangeRoutes(app, deps, machineJson, findMachine);

  const gatewayJson = (g: Gateway, s: GatewaySummary = NO_SUMMARY) => ({
    group: g.group,
    edgeNode: g.edgeNode,
    online: g.online,
    bdSeq: g.bdSeq,
    firstSeen: iso(g.firstSeen),
    lastBirthAt: isoOrNull(g.lastBirthAt),
    lastDeathAt: isoOrNull(g.lastDeathAt),
    lastSeenAt: isoOrNull(g.lastSeenAt),
    software: s.software,
    counters: s.counters,
    devices: s.devices,
    metricsAt: isoOrNull(s.metricsAt),
  });

  app.get(
    '/api/v1/gateways',
    {
      config: { access: 'fleet' },
      schema: {
        summary: 'gateways with their counters (within the scope)',
        response: { 200: GatewayList, ...errors },
      },
    },
    async (req) => {
      const scope = scopeOf(req.principal);
      const region = regionOf();
      const summaries = registry.gatewaySummaries();
      return {
        gateways: registry
          .gateways()
          .filter((g) => inScope(scope, g.group, region.get(g.group)))
          .map((g) =>
            gatewayJson(g, asOfGateway(summaries.get(`${g.group}/${g.edgeNode}`) ?? NO_SUMMARY, g.online)),
          ),
      };
    },
  );

  app.get<{ Params: GatewayParams }>(
    '/api/v1/gateways/:group/:node',
    {
      config: { access: 'fleet' },
      schema: {
        summary: "one gateway: its machines' health, connection counters and every node metric",
        params: GatewayParams,
        response: { 200: GatewayDetail, ...errors },
      },
    },
    async (req) => {
      const { group, node } = req.params;
      const message = `no gateway "${node}" in group "${group}"`;
      const g = registry.gateway(group, node);
      if (g === undefined) throw new HubError('WANJI_E_API_NOT_FOUND', message);
      if (!inScope(scopeOf(req.principal), g.group, regionOf().get(g.group))) {
        throw outOfScope(audit, req, `gateway ${group}/${node}`, message);
      }
      const metrics = registry.gatewayMetrics(group, node);
      const { devices, connections } = details(metrics, g.online);
      return {
        gateway: gatewayJson(g, asOfGateway(summarize(metrics), g.online)),
        devices: devices.map((d) => ({ ...d, healthAt: isoOrNull(d.healthAt) })),
        connections,
        metrics: metrics.map((m) => ({ name: m.name, value: m.value, updatedAt: iso(m.at) })),
      };
    },
  );
}

/**
 * `POST /api/v1/machines/:enterprise/:machine/confirm|retire|merge` and
 * `POST /api/v1/machines/:enterprise/retire` (every unconfirmed one; access manage): the
 * registry writes each change with its audit entry, and audits its own refusals; the error
 * handler audits what the schemas refuse and a machine outside the scope.
 */
function machineChangeRoutes(
  app: FastifyInstance,
  deps: RouteDeps,
  machineJson: (m: MachineRecord, now: number) => Static<typeof Machine>,
  findMachine: (req: FastifyRequest, p: MachineParams) => MachineRecord,
): void {
  const { registry, clock, audit } = deps;
  const by = (req: FastifyRequest, reason: string | undefined): MachineChangeBy => ({
    actor: actorOf(req),
    source: req.ip,
    ...(reason === undefined ? {} : { reason }),
  });
  const answer = (
    req: FastifyRequest,
    reply: FastifyReply,
    change: () => { machine: MachineRecord; changed: boolean },
  ) => {
    try {
      const r = change();
      return { machine: machineJson(r.machine, clock()), changed: r.changed };
    } catch (err) {
      return sendRefusal(err, req, reply, CHANGE_STATUS);
    }
  };
  /** confirm and retire take an optional body: none at all reads as `{}`. */
  const noBody = async (req: FastifyRequest): Promise<void> => {
    if (req.body === undefined || req.body === null) req.body = {};
  };
  const schema = (summary: string, body: typeof MachineChangeBody | typeof MachineMergeBody) => ({
    summary,
    params: MachineParams,
    body,
    response: { 200: MachineChangeReply, ...errors, 413: ErrorReply, 415: ErrorReply },
  });

  app.post<{ Params: MachineParams; Body: MachineChangeBody | undefined }>(
    '/api/v1/machines/:enterprise/:machine/confirm',
    {
      config: { access: 'manage', action: 'machine.confirm' },
      preValidation: noBody,
      schema: schema(
        'confirm a machine as real (a retired one comes back); it counts within its ledger',
        MachineChangeBody,
      ),
    },
    async (req, reply) => {
      const m = findMachine(req, req.params);
      return answer(req, reply, () => registry.confirmMachine(m.enterprise, m.id, by(req, req.body?.reason)));
    },
  );

  app.post<{ Params: MachineParams; Body: MachineChangeBody | undefined }>(
    '/api/v1/machines/:enterprise/:machine/retire',
    {
      config: { access: 'manage', action: 'machine.retire' },
      preValidation: noBody,
      schema: schema(
        'retire a machine: out of every count, whatever its gateway sends, until confirmed again',
        MachineChangeBody,
      ),
    },
    async (req, reply) => {
      const m = findMachine(req, req.params);
      return answer(req, reply, () => registry.retireMachine(m.enterprise, m.id, by(req, req.body?.reason)));
    },
  );

  app.post<{ Params: EnterpriseMachinesParams; Body: BulkRetireBody }>(
    '/api/v1/machines/:enterprise/retire',
    {
      config: { access: 'manage', action: 'machine.retire' },
      schema: {
        summary:
          'retire every unconfirmed machine of an enterprise (or of one of its gateways): after a flood of invented machines; one audit entry',
        params: EnterpriseMachinesParams,
        body: BulkRetireBody,
        response: { 200: BulkRetireReply, ...errors, 413: ErrorReply, 415: ErrorReply },
      },
    },
    async (req, reply) => {
      const { enterprise } = req.params;
      // The same answer for an enterprise that does not exist and one outside the scope.
      const message = `no enterprise "${enterprise}": it is not declared and has no machines`;
      const declared = registry.enterprise(enterprise);
      if (declared === undefined && registry.countMachines({ enterprise }) === 0) {
        throw new HubError('WANJI_E_API_NOT_FOUND', message);
      }
      if (!inScope(scopeOf(req.principal), enterprise, declared?.regionCode)) {
        throw outOfScope(audit, req, `enterprise ${enterprise}`, message);
      }
      try {
        const r: BulkRetireResult = registry.retireUnconfirmedMachines(
          enterprise,
          req.body.gateway === undefined ? {} : { gateway: req.body.gateway },
          by(req, req.body.reason),
        );
        return { ...r, status: 'unconfirmed' as const };
      } catch (err) {
        return sendRefusal(err, req, reply, CHANGE_STATUS);
      }
    },
  );

  app.post<{ Params: MachineParams; Body: MachineMergeBody }>(
    '/api/v1/machines/:enterprise/:machine/merge',
    {
      config: { access: 'manage', action: 'machine.merge' },
      schema: schema(
        'merge a duplicate machine id into another of the same enterprise: the duplicate is retired',
        MachineMergeBody,
      ),
    },
    async (req, reply) => {
      const m = findMachine(req, req.params);
      return answer(req, reply, () =>
        registry.mergeMachine(m.enterprise, m.id, req.body.into, by(req, req.body.reason)),
      );
    },
  );
}
