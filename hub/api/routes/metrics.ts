/**
 * `GET /metrics`: the hub's own figures in the Prometheus text format 0.0.4, for operators'
 * monitoring (docs/metrics.md lists every metric and the scrape config). Access `metrics`
 * (admin, operator). Each section is read on its own: one that fails (a registry being
 * closed, say) is logged and counted in `wanji_metrics_collection_errors_total`, and the
 * others are still answered, so a scrape never goes blank because of one part.
 */
import { readFileSync } from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { exposition, METRICS_CONTENT_TYPE, type MetricFamily } from '../../metrics/exposition.js';
import { hubFamilies } from '../../metrics/hub-metrics.js';
import { ProcessMetrics } from '../../metrics/process.js';
import { computeStats } from '../../stats/stats.js';
import type { RouteDeps } from '../deps.js';

const SECTIONS = [
  'process',
  'health',
  'broker',
  'host',
  'ingest',
  'registry',
  'gateways',
  'alerts',
  'live',
] as const;
type Section = (typeof SECTIONS)[number];

let cachedVersion: string | undefined;

/** The package's version, from the package.json above the sources or the build. */
export function wanjiVersion(): string {
  if (cachedVersion !== undefined) return cachedVersion;
  cachedVersion = 'unknown';
  for (const rel of ['../../../package.json', '../../../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: unknown;
        version?: unknown;
      };
      if (pkg.name === 'wanji' && typeof pkg.version === 'string') {
        cachedVersion = pkg.version;
        break;
      }
    } catch {
      // try the next location
    }
  }
  return cachedVersion;
}

export function metricsRoutes(app: FastifyInstance, deps: RouteDeps): void {
  const { registry, clock, windows } = deps;
  const log = deps.logger.child({ component: 'metrics' });
  const processMetrics = new ProcessMetrics();
  processMetrics.start();
  app.addHook('onClose', async () => processMetrics.close());
  const failures: Record<Section, number> = {
    process: 0,
    health: 0,
    broker: 0,
    host: 0,
    ingest: 0,
    registry: 0,
    gateways: 0,
    alerts: 0,
    live: 0,
  };

  const sections: Readonly<Record<Section, () => MetricFamily[]>> = {
    process: () => processMetrics.families(),
    health: () => hubFamilies.health(deps.health().components),
    broker: () => (deps.metrics === undefined ? [] : hubFamilies.broker(deps.metrics)),
    host: () => (deps.metrics === undefined ? [] : hubFamilies.host(deps.metrics)),
    ingest: () => (deps.metrics === undefined ? [] : hubFamilies.ingest(deps.metrics)),
    registry: () => hubFamilies.registry(computeStats(registry, clock(), windows), registry.gateways()),
    gateways: () => {
      const connections = registry.gatewayConnections();
      return hubFamilies.gateways({
        gateways: registry.gateways(),
        summaries: registry.gatewaySummaries(),
        connections: (g) => connections.get(`${g.group}/${g.edgeNode}`) ?? [],
        journals: deps.metrics?.host()?.journals() ?? [],
      });
    },
    alerts: () => (deps.alerts === undefined ? [] : hubFamilies.alerts(deps.alerts)),
    live: () => (deps.live === undefined ? [] : hubFamilies.live(deps.live.counters)),
  };

  app.get(
    '/metrics',
    {
      config: { access: 'metrics' },
      schema: {
        summary: "the hub's own metrics (broker, host, ingest, store, registry, gateways) for Prometheus",
        description:
          'Prometheus text exposition format 0.0.4; docs/metrics.md lists every metric and a scrape config.',
        produces: [METRICS_CONTENT_TYPE],
        response: { 200: { type: 'string' } },
      },
    },
    async (_req, reply) => {
      const families: MetricFamily[] = [
        {
          name: 'wanji_build_info',
          type: 'gauge',
          help: 'the Wanji version of this hub (always 1)',
          samples: [{ labels: { version: wanjiVersion() }, value: 1 }],
        },
      ];
      for (const section of SECTIONS) {
        try {
          families.push(...sections[section]());
        } catch (err) {
          failures[section]++;
          log.error({ err, section }, 'a /metrics section could not be read; the others are answered');
        }
      }
      families.push({
        name: 'wanji_metrics_collection_errors_total',
        type: 'counter',
        help: 'sections of /metrics that could not be read (see the hub log), by section',
        samples: SECTIONS.map((section) => ({ labels: { section }, value: failures[section] })),
      });
      return reply.type(METRICS_CONTENT_TYPE).send(exposition(families));
    },
  );
}
