/**
 * The fleet (machines, gateways and their health) and telemetry (latest values, series).
 * A scoped caller sees only its own: lists are narrowed, a single object outside the scope is
 * answered 404 like a missing one (and the refusal audited).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HubError } from '../../errors.js';
import { details, type GatewaySummary, summarize } from '../../registry/gateway-metrics.js';
import type { Gateway, MachineRecord } from '../../registry/types.js';
import { inScope, scopeOf } from '../access.js';
import { outOfScope } from '../auth.js';
import { iso, isoOrNull, parseTime, type RouteDeps } from '../deps.js';
import {
  ErrorReply,
  GatewayDetail,
  GatewayList,
  GatewayParams,
  MachineDetail,
  MachineList,
  MachineParams,
  MachinesQuery,
  SeriesQuery,
  SeriesReply,
} from '../schemas.js';
import { narrowList } from '../scope.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

const NO_SUMMARY: GatewaySummary = {
  software: null,
  counters: {},
  devices: { online: 0, degraded: 0, offline: 0 },
  metricsAt: null,
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
      };
      const machines = registry.machines({ ...filter, limit: q.limit, offset: q.offset });
      return { total: registry.countMachines(filter), machines: machines.map((m) => machineJson(m, now)) };
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
      const m = findMachine(req, req.params);
      return { machine: machineJson(m, clock()), latest: await store.latest(m.enterprise, m.id) };
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
      return { enterprise: m.enterprise, machine: m.id, metric: req.query.metric, points };
    },
  );

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
          .map((g) => gatewayJson(g, summaries.get(`${g.group}/${g.edgeNode}`))),
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
      const { devices, connections } = details(metrics);
      return {
        gateway: gatewayJson(g, summarize(metrics)),
        devices: devices.map((d) => ({ ...d, healthAt: isoOrNull(d.healthAt) })),
        connections,
        metrics: metrics.map((m) => ({ name: m.name, value: m.value, updatedAt: iso(m.at) })),
      };
    },
  );
}
