/**
 * A synchronous PostgreSQL client: the `pg` driver runs in a worker thread, and the calling
 * thread blocks on `Atomics.wait` until the worker's answer is there (read at once with
 * `receiveMessageOnPort`), the way the npm packages synckit and make-synchronous do. This keeps
 * the repositories synchronous on both engines (docs/hub.md, "The registry on PostgreSQL").
 * The calling thread waits for each statement's round trip to the server; nothing else runs
 * on it meanwhile, as with better-sqlite3.
 */
import { createRequire } from 'node:module';
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from 'node:worker_threads';

/** One query's result: rows as objects by column name; int8 and numeric as numbers. */
export interface SyncQueryResult {
  readonly rows: Record<string, unknown>[];
  readonly rowCount: number;
}

/** An error from PostgreSQL (or the connection to it), with the server's SQLSTATE as `code`. */
export class PostgresError extends Error {
  readonly code: string | undefined;
  constructor(message: string, code: string | undefined) {
    super(message);
    this.name = 'PostgresError';
    this.code = code;
  }
}

// Plain JavaScript, evaluated as the worker (no TypeScript loader needed in a worker).
// int8 (20) and numeric (1700) as numbers: times are ms since the epoch and counts are small,
// both exact in a double, as SQLite's integers are in better-sqlite3.
const WORKER_SOURCE = `
const { workerData } = require('node:worker_threads');
const pg = require(workerData.pg);
const { port, url, statementTimeoutMs, connectTimeoutMs } = workerData;
const signal = new Int32Array(workerData.signal);
const types = {
  getTypeParser(oid, format) {
    if (oid === 20 || oid === 1700) return (v) => Number(v);
    return pg.types.getTypeParser(oid, format);
  },
};
const client = new pg.Client({
  connectionString: url,
  types,
  statement_timeout: statementTimeoutMs,
  connectionTimeoutMillis: connectTimeoutMs,
  application_name: 'wanji-hub',
});
let broken;
client.on('error', (err) => { broken = err; });
function fail(err) {
  return { error: String((err && err.message) || err), code: err && typeof err.code === 'string' ? err.code : undefined };
}
function reply(id, msg) {
  msg.id = id;
  port.postMessage(msg);
  Atomics.add(signal, 0, 1);
  Atomics.notify(signal, 0);
}
port.on('message', (m) => {
  if (m.op === 'connect') {
    client.connect().then(() => reply(m.id, {}), (err) => reply(m.id, fail(err)));
  } else if (m.op === 'close') {
    client.end().then(() => reply(m.id, {}), (err) => reply(m.id, fail(err)));
  } else if (broken !== undefined) {
    reply(m.id, fail(broken));
  } else {
    client.query({ text: m.text, values: m.values }).then(
      (r) => reply(m.id, { rows: r.rows, rowCount: r.rowCount === null ? 0 : r.rowCount }),
      (err) => reply(m.id, fail(err)),
    );
  }
});
`;

interface Reply {
  readonly id: number;
  readonly error?: string;
  readonly code?: string;
  readonly rows?: Record<string, unknown>[];
  readonly rowCount?: number;
}

export interface SyncClientOptions {
  /** postgres://user:password@host:port/database (libpq's URL form; `pg` reads sslmode etc.). */
  readonly url: string;
  /** The server cancels a statement running longer (ms). */
  readonly statementTimeoutMs: number;
  /** The calling thread gives up waiting for an answer after this (ms); then the client is closed. */
  readonly replyTimeoutMs: number;
}

/** Statements sent to PostgreSQL by every client of this thread, each one round trip. */
let roundTrips = 0;

/**
 * How many round trips (statements, BEGIN and COMMIT included) this thread's clients have made
 * so far: the ingest's cost on PostgreSQL is counted in these (tests and bench/registry-flush.ts).
 */
export function postgresRoundTrips(): number {
  return roundTrips;
}

export class SyncPostgresClient {
  readonly #worker: Worker;
  readonly #port: MessagePort;
  readonly #signal: Int32Array;
  readonly #replyTimeoutMs: number;
  #next = 0;
  #closed = false;

  /** Starts the worker and connects; throws (naming the server's reason) when it cannot. */
  constructor(opts: SyncClientOptions) {
    const { port1, port2 } = new MessageChannel();
    const signal = new SharedArrayBuffer(4);
    this.#signal = new Int32Array(signal);
    this.#port = port1;
    this.#replyTimeoutMs = opts.replyTimeoutMs;
    this.#worker = new Worker(WORKER_SOURCE, {
      eval: true,
      workerData: {
        pg: createRequire(import.meta.url).resolve('pg'),
        port: port2,
        signal,
        url: opts.url,
        statementTimeoutMs: opts.statementTimeoutMs,
        connectTimeoutMs: opts.replyTimeoutMs,
      },
      transferList: [port2],
    });
    // The hub closes the client; an unclosed one must not keep the process alive.
    this.#worker.unref();
    try {
      this.#call({ op: 'connect' });
    } catch (err) {
      this.#terminate();
      throw err;
    }
  }

  query(text: string, values: readonly unknown[]): SyncQueryResult {
    roundTrips++;
    const r = this.#call({ op: 'query', text, values });
    return { rows: r.rows ?? [], rowCount: r.rowCount ?? 0 };
  }

  close(): void {
    if (this.#closed) return;
    try {
      this.#call({ op: 'close' });
    } catch {
      // closing anyway
    }
    this.#terminate();
  }

  #terminate(): void {
    this.#closed = true;
    this.#port.close();
    void this.#worker.terminate();
  }

  #call(msg: { op: string; text?: string; values?: readonly unknown[] }): Reply {
    if (this.#closed) throw new PostgresError('the PostgreSQL connection is closed', undefined);
    const id = ++this.#next;
    const deadline = Date.now() + this.#replyTimeoutMs;
    this.#port.postMessage({ ...msg, id });
    for (;;) {
      // Read before looking at the port: an answer posted after this wakes the wait below.
      const seen = Atomics.load(this.#signal, 0);
      const got = receiveMessageOnPort(this.#port);
      if (got !== undefined) {
        const reply = got.message as Reply;
        if (reply.id !== id) continue; // an answer to a call that timed out
        if (reply.error !== undefined) throw new PostgresError(`PostgreSQL: ${reply.error}`, reply.code);
        return reply;
      }
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#terminate();
        throw new PostgresError(
          `PostgreSQL did not answer within ${this.#replyTimeoutMs} ms; the connection is closed (is the server up and reachable?)`,
          undefined,
        );
      }
      // Sleeps until the worker has answered something since `seen` was read (or the time is up).
      Atomics.wait(this.#signal, 0, seen, left);
    }
  }
}
