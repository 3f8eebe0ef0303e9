/**
 * A real PostgreSQL for tests and benchmarks, from Debian's `postgresql` package (`.ci/run`
 * installs it): a fresh cluster (`initdb`) in a temp dir, `postgres` listening on loopback only
 * on a free port (no Unix socket), trust authentication for the superuser `wanji`, fsync off.
 * Each test takes its own database (`createDatabase`). PostgreSQL refuses to run as root, so
 * when the tests run as root (as in CI) the cluster is made and run as the unprivileged user
 * `nobody` (uid/gid from `id nobody`, present on every Debian system). No vitest here: the
 * benchmarks use it too (test/support/postgres.ts has the test helpers).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { killOnExit } from './reaper.js';

export const POSTGRES_ROOT = '/usr/lib/postgresql';

/** The newest installed server's bin dir (/usr/lib/postgresql/<major>/bin), if any. */
export function postgresBinDir(): string | undefined {
  if (!existsSync(POSTGRES_ROOT)) return undefined;
  const majors = readdirSync(POSTGRES_ROOT)
    .filter(
      (d) =>
        existsSync(join(POSTGRES_ROOT, d, 'bin', 'postgres')) &&
        existsSync(join(POSTGRES_ROOT, d, 'bin', 'initdb')),
    )
    .sort((a, b) => Number(b) - Number(a));
  return majors.length === 0 ? undefined : join(POSTGRES_ROOT, majors[0]!, 'bin');
}

export interface TestPostgres {
  readonly port: number;
  /** A new empty database; its URL (postgres://wanji@127.0.0.1:<port>/<name>). */
  createDatabase(): Promise<string>;
  /** Stops the server and removes the cluster. Idempotent. */
  close(): Promise<void>;
}

/** Who runs the cluster: the current user, or `nobody` when that is root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number =>
    Number(execFileSync('id', [flag, 'nobody'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

let databases = 0;

/** initdb + postgres on 127.0.0.1:<free port>; resolves when it accepts connections. */
export async function startPostgres(): Promise<TestPostgres> {
  const bin = postgresBinDir();
  if (bin === undefined) throw new Error('PostgreSQL is not installed (apt-get install postgresql)');
  const user = runAs();
  const dir = mkdtempSync(join(tmpdir(), 'wanji-pg-'));
  if (user !== undefined) chownSync(dir, user.uid, user.gid);
  const data = join(dir, 'data');
  const ids = user === undefined ? {} : { uid: user.uid, gid: user.gid };
  try {
    execFileSync(
      join(bin, 'initdb'),
      [
        '-D',
        data,
        '-U',
        'wanji',
        '--auth=trust',
        '-E',
        'UTF8',
        '--locale=C',
        '--no-sync',
        '--no-instructions',
      ],
      { ...ids, cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] },
    );
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`initdb failed: ${String(err)}`);
  }
  const port = await freePort();
  const logPath = join(dir, 'server.log');
  const log = openSync(logPath, 'a');
  if (user !== undefined) chownSync(logPath, user.uid, user.gid);
  const child: ChildProcess = spawn(
    join(bin, 'postgres'),
    [
      '-D',
      data,
      '-p',
      String(port),
      '-c',
      'listen_addresses=127.0.0.1',
      '-c',
      'unix_socket_directories=',
      '-c',
      'fsync=off',
      '-c',
      'synchronous_commit=off',
      '-c',
      'full_page_writes=off',
      '-c',
      'max_connections=50',
    ],
    { ...ids, cwd: dir, stdio: ['ignore', log, log] },
  );
  killOnExit(child);
  const logTail = (): string => {
    try {
      return readFileSync(logPath, 'utf8').slice(-2_000);
    } catch {
      return '(no log)';
    }
  };
  const url = (db: string): string => `postgres://wanji@127.0.0.1:${port}/${db}`;
  const deadline = Date.now() + 30_000;
  for (;;) {
    if (child.exitCode !== null) {
      rmSync(dir, { recursive: true, force: true });
      throw new Error(`postgres exited at start:\n${logTail()}`);
    }
    const client = new pg.Client({ connectionString: url('postgres') });
    try {
      await client.connect();
      await client.end();
      break;
    } catch {
      await client.end().catch(() => undefined);
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`postgres did not accept connections on port ${port} within 30 s:\n${logTail()}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  let closed = false;
  return {
    port,
    async createDatabase(): Promise<string> {
      const name = `wanji_test_${process.pid}_${++databases}`;
      const client = new pg.Client({ connectionString: url('postgres') });
      await client.connect();
      try {
        await client.query(`CREATE DATABASE ${name}`);
      } finally {
        await client.end();
      }
      return url(name);
    },
    async close(): Promise<void> {
      if (closed) return;
      closed = true;
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise<void>((r) => child.once('exit', () => r()));
        // SIGQUIT: immediate shutdown (a test cluster has nothing to keep).
        child.kill('SIGQUIT');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
