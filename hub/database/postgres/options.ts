/** How the hub reaches its PostgreSQL registry: timeouts, and the URL as it may be shown. */

/** How long the hub waits for PostgreSQL's answer to one statement before giving up on it. */
export interface PostgresTimeouts {
  /** The server cancels a statement running longer (ms). */
  readonly statementTimeoutMs: number;
  /** The hub stops waiting for an answer (the server is gone) and closes the connection (ms). */
  readonly replyTimeoutMs: number;
}

/** The server's statement timeout, and the hub's wait for an answer half a minute beyond it. */
export function postgresTimeouts(statementTimeoutMs: number): PostgresTimeouts {
  return { statementTimeoutMs, replyTimeoutMs: statementTimeoutMs + 30_000 };
}

export const DEFAULT_POSTGRES_TIMEOUTS: PostgresTimeouts = postgresTimeouts(30_000);

/** postgres://user:secret@host/db as postgres://user@host/db, for logs and `path`. */
export function redactedUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}
