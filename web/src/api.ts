/**
 * The one way the pages reach the hub: its documented API (docs/api.md) on the same origin,
 * signed in by the session cookie (HttpOnly: the page never sees it). A 401 means the session
 * ended (signed out elsewhere, expired, user deleted): the app returns to the sign-in page.
 * Errors carry the hub's `WANJI_E_*` code and message, which the pages show as they are.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** A refused import file: why, as codes and parameters (web/src/import-reasons.ts words them). */
    readonly reasons?: readonly { code: string; params: Readonly<Record<string, string | number>> }[],
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** The hub's error reply as a thrown error. */
export function errorFromBody(
  status: number,
  statusText: string,
  body: { code?: string; message?: string; reasons?: ApiError['reasons'] },
): ApiError {
  return new ApiError(status, body.code ?? `HTTP_${status}`, body.message ?? statusText, body.reasons);
}

type Unauthorized = () => void;
let onUnauthorized: Unauthorized = () => {};

/** Set once by the app: where a 401 sends the user. */
export function whenUnauthorized(fn: Unauthorized): void {
  onUnauthorized = fn;
}

async function errorOf(r: Response): Promise<ApiError> {
  try {
    return errorFromBody(r.status, r.statusText, (await r.json()) as Parameters<typeof errorFromBody>[2]);
  } catch {
    // Not JSON (a proxy's page): the status says enough.
    return new ApiError(r.status, `HTTP_${r.status}`, r.statusText);
  }
}

export interface RequestOptions {
  readonly method?: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  readonly body?: unknown;
  readonly query?: Readonly<Record<string, string | number | boolean | undefined>>;
  /** A 401 is the caller's to handle (the sign-in form), not a signal that the session ended. */
  readonly expectUnauthorized?: boolean;
  readonly signal?: AbortSignal;
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s === '' ? path : `${path}?${s}`;
}

async function send(path: string, o: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { accept: 'application/json' };
  let body: BodyInit | undefined;
  if (o.body instanceof Blob || o.body instanceof FormData) body = o.body;
  else if (o.body !== undefined) {
    headers['content-type'] = 'application/json';
    body = JSON.stringify(o.body);
  }
  const r = await fetch(apiUrl(path, o.query), {
    method: o.method ?? 'GET',
    headers,
    credentials: 'same-origin',
    ...(body === undefined ? {} : { body }),
    ...(o.signal === undefined ? {} : { signal: o.signal }),
  });
  if (r.ok) return r;
  const err = await errorOf(r);
  if (r.status === 401 && o.expectUnauthorized !== true) onUnauthorized();
  throw err;
}

/** JSON in, JSON out; 204 gives undefined. */
export async function api<T>(path: string, o: RequestOptions = {}): Promise<T> {
  const r = await send(path, o);
  if (r.status === 204) return undefined as T;
  return (await r.json()) as T;
}

/** A file from the API (an export, an annotated error sheet), with its name. */
export async function apiFile(path: string, o: RequestOptions = {}): Promise<{ blob: Blob; name: string }> {
  const r = await send(path, o);
  const disposition = r.headers.get('content-disposition') ?? '';
  const star = /filename\*=UTF-8''([^;]+)/i.exec(disposition)?.[1];
  const plain = /filename="?([^";]+)"?/i.exec(disposition)?.[1];
  const name = star !== undefined ? decodeURIComponent(star) : (plain ?? 'download');
  return { blob: await r.blob(), name };
}

/** Saves a blob as a download in the browser. */
export function saveFile(file: { blob: Blob; name: string }): void {
  const url = URL.createObjectURL(file.blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = file.name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
