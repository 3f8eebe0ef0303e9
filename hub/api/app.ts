/**
 * The hub's HTTP API, built as a fastify instance (listening is server.ts's job), so tests
 * use `app.inject()`. Every route declares TypeBox schemas; errors reply
 * `{ statusCode, code: "WANJI_E_…", error, message }`.
 */
import Fastify, {
  type FastifyBaseLogger,
  type FastifyError,
  type FastifyInstance,
  LogController,
} from 'fastify';
import type { Logger } from 'pino';
import { HubError } from '../errors.js';
import { details, type GatewaySummary, summarize } from '../registry/gateway-metrics.js';
import type { Registry } from '../registry/registry.js';
import type { Gateway, MachineRecord } from '../registry/types.js';
import { computeStats, type StatsWindows } from '../stats/stats.js';
import type { SampleStore } from '../store/types.js';
import { dashboardHtml } from './page.js';
import {
  EnterpriseList,
  ErrorReply,
  GatewayDetail,
  GatewayList,
  GatewayParams,
  HealthReply,
  MachineDetail,
  MachineList,
  MachineParams,
  MachinesQuery,
  SeriesQuery,
  SeriesReply,
  StatsReply,
} from './schemas.js';

export interface ApiDeps {
  readonly registry: Registry;
  readonly store: SampleStore;
  readonly logger: Logger;
  readonly clock: () => number;
  readonly windows: StatsWindows;
  /** Component status and counters for /healthz. */
  readonly health: () => Omit<HealthReply, 'status'>;
}

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  WANJI_E_API_VALIDATION: 400,
  WANJI_E_API_BAD_TIME: 400,
  WANJI_E_API_NOT_FOUND: 404,
};

const iso = (ms: number): string => new Date(ms).toISOString();
const isoOrNull = (ms: number | null): string | null => (ms === null ? null : iso(ms));

/** "1700000000000" or "2024-01-01T00:00:00Z" → ms. */
function parseTime(what: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const ms = /^-?\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(ms)) {
    throw new HubError(
      'WANJI_E_API_BAD_TIME',
      `${what} "${v}" is neither ms since the epoch nor an ISO 8601 time`,
    );
  }
  return ms;
}

