/** POSTing JSON to a webhook, and saying where without saying the secret in its URL. */

/**
 * The URL with every query value and any user info replaced by "…": a robot's key or a
 * token rides in the query, and neither may reach a log or an API reply.
 */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    const keys = [...new Set(u.searchParams.keys())];
    const query = keys.length === 0 ? '' : `?${keys.map((k) => `${encodeURIComponent(k)}=…`).join('&')}`;
    return `${u.origin}${u.pathname}${query}`;
  } catch {
    return '(not a URL)';
  }
}

/** Why a request failed, from fetch's error: the cause's code (ECONNREFUSED, …) when there is one. */
function reasonOf(err: unknown): string {
  if (err instanceof Error) {
    if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'no answer in time';
    const cause: unknown = err.cause;
    if (cause instanceof Error) {
      const code = (cause as NodeJS.ErrnoException).code;
      return code ?? cause.message;
    }
    return err.message;
  }
  return String(err);
}

/**
 * POSTs `body` as JSON; resolves with the reply's text when the status is 2xx. Errors name
 * the redacted URL, the status or the network reason.
 */
export async function postJson(
  url: string,
  body: unknown,
  opts: { signal: AbortSignal; headers?: Readonly<Record<string, string>> },
): Promise<string> {
  const where = redactUrl(url);
  let res: Response;
  try {
    res = await fetch(url, {
      method: 'POST',
      headers: { ...opts.headers, 'content-type': 'application/json; charset=utf-8' },
      body: JSON.stringify(body),
      signal: opts.signal,
      redirect: 'error',
    });
  } catch (err) {
    throw new Error(`POST ${where}: ${reasonOf(err)}`);
  }
  const text = await res.text().catch(() => '');
  if (res.status < 200 || res.status > 299) {
    throw new Error(`POST ${where}: HTTP ${res.status} ${text.slice(0, 200)}`.trim());
  }
  return text;
}

/** DingTalk and WeCom answer 200 with `{ errcode, errmsg }`; anything but errcode 0 is a refusal. */
export function checkErrcode(where: string, text: string): void {
  let reply: unknown;
  try {
    reply = JSON.parse(text);
  } catch {
    throw new Error(`POST ${where}: the reply is not JSON: ${text.slice(0, 100)}`);
  }
  const r = reply as { errcode?: unknown; errmsg?: unknown };
  if (r.errcode !== 0) {
    throw new Error(
      `POST ${where}: refused, errcode ${String(r.errcode)}: ${String(r.errmsg ?? '').slice(0, 200)}`,
    );
  }
}
