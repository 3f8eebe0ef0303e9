/**
 * Broker URLs may carry a login (`mqtt://user:password@broker:1883`). The hub takes it out
 * before connecting (the host gets it as options); neither the hub nor a gateway prints a URL
 * whose password shows: every log line, error and banner that names a broker URL goes through
 * redactUrl.
 */

export interface UrlLogin {
  /** Percent-decoded; empty when the URL has none. */
  readonly username: string;
  readonly password: string;
}

/** The user name and password in `url`, decoded; empty strings when absent or not a URL. */
export function urlLogin(url: string): UrlLogin {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return { username: '', password: '' };
  }
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return { username: decode(u.username), password: decode(u.password) };
}

/** `url` without its user name and password; unchanged when it has none or is not a URL. */
export function withoutLogin(url: string): string {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return url;
  }
  if (u.username === '' && u.password === '') return url;
  u.username = '';
  u.password = '';
  return u.toString();
}

/**
 * `url` with its password written `***` (`mqtt://u:***@h:1883`), safe to log. Works on text
 * that is not a valid URL too: everything between the first `:` after `//` and the last `@`
 * goes, so a password holding `@` or `/` is hidden whole (hiding too much is the safe side).
 */
export function redactUrl(url: string): string {
  const start = url.indexOf('//');
  if (start < 0) return url;
  const at = url.lastIndexOf('@');
  if (at < start) return url;
  const colon = url.indexOf(':', start + 2);
  if (colon < 0 || colon > at) return url;
  return `${url.slice(0, colon)}:***${url.slice(at)}`;
}
