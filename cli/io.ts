import { chmod, readFile, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import type { Logger } from 'pino';

/** What a subcommand gets from the entry point: streams, a logger, and a signal to stop. */
export interface CommandIo {
  readonly stdout: NodeJS.WritableStream;
  readonly stderr: NodeJS.WritableStream;
  readonly logger: Logger;
  /** Aborted on SIGINT / SIGTERM; a long-running command returns once it has closed. */
  readonly signal: AbortSignal;
  /**
   * Dispatches a `reload` event on SIGHUP, for commands that reload their config (the entry
   * point only listens for SIGHUP for those; for the others it keeps its default: exit).
   */
  readonly reload?: EventTarget;
}

/** Resolves when the signal aborts (immediately if it already has). */
export function untilAborted(signal: AbortSignal): Promise<void> {
  if (signal.aborted) return Promise.resolve();
  return new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/** A bad command line: the command prints the message and its usage, and exits 2. */
export class UsageError extends Error {}

/** A time for a command's table: "YYYY-MM-DD HH:MM" (UTC), or "-" when there is none. */
export const when = (ms: number | null | undefined): string =>
  ms == null ? '-' : new Date(ms).toISOString().slice(0, 16).replace('T', ' ');

/** Rows as aligned columns, the first row being the header. */
export function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows
    .map((r) =>
      r
        .map((c, i) => c.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** Who the audit log names for a change made from this command line: `cli:<os user>`. */
export const cliActor = (): { actor: string; source: 'cli' } => ({
  actor: `cli:${userInfo().username}`,
  source: 'cli',
});

/**
 * A demo secret kept in a file of mode 0600: the one there if it still works, else a new one
 * from `replace`, written there. Returns the secret and whether it is new.
 */
export async function keptSecretFile(
  path: string,
  stillWorks: (secret: string) => Promise<boolean>,
  replace: () => string,
): Promise<{ secret: string; created: boolean }> {
  const kept = await readFile(path, 'utf8').then(
    (t) => t.trim(),
    () => undefined,
  );
  if (kept !== undefined && (await stillWorks(kept))) {
    await chmod(path, 0o600);
    return { secret: kept, created: false };
  }
  const secret = replace();
  await writeFile(path, `${secret}\n`, { mode: 0o600 });
  await chmod(path, 0o600);
  return { secret, created: true };
}
