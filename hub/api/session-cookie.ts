/**
 * The sign-in session's cookie (`wanji_session`: HttpOnly, SameSite=Strict, Path=/, Secure when
 * the request came over HTTPS, directly or through a proxy listed in `http.trustProxy`) and the
 * same-origin check for changes a cookie authenticates (docs/api.md, "Signing in").
 */
import type { FastifyReply, FastifyRequest } from 'fastify';

export const SESSION_COOKIE = 'wanji_session';
/** 32 random bytes in base64url; anything else in the cookie is not a session id. */
const SESSION_ID = /^[A-Za-z0-9_-]{43}$/;

/** The session id the request's cookie carries, when it carries a well-formed one. */
export function sessionIdOf(req: FastifyRequest): string | undefined {
  const header = req.headers.cookie;
  if (header === undefined) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1 || part.slice(0, eq).trim() !== SESSION_COOKIE) continue;
    const value = part.slice(eq + 1).trim();
    if (SESSION_ID.test(value)) return value;
  }
  return undefined;
}

function attributes(req: FastifyRequest): string {
  return `Path=/; HttpOnly; SameSite=Strict${req.protocol === 'https' ? '; Secure' : ''}`;
}

export function setSessionCookie(
  reply: FastifyReply,
  req: FastifyRequest,
  id: string,
  maxAgeMs: number,
): void {
  reply.header(
    'set-cookie',
    `${SESSION_COOKIE}=${id}; Max-Age=${Math.floor(maxAgeMs / 1000)}; ${attributes(req)}`,
  );
}

export function clearSessionCookie(reply: FastifyReply, req: FastifyRequest): void {
  reply.header('set-cookie', `${SESSION_COOKIE}=; Max-Age=0; ${attributes(req)}`);
}

/** Methods that change something: a cookie-authenticated one must come from the hub's own pages. */
export function changesSomething(method: string): boolean {
  return method !== 'GET' && method !== 'HEAD' && method !== 'OPTIONS';
}

/**
 * Undefined when the request comes from the hub's own pages: its `Origin` names the host it was
 * sent to, or the browser says `Sec-Fetch-Site: same-origin`. Otherwise why not. With neither
 * header there is no proof, so it is refused too (browsers send Origin with every change).
 */
export function crossSiteReason(req: FastifyRequest): string | undefined {
  const fetchSite = req.headers['sec-fetch-site'];
  if (fetchSite === 'same-origin') return undefined;
  const origin = req.headers.origin;
  if (origin === undefined) {
    return fetchSite === undefined
      ? 'no Origin or Sec-Fetch-Site header'
      : `Sec-Fetch-Site is ${String(fetchSite).slice(0, 20)}`;
  }
  let host: string;
  try {
    host = new URL(origin).host;
  } catch {
    return 'the Origin header is not a URL';
  }
  // `req.host` is the Host header, or X-Forwarded-Host from a proxy in http.trustProxy.
  if (host !== '' && host.toLowerCase() === req.host.toLowerCase()) return undefined;
  return `Origin ${origin.slice(0, 100)} is not this hub (${req.host.slice(0, 100)})`;
}
