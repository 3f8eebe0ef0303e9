/**
 * Issue 9, "defaults that are safe on the wire", against a real hub over real HTTP:
 * - the dashboard, `/docs` and every API reply carry CSP (with frame-ancestors 'none'),
 *   X-Frame-Options, nosniff and Referrer-Policy; the page's CSP allows exactly its own inline
 *   script and style, and swagger-ui serves nothing inline that its CSP would block;
 * - the page no longer takes a token from `?token=` (only from `#token=`): its served script is
 *   run against a stub browser and must not call the API with a query token;
 * - a scoped (enterprise) token asking for another enterprise's objects gets 404 on every route
 *   and an `access` audit entry each time, however the route found it out of scope.
 */
import { createHash } from 'node:crypto';
import { runInNewContext } from 'node:vm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_CSP, DOCS_CSP } from '../../hub/api/headers.js';
import { Hub } from '../../hub/hub.js';
import { AuditLog } from '../../hub/security/audit.js';
import { TokenStore } from '../../hub/security/tokens.js';
import { silentLogger, tempDir } from './helpers.js';

const MIN = 60_000;
let hub: Hub;
let dir: { remove: () => void };
let base: string;
let admin: string;

function token(role: 'admin' | 'enterprise', enterprise?: string): { token: string; id: string } {
  // Made as `wanji token create` makes it, in the hub's own registry.
  const tokens = new TokenStore(hub.registry.database, new AuditLog(hub.registry.database));
  const { token, record } = tokens.create(
    { role, ...(enterprise === undefined ? {} : { enterprise }) },
    { actor: 'cli:test', source: 'cli' },
  );
  return { token, id: record.id };
}

