/**
 * Machines and their telemetry: the list (with state, online and networked flags), one machine
 * with the latest value of each metric, and a metric's series; an operator's word on a machine
 * is machine-changes.ts. A scoped caller sees only its own: lists are narrowed, a machine
 * outside the scope is answered 404 like a missing one (and the refusal audited).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { HubError } from '../../errors.js';
import { LiveFeed } from '../../live/feed.js';
import type { MachineRecord } from '../../registry/types.js';
import { jsonPoint } from '../../store/values.js';
import { inScope, scopeOf } from '../access.js';
import { outOfScope } from '../auth.js';
import { iso, isoOrNull, parseTime, type RouteDeps } from '../deps.js';
import {
  ErrorReply,
  MachineDetail,
  MachineList,
  MachineParams,
  MachinesQuery,
  SeriesQuery,
  SeriesReply,
} from '../schemas.js';
import { narrowList } from '../scope.js';
import { machineChangeRoutes } from './machine-changes.js';
import { machineLiveRoutes } from './machine-live.js';
import { reportedMachine, reportedMachines } from './reported-machines.js';
import { steppedSeries } from './series-step.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

export function machineRoutes(app: FastifyInstance, deps: RouteDeps): void {
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
        ...(q.search === undefined ? {} : { search: q.search }),
      };
      const total = registry.countMachines(filter);
      // Beside the announced machines, those a gateway reports but never announced (issue 10).
      const reported = reportedMachines(registry, scopeOf(req.principal), {
        ...narrowed.filter,
        ...(q.industry === undefined ? {} : { industry: q.industry }),
        ...(q.online === undefined ? {} : { online: q.online }),
        ...(q.status === undefined ? {} : { status: q.status }),
        ...(q.search === undefined ? {} : { search: q.search }),
      });
      if (q.order === 'attention') {
        // Never answered first (they need someone most), then the announced ones, stale first.
        const head = reported.slice(q.offset, q.offset + q.limit);
        const rest =
          head.length === q.limit
            ? []
            : registry.machines({
                ...filter,
                attention: true,
                onlineSince: now - windows.onlineMs,
                limit: q.limit - head.length,
                offset: Math.max(0, q.offset - reported.length),
              });
        return {
          total: total + reported.length,
          machines: [...head, ...rest.map((m) => machineJson(m, now))],
        };
      }
      const machines = registry.machines({ ...filter, limit: q.limit, offset: q.offset });
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
      const step = req.query.step;
      const ref = { enterprise: m.enterprise, machine: m.id, metric: req.query.metric };
      const points =
        step !== undefined
          ? await steppedSeries(store, { ...ref, from, to: to ?? clock(), step })
          : await store.query({
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
  // Without the hub's feed (an API built alone) the stream sends the stored values and heartbeats.
  machineLiveRoutes(app, { ...deps, live: deps.live ?? new LiveFeed() }, findMachine);
}
