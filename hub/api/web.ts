/**
 * The web app (web/, built by `npm run build` into dist/web/) served by the hub itself: `/` and
 * every address of the app's sections answer its index.html, so a page can be bookmarked and
 * reloaded; `/assets/<hashed name>` its scripts and styles, cached for a year (the name changes
 * with the content). The plain page (page.ts) stays at `/plain`, and answers `/` too when
 * the app was not built (a checkout without `npm run build`).
 *
 * Files are read from one folder, by names that match a strict pattern (no path separators, no
 * dot-dot), kept in memory after the first read. Their Content-Security-Policy (WEB_CSP) admits
 * the hub's own scripts, styles and API only.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { HubError } from '../errors.js';
import { dashboardHtml } from './page.js';
import { ErrorReply } from './schemas.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The page's Content-Security-Policy (headers.ts); data replies get none of these. */
    csp?: 'web' | 'dashboard';
  }
}

/** The app's top-level sections (web/src/router.ts): each answers index.html, with sub-paths. */
export const APP_SECTIONS = [
  'sign-in',
  'wall',
  'targets',
  'enterprises',
  'fleet',
  'machines',
  'alerts',
  'admin',
] as const;

export const WEB_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
  "img-src 'self' data: blob:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const TYPES: Readonly<Record<string, string>> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.woff2': 'font/woff2',
  '.json': 'application/json; charset=utf-8',
};
const ASSET_NAME = /^[A-Za-z0-9_-][A-Za-z0-9_.-]{0,200}$/;

/**
 * Where the built app is: the `dist/web` folder of the package this module belongs to, found
 * by walking up from here (dist/hub/api/web.js → dist/web; hub/api/web.ts from the sources, or
 * a compiled copy such as the benchmarks' → <package>/dist/web). Undefined when not built.
 */
export function findWebRoot(): string | undefined {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let up = 0; up < 8; up++) {
    const candidates = basename(dir) === 'dist' ? [join(dir, 'web')] : [join(dir, 'dist', 'web')];
    for (const c of candidates) {
      if (existsSync(join(c, 'index.html')) && existsSync(join(c, 'assets'))) return c;
    }
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

const NO_QUERY = Type.Object({}, { additionalProperties: true });

/** Registers `/plain`, and `/` with the app's sections (the app when built, else the plain page). */
export function webRoutes(app: FastifyInstance, root: string | undefined): void {
  const cache = new Map<string, Buffer>();
  const read = (name: string): Buffer | undefined => {
    let b = cache.get(name);
    if (b === undefined) {
      const path = join(root ?? '', name);
      if (root === undefined || !existsSync(path)) return undefined;
      b = readFileSync(path);
      cache.set(name, b);
    }
    return b;
  };
  const plain = (reply: FastifyReply) => reply.type('text/html; charset=utf-8').send(dashboardHtml());

  app.get(
    '/plain',
    {
      config: { access: 'public', csp: 'dashboard' },
      schema: {
        summary:
          'the plain dashboard (HTML, no build step); it asks for a token and keeps it in the browser tab',
        querystring: Type.Object(
          {
            token: Type.Optional(
              Type.String({
                description: 'not used: the page takes a token from #token= only, and asks again',
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 200: { type: 'string' } },
      },
    },
    async (_req, reply) => plain(reply),
  );

  const page = async (_req: unknown, reply: FastifyReply) => {
    const index = read('index.html');
    if (index === undefined) return plain(reply);
    return reply.header('cache-control', 'no-cache').type('text/html; charset=utf-8').send(index);
  };
  const pageSchema = {
    summary: 'the web app (HTML); its pages read the API with the session cookie',
    // The app reads its own query (e.g. `?next=`); the hub ignores it.
    querystring: NO_QUERY,
    response: { 200: { type: 'string' } },
  };
  const csp = root === undefined ? 'dashboard' : 'web';
  app.get('/', { config: { access: 'public', csp }, schema: pageSchema }, page);
  for (const s of APP_SECTIONS) {
    app.get(`/${s}`, { config: { access: 'public', csp }, schema: pageSchema }, page);
    app.get(`/${s}/*`, { config: { access: 'public', csp }, schema: pageSchema }, page);
  }

  app.get(
    '/assets/:name',
    {
      config: { access: 'public', rateLimit: false },
      schema: {
        summary: 'a file of the web app (hashed name, cached for a year)',
        params: Type.Object({ name: Type.String({ pattern: ASSET_NAME.source }) }),
        response: { 200: { type: 'string' }, 404: ErrorReply },
      },
    },
    async (req, reply) => {
      const { name } = req.params as { name: string };
      const type = TYPES[extname(name)];
      const body = type === undefined || !ASSET_NAME.test(name) ? undefined : read(`assets/${name}`);
      if (type === undefined || body === undefined)
        throw new HubError('WANJI_E_API_NOT_FOUND', `no web asset ${name}`);
      return reply.header('cache-control', 'public, max-age=31536000, immutable').type(type).send(body);
    },
  );
}