beforeAll(async () => {
  const tmp = tempDir();
  dir = tmp;
  hub = new Hub({ dataDir: tmp.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
  await hub.start();
  base = `http://127.0.0.1:${hub.httpPort}`;
  const now = Date.now();
  for (const [code, region] of [
    ['acme', 'yiwu'],
    ['beta', 'yongkang'],
  ] as const) {
    hub.registry.upsertEnterprise(
      {
        code,
        name: `${code} 公司`,
        regionCode: region,
        industryCode: 'hardware',
        backbone: true,
        ledger: { productionEquipment: 4, ncEquipment: 2, robots: 0 },
      },
      'test',
    );
  }
  hub.registry.applyIngest({
    events: ['acme', 'beta'].flatMap((e) => [
      { type: 'nodeBirth' as const, group: e, edgeNode: `gw-${e}`, bdSeq: 0, at: now - 10 * MIN },
      {
        type: 'deviceBirth' as const,
        group: e,
        edgeNode: `gw-${e}`,
        device: `m-${e}`,
        at: now - 10 * MIN,
        properties: { kind: 'cnc', nc: true },
      },
    ]),
    devices: ['acme', 'beta'].map((e) => ({
      enterprise: e,
      machine: `m-${e}`,
      gateway: `gw-${e}`,
      seenAt: now - MIN,
      sampleAt: now - MIN,
      state: 'running',
      stateAt: now - MIN,
    })),
    gateways: [],
  });
  admin = token('admin').token;
});

afterAll(async () => {
  await hub?.close();
  dir?.remove();
});

const get = (path: string, bearer?: string) =>
  fetch(`${base}${path}`, { headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` } });

function expectCommonHeaders(r: Response): void {
  expect(r.headers.get('x-content-type-options')).toBe('nosniff');
  expect(r.headers.get('x-frame-options')).toBe('DENY');
  expect(r.headers.get('referrer-policy')).toBe('no-referrer');
  expect(r.headers.get('content-security-policy')).toContain("frame-ancestors 'none'");
}

const between = (html: string, tag: string): string[] =>
  [...html.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => m[1]!);
const sha = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

describe('security headers', () => {
  it('the dashboard allows exactly its own inline script and style, and nothing else', async () => {
    const r = await get('/plain');
    expect(r.status).toBe(200);
    expectCommonHeaders(r);
    const csp = r.headers.get('content-security-policy')!;
    const html = await r.text();
    const scripts = between(html, 'script');
    const styles = between(html, 'style');
    expect(scripts).toHaveLength(1);
    expect(styles).toHaveLength(1);
    expect(html).not.toMatch(/<script [^>]*src=|\son[a-z]+=|style="/);
    const directives = Object.fromEntries(
      csp.split(';').map((d) => {
        const [name, ...values] = d.trim().split(/\s+/);
        return [name, values.join(' ')];
      }),
    );
    expect(directives['default-src']).toBe("'none'");
    expect(directives['script-src']).toBe(sha(scripts[0]!));
    expect(directives['style-src']).toBe(sha(styles[0]!));
    expect(directives['connect-src']).toBe("'self'");
  });

  it('/docs and its files send the swagger-ui policy, and swagger-ui serves no inline script', async () => {
    const page = await get('/docs');
    expect(page.status).toBe(200);
    expectCommonHeaders(page);
    expect(page.headers.get('content-security-policy')).toBe(DOCS_CSP);
    const html = await page.text();
    // Every script is a file from the hub ('self'): an inline one would be blocked by DOCS_CSP.
    const scriptTags = [...html.matchAll(/<script([^>]*)>([\s\S]*?)<\/script>/g)];
    expect(scriptTags.length).toBeGreaterThan(0);
    for (const [, attrs, body] of scriptTags) {
      expect(attrs).toMatch(/src="[^":]+"/);
      expect(body!.trim()).toBe('');
    }
    expect(html).not.toMatch(/<style|\son[a-z]+=|style="/);
    for (const path of [
      '/docs/static/swagger-ui-bundle.js',
      '/docs/static/swagger-initializer.js',
      '/docs/json',
    ]) {
      const r = await get(path);
      expect({ path, status: r.status }).toEqual({ path, status: 200 });
      expectCommonHeaders(r);
      expect(r.headers.get('content-security-policy')).toBe(DOCS_CSP);
      await r.arrayBuffer();
    }
  });

  it('API replies (200, 401, 404, no route, an unusable URL) are nosniff and may run nothing', async () => {
    const replies = [
      await get('/api/v1/stats', admin),
      await get('/api/v1/stats'),
      await get('/api/v1/machines/nope/nothing', admin),
      await get('/api/v1/no-such-route', admin),
      await get('/healthz'),
      // A URL fastify cannot decode: answered before any route is found.
      await get('/api/v1/machines/%E0%A4%A/x', admin),
    ];
    expect(replies.map((r) => r.status)).toEqual([200, 401, 404, 404, 200, 400]);
    for (const r of replies) {
      expectCommonHeaders(r);
      expect(r.headers.get('content-security-policy')).toBe(API_CSP);
      await r.arrayBuffer();
    }
  });
});

/** Runs the served page's script in a stub browser at `address`; returns what it did. */
function runPage(script: string, address: { search: string; hash: string }) {
  const storage = new Map<string, string>();
  const fetches: { url: string; authorization: string | undefined }[] = [];
  const replaced: string[] = [];
  const elements = new Map<string, Record<string, unknown>>();
  const element = (id: string) => {
    let e = elements.get(id);
    if (e === undefined) {
      const row = { insertCell: () => ({ textContent: '' }), appendChild: () => undefined };
      e = {
        style: {} as Record<string, string>,
        textContent: '',
        className: '',
        value: '',
        addEventListener: () => undefined,
        replaceChildren: () => undefined,
        insertRow: () => row,
      };
      elements.set(id, e);
    }
    return e;
  };
  runInNewContext(script, {
    location: { pathname: '/', ...address },
    history: { replaceState: (_s: unknown, _t: string, url: string) => replaced.push(url) },
    sessionStorage: {
      getItem: (k: string) => storage.get(k) ?? null,
      setItem: (k: string, v: string) => storage.set(k, v),
      removeItem: (k: string) => storage.delete(k),
    },
    document: { getElementById: element, createElement: () => ({ textContent: '' }) },
    fetch: (url: string, init?: { headers?: Record<string, string> }) => {
      fetches.push({ url, authorization: init?.headers?.Authorization });
      return new Promise(() => undefined);
    },
    setInterval: () => 0,
  });
  return {
    fetches,
    replaced,
    stored: storage.get('wanji.token'),
    login: (elements.get('login')?.style as Record<string, string> | undefined)?.display,
    status: String(elements.get('status')?.textContent ?? ''),
  };
}

describe('the dashboard token', () => {
  it('is taken from #token= and removed from the address bar', async () => {
    const script = between(await (await get('/plain')).text(), 'script')[0]!;
    const page = runPage(script, { search: '', hash: `#token=${encodeURIComponent(admin)}` });
    expect(page.stored).toBe(admin);
    expect(page.replaced).toEqual(['/']);
    expect(page.fetches).toEqual([{ url: '/api/v1/stats', authorization: `Bearer ${admin}` }]);
  });

  it('is not taken from ?token=: removed from the address bar, never sent, and the page asks for one', async () => {
    const r = await get(`/plain?token=${encodeURIComponent(admin)}`);
    expect(r.status).toBe(200);
    const script = between(await r.text(), 'script')[0]!;
    const page = runPage(script, { search: `?token=${encodeURIComponent(admin)}`, hash: '' });
    expect(page.fetches).toEqual([]);
    expect(page.stored).toBeUndefined();
    expect(page.replaced).toEqual(['/']);
    expect(page.login).toBe('block');
    expect(page.status).toContain('?token=');
  });
});

