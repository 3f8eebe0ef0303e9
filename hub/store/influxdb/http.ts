/**
 * HTTP for the parts the client library does not cover (v1 `/write`, InfluxQL `/query`,
 * `/ping`), and one mapping of every failure, ours or the library's, to a StoreError that
 * carries the HTTP status.
 */
import { HttpError, RequestTimedOutError } from '@influxdata/influxdb-client';
import { codeForStatus, StoreError } from '../errors.js';

/** The server's own words, short: InfluxDB answers `{"error": "..."}`. */
function serverMessage(body: string): string {
  let text = body;
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null) {
      const e =
        (parsed as { error?: unknown; message?: unknown }).error ?? (parsed as { message?: unknown }).message;
      if (typeof e === 'string') text = e;
    }
  } catch {
    // not JSON: keep the text
  }
  text = text.trim();
  return text.length > 300 ? `${text.slice(0, 300)}…` : text;
}

export function statusError(what: string, status: number, body: string): StoreError {
  const detail = serverMessage(body);
  return new StoreError(
    codeForStatus(status),
    `${what}: HTTP ${status}${detail === '' ? '' : `: ${detail}`}`,
    {
      status,
    },
  );
}

/** Any failure of a request (ours via fetch, or @influxdata/influxdb-client's) as a StoreError. */
export function toStoreError(what: string, err: unknown): StoreError {
  if (err instanceof StoreError) return err;
  if (err instanceof HttpError) return statusError(what, err.statusCode, err.body ?? err.message);
  const name = err instanceof Error ? err.name : '';
  if (err instanceof RequestTimedOutError || name === 'TimeoutError' || name === 'AbortError') {
    return new StoreError('WANJI_E_STORE_TIMEOUT', `${what}: no answer in time`, { cause: err });
  }
  // fetch wraps the socket error (ECONNREFUSED, ECONNRESET) in `cause`.
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  const code = (cause as { code?: unknown } | undefined)?.code;
  const detail = typeof code === 'string' ? code : cause instanceof Error ? cause.message : String(cause);
  return new StoreError('WANJI_E_STORE_UNAVAILABLE', `${what}: ${detail}`, { cause: err });
}

export interface HttpTarget {
  /** Base URL without a trailing slash. */
  readonly base: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly timeoutMs: number;
}

/** One request; resolves with the body of a 2xx answer, rejects with a StoreError otherwise. */
export async function request(
  target: HttpTarget,
  what: string,
  path: string,
  init: { method: 'GET' | 'POST'; body?: string; contentType?: string },
): Promise<string> {
  let res: Response;
  let body: string;
  try {
    res = await fetch(`${target.base}${path}`, {
      method: init.method,
      headers: {
        ...target.headers,
        ...(init.contentType === undefined ? {} : { 'content-type': init.contentType }),
      },
      ...(init.body === undefined ? {} : { body: init.body }),
      signal: AbortSignal.timeout(target.timeoutMs),
    });
    body = await res.text();
  } catch (err) {
    throw toStoreError(what, err);
  }
  if (res.status < 200 || res.status > 299) throw statusError(what, res.status, body);
  return body;
}

export function basicAuth(
  username: string | undefined,
  password: string | undefined,
): Record<string, string> {
  if (username === undefined) return {};
  return { authorization: `Basic ${Buffer.from(`${username}:${password ?? ''}`).toString('base64')}` };
}
