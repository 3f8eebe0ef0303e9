/**
 * Security headers on every reply (docs/security.md): never framed, never sniffed into another
 * type, no referrer, and a Content-Security-Policy fitted to what is answered:
 * - the web app (`/` and its sections, web.ts): the hub's own scripts, styles and API only;
 * - the plain page (`/plain`, or `/` when the app was not built): its own inline style and
 *   script by hash (page.ts), the API, nothing else;
 * - the OpenAPI browser (DOCS_PREFIX): swagger-ui's files from the hub itself (it loads its
 *   bundle, preset and initializer as files, draws icons as data: images and fetches the
 *   document and "try it out" requests from the same origin; no inline script, no eval);
 * - everything else (JSON, CSV, XLSX): nothing may run or load at all.
 */
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DASHBOARD_CSP } from './page.js';
import { WEB_CSP } from './web.js';

/** For replies that are data, not pages. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const DOCS_CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self' data:",
  "connect-src 'self'",
  "object-src 'none'",
  "base-uri 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');

const COMMON: Readonly<Record<string, string>> = {
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
};

function policyFor(req: FastifyRequest, docsPrefix: string): string {
  // The route's pattern, not the raw URL: `/?x` and `//` are not the dashboard's route.
  const route = req.routeOptions.url;
  const page = req.routeOptions.config.csp;
  if (page === 'dashboard') return DASHBOARD_CSP;
  if (page === 'web') return WEB_CSP;
  if (route !== undefined && (route === docsPrefix || route.startsWith(`${docsPrefix}/`))) return DOCS_CSP;
  return API_CSP;
}

/**
 * The headers of a data reply, for replies sent outside the hooks (fastify answers a URL it
 * cannot route through `frameworkErrors`, before any hook runs).
 */
export function setDataReplyHeaders(reply: FastifyReply): void {
  reply.headers(COMMON);
  reply.header('content-security-policy', API_CSP);
}

/** Adds the headers to every reply, errors and unknown routes included. */
export function installSecurityHeaders(app: FastifyInstance, opts: { docsPrefix: string }): void {
  app.addHook('onSend', async (req: FastifyRequest, reply: FastifyReply, payload: unknown) => {
    reply.headers(COMMON);
    reply.header('content-security-policy', policyFor(req, opts.docsPrefix));
    return payload;
  });
}
