/**
 * Gateways and their health: the list with their counters, and one gateway with its machines'
 * health, connection counters and every node metric. A scoped caller sees the gateways of its
 * own enterprises (a gateway's group is its enterprise); one outside the scope is answered 404
 * like a missing one (and the refusal audited).
 */
import type { FastifyInstance } from 'fastify';
import { HubError } from '../../errors.js';
import { asOfGateway, details, type GatewaySummary, summarize } from '../../registry/gateway-metrics.js';
import type { Gateway } from '../../registry/types.js';
import { inScope, scopeOf } from '../access.js';
import { outOfScope } from '../auth.js';
import { iso, isoOrNull, type RouteDeps } from '../deps.js';
import { ErrorReply, GatewayDetail, GatewayList, GatewayParams } from '../schemas.js';

const errors = { 400: ErrorReply, 404: ErrorReply, 500: ErrorReply };

const NO_SUMMARY: GatewaySummary = {
  software: null,
  counters: {},
  devices: { online: 0, degraded: 0, offline: 0 },
  metricsAt: null,
  deviceHealth: new Map(),
};

export function gatewayRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, audit } = deps;

  /** Region of each declared enterprise, for scoping gateways (a gateway's group is its enterprise). */
  const regionOf = (): Map<string, string> =>
    new Map(registry.enterprises().map((e) => [e.code, e.regionCode]));

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