describe('out-of-scope 404s', () => {
  it('an enterprise token asking for another enterprise is refused 404 and audited on every route', async () => {
    const acme = token('enterprise', 'acme');
    const asks = [
      '/api/v1/machines/beta/m-beta',
      '/api/v1/machines/beta/m-beta/series?metric=Signals%2Fspeed',
      '/api/v1/gateways/beta/gw-beta',
      '/api/v1/registry/enterprises/beta/declarations',
      '/api/v1/registry/enterprises/beta/machines',
      '/api/v1/statistics/state-time?enterprise=beta',
      '/api/v1/statistics/state-time/machines?enterprise=beta',
      // A machine beta does not have: still a look into beta.
      '/api/v1/machines/beta/m-none',
    ];
    const statuses: Record<string, number> = {};
    const entries: Record<string, number> = {};
    const auditOf = async () => {
      const r = await get(
        `/api/v1/audit?actor=${encodeURIComponent(`token:${acme.id}`)}&action=access&limit=1000`,
        admin,
      );
      expect(r.status).toBe(200);
      return ((await r.json()) as { entries: { outcome: string; target: string }[] }).entries;
    };
    for (const path of asks) {
      const before = (await auditOf()).length;
      const r = await get(path, acme.token);
      statuses[path] = r.status;
      const body = (await r.json()) as { code: string };
      if (r.status === 404) expect(body.code).toBe('WANJI_E_API_NOT_FOUND');
      const after = await auditOf();
      entries[path] = after.length - before;
      if (after.length > before) expect(after[0]!.outcome).toBe('refused');
    }
    expect(statuses).toEqual(Object.fromEntries(asks.map((p) => [p, 404])));
    expect(entries).toEqual(Object.fromEntries(asks.map((p) => [p, 1])));
    const entry = (await auditOf())[0] as unknown as Record<string, unknown>;
    expect(entry).toMatchObject({ target: 'enterprise beta', detail: { reason: 'outside the scope' } });
    // An enterprise that does not exist gets the same answer, and is not a refusal to audit.
    const missing = await get('/api/v1/machines/nobody/m-x', acme.token);
    expect(missing.status).toBe(404);
    await missing.arrayBuffer();
    // Its own machine is answered, and not audited as a refusal.
    const before = (await auditOf()).length;
    const own = await get('/api/v1/machines/acme/m-acme', acme.token);
    expect(own.status).toBe(200);
    await own.arrayBuffer();
    expect((await auditOf()).length).toBe(before);
  });

  it('a bureau token for one region is refused 404 and audited for an enterprise of another', async () => {
    const tokens = new TokenStore(hub.registry.database, new AuditLog(hub.registry.database));
    const { token: yiwu, record } = tokens.create(
      { role: 'bureau', regions: ['yiwu'] },
      { actor: 'cli:test', source: 'cli' },
    );
    const asks = [
      '/api/v1/registry/enterprises/beta/declarations',
      '/api/v1/statistics/state-time?enterprise=beta',
    ];
    for (const path of asks) {
      const r = await get(path, yiwu);
      expect({ path, status: r.status }).toEqual({ path, status: 404 });
      await r.arrayBuffer();
    }
    const audit = await get(
      `/api/v1/audit?actor=${encodeURIComponent(`token:${record.id}`)}&action=access`,
      admin,
    );
    const entries = ((await audit.json()) as { entries: { target: string; outcome: string }[] }).entries;
    expect(entries.map((e) => [e.target, e.outcome])).toEqual(asks.map(() => ['enterprise beta', 'refused']));
    const own = await get('/api/v1/registry/enterprises/acme/declarations', yiwu);
    expect(own.status).toBe(200);
    await own.arrayBuffer();
  });

  it('an unscoped token asking for a missing object is answered 404 without an audit entry', async () => {
    const op = token('admin');
    const r = await get('/api/v1/machines/nobody/m-x', op.token);
    expect(r.status).toBe(404);
    await r.arrayBuffer();
    const audit = await get(
      `/api/v1/audit?actor=${encodeURIComponent(`token:${op.id}`)}&action=access`,
      admin,
    );
    expect(((await audit.json()) as { entries: unknown[] }).entries).toEqual([]);
  });
});
