/**
 * Every route the API registers (this hub's own and any added later) declares an access level
 * and schemas; a route that forgets its access level is refused; the OpenAPI document at
 * /docs/json declares the bearer scheme and which routes need it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACCESS_LEVELS } from '../../hub/api/access.js';
import { DOCS_PREFIX } from '../../hub/api/app.js';
import { declaredRoutes } from '../../hub/api/auth.js';
import { apiFixture, auditSince, type Fixture, lastAuditId } from './api-security-fixture.js';

let f: Fixture;
beforeAll(async () => {
  f = await apiFixture();
});
afterAll(async () => {
  await f.close();
});

/** POST routes that take no JSON body, and why. */
const NO_JSON_BODY = new Set([
  // A CSV or XLSX file, checked row by row by the importer (its report names each refused row).
  'POST /api/v1/registry/import',
  // The same file, checked as a dry run and returned annotated as XLSX.
  'POST /api/v1/registry/import/annotated',
  // Workshop/factory and platform declarations as CSV or XLSX, checked row by row likewise.
  'POST /api/v1/targets/recognitions/import',
  'POST /api/v1/targets/platforms/import',
  // Programme target rows as CSV or XLSX, checked row by row likewise.
  'POST /api/v1/targets/import',
  // Takes today's snapshot: nothing to send.
  'POST /api/v1/statistics/snapshots',
]);

const isDocs = (url: string) => url === DOCS_PREFIX || url.startsWith(`${DOCS_PREFIX}/`);

describe('every route', () => {
  it('declares an access level, and schemas for its parameters and replies', () => {
    const routes = declaredRoutes(f.app);
    expect(routes.length).toBeGreaterThan(12);
    const problems: string[] = [];
    for (const r of routes) {
      const name = `${r.method} ${r.url}`;
      if (r.access === undefined || !ACCESS_LEVELS.includes(r.access))
        problems.push(`${name}: no access level`);
      // The OpenAPI browser's own files are the plugin's; every API route has full schemas.
      if (isDocs(r.url) || r.method === 'HEAD') continue;
      if (r.schema.response === undefined) problems.push(`${name}: no response schema`);
      if (r.schema.querystring === undefined) problems.push(`${name}: no querystring schema`);
      if (r.url.includes(':') && r.schema.params === undefined) problems.push(`${name}: no params schema`);
      if (
        ['POST', 'PUT', 'PATCH'].includes(r.method) &&
        r.schema.body === undefined &&
        !NO_JSON_BODY.has(name)
      ) {
        problems.push(`${name}: no body schema`);
      }
    }
    expect(problems).toEqual([]);
    const access = Object.fromEntries(
      routes.filter((r) => r.method !== 'HEAD').map((r) => [`${r.method} ${r.url}`, r.access]),
    );
    expect(access).toMatchObject({
      'GET /': 'public',
      'GET /healthz': 'public',
      'GET /api/v1/stats': 'aggregate',
      'GET /api/v1/enterprises': 'aggregate',
      'GET /api/v1/machines': 'fleet',
      'GET /api/v1/gateways': 'fleet',
      'GET /api/v1/gateways/:group/:node': 'fleet',
      'GET /api/v1/machines/:enterprise/:machine': 'telemetry',
      'GET /api/v1/machines/:enterprise/:machine/series': 'telemetry',
      'POST /api/v1/tokens': 'admin',
      'GET /api/v1/tokens': 'admin',
      'DELETE /api/v1/tokens/:id': 'admin',
      'GET /api/v1/audit': 'admin',
      'GET /metrics': 'metrics',
      'POST /api/v1/session': 'public',
      'GET /api/v1/session': 'public',
      'DELETE /api/v1/session': 'public',
      'GET /api/v1/users': 'admin',
      'POST /api/v1/users': 'admin',
      'PATCH /api/v1/users/:name': 'admin',
      'DELETE /api/v1/users/:name': 'admin',
      'GET /docs/json': 'public',
    });
  });

  it('is refused, even with an admin token, when it declares no access level', async () => {
    const { buildApi } = await import('../../hub/api/app.js');
    const app = buildApi({
      registry: f.registry,
      store: f.store,
      logger: (await import('./helpers.js')).silentLogger(),
      clock: () => f.now,
      windows: { networkingMs: 1, onlineMs: 1 },
      health: () => ({ components: {} as never, counters: {} }),
    });
    app.register(async (api) => {
      api.get('/api/v1/forgotten', async () => ({ secret: 42 }));
    });
    await app.ready();
    try {
      const admin = f.token('admin');
      const before = lastAuditId(f);
      const r = await app.inject({ url: '/api/v1/forgotten', headers: { authorization: `Bearer ${admin}` } });
      expect(r.statusCode).toBe(403);
      expect(r.body).not.toContain('42');
      expect(auditSince(f, before)).toMatchObject([
        { action: 'access', outcome: 'refused', detail: { reason: 'the route declares no access level' } },
      ]);
      expect(declaredRoutes(app).find((x) => x.url === '/api/v1/forgotten')?.access).toBeUndefined();
    } finally {
      await app.close();
    }
  });
});

describe('parameters', () => {
  it('are refused when a route does not take them, with a 400 naming them', async () => {
    const t = f.token('admin');
    for (const url of ['/api/v1/stats?debug=1', '/api/v1/gateways?group=acme', '/api/v1/tokens?all=true']) {
      const r = await f.call(t, { url });
      expect(r.statusCode, url).toBe(400);
      expect(r.json(), url).toMatchObject({
        code: 'WANJI_E_API_VALIDATION',
        message: expect.stringMatching(/additional/),
      });
    }
    // The page still loads with ?token= (its script does not use it: it removes it and asks for a token).
    expect((await f.call(undefined, { url: '/?token=wj_x' })).statusCode).toBe(200);
  });
});

describe('OpenAPI at /docs', () => {
  it('serves the document without a token, with the bearer scheme and each route’s access', async () => {
    const r = await f.call(undefined, { url: '/docs/json' });
    expect(r.statusCode).toBe(200);
    const doc = r.json();
    expect(doc.openapi).toMatch(/^3\./);
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(doc.security).toEqual([{ bearer: [] }]);
    expect(doc.paths['/healthz'].get.security).toEqual([]);
    expect(doc.paths['/api/v1/machines'].get.security).toBeUndefined();
    expect(doc.paths['/api/v1/machines'].get.description).toContain(
      'Access: **fleet** (admin, operator, enterprise)',
    );
    expect(doc.paths['/api/v1/stats'].get.responses).toHaveProperty('401');
    expect(doc.paths['/api/v1/stats'].get.responses).toHaveProperty('429');
    expect(doc.paths['/api/v1/tokens'].post.requestBody.content['application/json'].schema.required).toEqual([
      'role',
    ]);
    expect(
      doc.paths['/api/v1/machines/{enterprise}/{machine}/series'].get.parameters.map(
        (p: { name: string }) => p.name,
      ),
    ).toEqual(expect.arrayContaining(['enterprise', 'machine', 'metric', 'from', 'to', 'limit']));
  });

  it('serves the browser at /docs', async () => {
    const r = await f.call(undefined, { url: '/docs' });
    expect([200, 302]).toContain(r.statusCode);
    const page = r.statusCode === 302 ? await f.call(undefined, { url: String(r.headers.location) }) : r;
    expect(page.statusCode).toBe(200);
    expect(page.body).toMatch(/swagger/i);
  });
});
