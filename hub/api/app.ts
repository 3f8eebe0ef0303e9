/**
 * The hub's HTTP API, built as a fastify instance (listening is server.ts's job), so tests
 * use `app.inject()`. Every route declares its access level (access.ts) and TypeBox schemas;
 * errors reply `{ statusCode, code: "WANJI_E_…", error, message }`. The OpenAPI document is
 * at /docs/json, its browser at /docs.
 *
 * Route modules are registered with `app.register(...)` below, after the security and OpenAPI
 * plugins, so that the auth hook and the document cover them.
 */
import rateLimit from '@fastify/rate-limit';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyBaseLogger, type FastifyInstance, LogController } from 'fastify';
import { AuditLog } from '../security/audit.js';
import { fastifyTrustProxy } from '../security/source-address.js';
import { TokenStore } from '../security/tokens.js';
import { UserStore } from '../security/users.js';
import { installAuth } from './auth.js';
import type { ApiDeps, RouteDeps } from './deps.js';
import { frameworkError, installErrorHandlers } from './errors.js';
import { installSecurityHeaders } from './headers.js';
import { adminRoutes } from './routes/admin.js';
import { alertRoutes } from './routes/alerts.js';
import { gatewayRoutes } from './routes/gateways.js';
import { machineRoutes } from './routes/machines.js';
import { metricsRoutes } from './routes/metrics.js';
import { mqttUserRoutes } from './routes/mqtt-users.js';
import { overviewRoutes } from './routes/overview.js';
import { registryRoutes } from './routes/registry.js';
import { sessionRoutes } from './routes/session.js';
import { statisticsRoutes } from './routes/statistics.js';
import { targetRoutes } from './routes/targets.js';
import { userRoutes } from './routes/users.js';
import { findWebRoot, webRoutes } from './web.js';

export type { ApiDeps, RouteDeps } from './deps.js';

export const DOCS_PREFIX = '/docs';

/** The defaults of the hub config's `http` section (hub/config.ts). */
const DEFAULT_LIMITS = {
  bodyLimit: 1_048_576,
  trustProxy: false as const,
  rateLimit: { enabled: true, windowMs: 60_000, perToken: 6_000, perIp: 120 },
};

export function buildApi(deps: ApiDeps): FastifyInstance {
  const limits = {
    bodyLimit: deps.http?.bodyLimit ?? DEFAULT_LIMITS.bodyLimit,
    trustProxy: deps.http?.trustProxy ?? DEFAULT_LIMITS.trustProxy,
    rateLimit: { ...DEFAULT_LIMITS.rateLimit, ...deps.http?.rateLimit },
  };
  const audit = deps.audit ?? new AuditLog(deps.registry.database, deps.clock);
  const app = Fastify({
    loggerInstance: deps.logger.child({ component: 'api' }) as FastifyBaseLogger,
    // The dashboard polls every few seconds; per-request logs would drown everything else.
    // Refusals are logged by the auth hook and the error handler, with their reason.
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: limits.bodyLimit,
    // Only the listed proxies' X-Forwarded-For is believed; from any other peer, the socket's address.
    trustProxy: fastifyTrustProxy(limits.trustProxy),
    // Unknown properties and parameters are refused with a 400 naming them, not dropped quietly.
    ajv: { customOptions: { removeAdditional: false } },
    frameworkErrors: (err, req, reply) => frameworkError(audit, err, req, reply),
  });
  const tokens = deps.tokens ?? new TokenStore(deps.registry.database, audit, { clock: deps.clock });
  const users =
    deps.users ??
    new UserStore(deps.registry.database, audit, {
      clock: deps.clock,
      ...(deps.http?.session === undefined ? {} : deps.http.session),
    });
  const routeDeps: RouteDeps = { ...deps, audit, tokens, users };

  installErrorHandlers(app, audit, {
    enterpriseRegion: (code) => deps.registry.enterprise(code)?.regionCode,
  });
  installAuth(app, { tokens, users, audit, rateLimit: limits.rateLimit, docsPrefix: DOCS_PREFIX });
  installSecurityHeaders(app, { docsPrefix: DOCS_PREFIX });
  void app.register(rateLimit, { global: false });
  void app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Wanji hub API',
        version: 'v1',
        description:
          'Networked machines, statistics, fleet and telemetry of a Wanji hub. Send `Authorization: Bearer wj_…` (programs), or sign in with POST /api/v1/session for the `wanji_session` cookie (people); each route says which roles it admits.',
      },
      components: {
        securitySchemes: {
          bearer: {
            type: 'http',
            scheme: 'bearer',
            description: 'a token from `wanji token create` or POST /api/v1/tokens: wj_<id>_<secret>',
          },
        },
      },
      security: [{ bearer: [] }],
    },
  });
  void app.register(swaggerUi, { routePrefix: DOCS_PREFIX });

  void app.register(async (api) =>
    webRoutes(api, deps.webRoot === undefined ? findWebRoot() : (deps.webRoot ?? undefined)),
  );
  void app.register(async (api) => overviewRoutes(api, routeDeps));
  void app.register(async (api) => machineRoutes(api, routeDeps));
  void app.register(async (api) => gatewayRoutes(api, routeDeps));
  void app.register(async (api) => adminRoutes(api, routeDeps));
  void app.register(async (api) => mqttUserRoutes(api, routeDeps));
  void app.register(async (api) => registryRoutes(api, routeDeps));
  void app.register(async (api) => statisticsRoutes(api, routeDeps));
  void app.register(async (api) => targetRoutes(api, routeDeps));
  const alerts = deps.alerts;
  if (alerts !== undefined) void app.register(async (api) => alertRoutes(api, { ...routeDeps, alerts }));
  void app.register(async (api) => metricsRoutes(api, routeDeps));
  void app.register(async (api) => sessionRoutes(api, routeDeps));
  void app.register(async (api) => userRoutes(api, routeDeps));
  return app;
}