export function buildApi(deps: ApiDeps): FastifyInstance {
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    // The dashboard polls every few seconds; per-request logs would drown everything else.
    logController: new LogController({ disableRequestLogging: true }),
  });
  const { registry, store, clock, windows } = deps;

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

  const findMachine = (p: MachineParams): MachineRecord => {
    const m = registry.machine(p.enterprise, p.machine);
    if (m === undefined) {
      throw new HubError(
        'WANJI_E_API_NOT_FOUND',
        `no machine "${p.machine}" in enterprise "${p.enterprise}"`,
      );
    }
    return m;
  };

  app.setErrorHandler((err: FastifyError | HubError, req, reply) => {
    let status: number;
    let code: string;
    if ('validation' in err && err.validation !== undefined) {
      status = 400;
      code = 'WANJI_E_API_VALIDATION';
    } else if (err instanceof HubError) {
      status = STATUS_BY_CODE[err.code] ?? 500;
      code = err.code;
    } else {
      status = typeof err.statusCode === 'number' && err.statusCode < 500 ? err.statusCode : 500;
      code = status < 500 ? `WANJI_E_API_${err.code ?? 'REQUEST'}` : 'WANJI_E_API_INTERNAL';
    }
    if (status >= 500) req.log.error({ err, url: req.url }, 'request failed');
    const error =
      status === 400
        ? 'Bad Request'
        : status === 404
          ? 'Not Found'
          : status >= 500
            ? 'Internal Server Error'
            : 'Error';
    const message = status >= 500 ? 'internal error; see the hub log' : err.message;
    void reply.status(status).send({ statusCode: status, code, error, message });
  });

  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({
      statusCode: 404,
      code: 'WANJI_E_API_NOT_FOUND',
      error: 'Not Found',
      message: `no route ${req.method} ${req.url}`,
    });
  });

  const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

  app.get('/', { schema: { response: { 200: { type: 'string' } } } }, async (_req, reply) =>
    reply.type('text/html; charset=utf-8').send(dashboardHtml()),
  );

  app.get(
    '/healthz',
    { schema: { response: { 200: HealthReply, 503: HealthReply } } },
    async (_req, reply) => {
      const h = deps.health();
      const ok = Object.values(h.components).every((c) => c.status === 'up');
      return reply.status(ok ? 200 : 503).send({ status: ok ? 'ok' : 'degraded', ...h });
    },
  );

  app.get('/api/v1/stats', { schema: { response: { 200: StatsReply, ...errors } } }, async () =>
    computeStats(registry, clock(), windows),
  );

  app.get<{ Querystring: MachinesQuery }>(
    '/api/v1/machines',
    { schema: { querystring: MachinesQuery, response: { 200: MachineList, ...errors } } },
    async (req) => {
      const now = clock();
      const q = req.query;
      const filter = {
        ...(q.enterprise === undefined ? {} : { enterprise: q.enterprise }),
        ...(q.region === undefined ? {} : { region: q.region }),
        ...(q.industry === undefined ? {} : { industry: q.industry }),
        ...(q.online === undefined ? {} : { online: q.online, onlineSince: now - windows.onlineMs }),
      };
      const machines = registry.machines({ ...filter, limit: q.limit, offset: q.offset });
      return { total: registry.countMachines(filter), machines: machines.map((m) => machineJson(m, now)) };
    },
  );

  app.get<{ Params: MachineParams }>(
    '/api/v1/machines/:enterprise/:machine',
    { schema: { params: MachineParams, response: { 200: MachineDetail, ...errors } } },
    async (req) => {
      const m = findMachine(req.params);
      return { machine: machineJson(m, clock()), latest: await store.latest(m.enterprise, m.id) };
    },
  );

  app.get<{ Params: MachineParams; Querystring: SeriesQuery }>(
    '/api/v1/machines/:enterprise/:machine/series',
    {
      schema: { params: MachineParams, querystring: SeriesQuery, response: { 200: SeriesReply, ...errors } },
    },
    async (req) => {
      const m = findMachine(req.params);
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

  const NO_SUMMARY: GatewaySummary = {
    software: null,
    counters: {},
    devices: { online: 0, degraded: 0, offline: 0 },
    metricsAt: null,
  };
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

  app.get('/api/v1/gateways', { schema: { response: { 200: GatewayList, ...errors } } }, async () => {
    const summaries = registry.gatewaySummaries();
    return {
      gateways: registry.gateways().map((g) => gatewayJson(g, summaries.get(`${g.group}/${g.edgeNode}`))),
    };
  });

  app.get<{ Params: GatewayParams }>(
    '/api/v1/gateways/:group/:node',
    { schema: { params: GatewayParams, response: { 200: GatewayDetail, ...errors } } },
    async (req) => {
      const { group, node } = req.params;
      const g = registry.gateway(group, node);
      if (g === undefined) {
        throw new HubError('WANJI_E_API_NOT_FOUND', `no gateway "${node}" in group "${group}"`);
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

  app.get('/api/v1/enterprises', { schema: { response: { 200: EnterpriseList, ...errors } } }, async () => {
    const now = clock();
    const activity = new Map(
      registry
        .activityByEnterprise(now - windows.networkingMs, now - windows.onlineMs)
        .map((a) => [a.enterprise, a]),
    );
    return {
      enterprises: registry.enterprises().map((e) => {
        const a = activity.get(e.code);
        const p = e.ledger.productionEquipment;
        const networked = a?.networked ?? 0;
        return {
          code: e.code,
          name: e.name,
          region: e.regionCode,
          industry: e.industryCode,
          backbone: e.backbone,
          ledger: e.ledger,
          declaredBy: e.declaredBy,
          declaredAt: iso(e.declaredAt),
          machines: a?.machines ?? 0,
          networked,
          online: a?.online ?? 0,
          networkingRate: p > 0 ? networked / p : null,
          ncRate: p > 0 ? e.ledger.ncEquipment / p : null,
        };
      }),
    };
  });

  return app;
}
