/**
 * A part of Wanji run in a child process and driven over Node's IPC channel: the simulated
 * fleet's children (simulators/fleet-processes.ts, cli/sim-child.ts) and the demo's gateway
 * children (cli/gateway-pool.ts, cli/gateway-child.ts).
 *
 * The parent numbers each call ({op, …, seq}); the child replies {seq, ok, result | error}. The
 * child logs pino JSON lines on stdout, which the parent logs again at their level with their
 * fields (and the child's index); a line on stderr is logged as a warning. A child that exits
 * fails every call still waiting, and `exited` tells why. `close()` asks the child to close
 * (`{op: 'close'}`) and kills it after a grace period.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { Logger } from 'pino';

/** A call on the wire, numbered so its reply finds it. */
export type ChildRequest<Call> = Call & { readonly seq: number };

export type ChildReply =
  | { readonly seq: number; readonly ok: true; readonly result: unknown }
  | { readonly seq: number; readonly ok: false; readonly error: string };

export interface ChildExit {
  readonly index: number;
  readonly pid: number | undefined;
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
}

/**
 * The compiled entry of a child, `cli/<name>.js`: beside the calling module's folder when it is
 * compiled, else in dist/ (tests run the sources). `from` is the caller's import.meta.url.
 */
export function childEntry(from: string, name: string): string {
  const here = fileURLToPath(from);
  const compiled = here.endsWith('.js')
    ? join(dirname(here), '..', 'cli', `${name}.js`)
    : resolve(dirname(here), '..', 'dist', 'cli', `${name}.js`);
  if (!existsSync(compiled)) {
    throw new Error(`the child process entry ${compiled} is missing: run \`npm run build\` first`);
  }
  return compiled;
}

const LEVEL_NAMES: Readonly<Record<number, 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal'>> = {
  10: 'trace',
  20: 'debug',
  30: 'info',
  40: 'warn',
  50: 'error',
  60: 'fatal',
};

export interface IpcChildOptions {
  /** The compiled entry (childEntry). */
  readonly entry: string;
  readonly index: number;
  /** How the child is named in errors and logs, e.g. "simulator process". */
  readonly label: string;
  /** The child's lines are logged with `{[logField]: index}`. */
  readonly logField: string;
  readonly logger: Logger;
  /** Options for node (execArgv) in the child, e.g. a heap bound. */
  readonly execArgv?: readonly string[];
}

/** One child process and its calls, parent side. */
export class IpcChild<Call extends { readonly op: string }> {
  readonly index: number;
  readonly exited: Promise<ChildExit>;
  readonly #label: string;
  readonly #log: Logger;
  readonly #child: ChildProcess;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  #seq = 0;
  #exited = false;

  constructor(o: IpcChildOptions) {
    this.index = o.index;
    this.#label = `${o.label} ${o.index}`;
    this.#log = o.logger.child({ [o.logField]: o.index });
    this.#child = fork(o.entry, [], {
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      serialization: 'json',
      ...(o.execArgv !== undefined ? { execArgv: [...o.execArgv] } : {}),
    });
    this.#child.on('message', (m: ChildReply) => this.#reply(m));
    createInterface({ input: this.#child.stdout! }).on('line', (line) => this.#forward(line));
    createInterface({ input: this.#child.stderr! }).on('line', (line) =>
      this.#log.warn({ stderr: line }, `${o.label} wrote to stderr`),
    );
    this.exited = new Promise((resolveExit) => {
      this.#child.once('exit', (code, signal) => {
        this.#exited = true;
        const err = new Error(`${this.#label} (pid ${this.#child.pid}) exited (${signal ?? `code ${code}`})`);
        for (const p of this.#pending.values()) p.reject(err);
        this.#pending.clear();
        resolveExit({ index: o.index, pid: this.#child.pid, code, signal });
      });
    });
    this.#child.on('error', (err) => this.#log.error({ err }, `${o.label} error`));
  }

  get pid(): number | undefined {
    return this.#child.pid;
  }

  request(message: Call): Promise<unknown> {
    if (this.#exited) return Promise.reject(new Error(`${this.#label} has exited`));
    const seq = ++this.#seq;
    return new Promise((resolveReply, reject) => {
      this.#pending.set(seq, { resolve: resolveReply, reject });
      const wire: ChildRequest<Call> = { ...message, seq };
      this.#child.send(wire, (err) => {
        if (err === null || err === undefined) return;
        this.#pending.delete(seq);
        reject(err);
      });
    });
  }

  #reply(m: ChildReply): void {
    const p = this.#pending.get(m.seq);
    if (p === undefined) return;
    this.#pending.delete(m.seq);
    if (m.ok) p.resolve(m.result);
    else p.reject(new Error(m.error));
  }

  /** A child's pino line, logged here at its level with its fields. */
  #forward(line: string): void {
    let record: Record<string, unknown>;
    try {
      record = JSON.parse(line) as Record<string, unknown>;
    } catch {
      this.#log.info({ stdout: line }, `${this.#label} output`);
      return;
    }
    const { level, msg, time: _time, pid: _pid, hostname: _hostname, ...fields } = record;
    const name = LEVEL_NAMES[typeof level === 'number' ? level : 30] ?? 'info';
    this.#log[name](fields, typeof msg === 'string' ? msg : '');
  }

  /** Asks the child to close ({op: 'close'}), then waits for it to exit; kills it after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    if (this.#exited) return;
    const timer = setTimeout(() => this.#child.kill('SIGKILL'), graceMs);
    try {
      await this.request({ op: 'close' } as Call).catch(() => undefined);
      if (!this.#exited) this.#child.disconnect();
      await this.exited;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kills the child as a crash would (SIGKILL). */
  kill(): void {
    if (!this.#exited) this.#child.kill('SIGKILL');
  }
}

/**
 * Where a child logs: stdout as a stream (asynchronous), which the parent reads. Not pino's
 * default synchronous file descriptor: once the parent is gone, a synchronous write to the
 * broken socket was retried in a loop that held the event loop, and the orphan never exited.
 */
export function childLogDestination(): NodeJS.WritableStream {
  return process.stdout;
}

/** How long a child whose parent went away may take to close before it exits anyway. */
export const CHILD_ORPHAN_GRACE_MS = 10_000;

export interface ServeParentOptions<Call> {
  /** Answers one call; a throw is replied as the call's error. */
  readonly handle: (call: Call) => Promise<unknown>;
  /**
   * The parent went away (closed the channel, or died): close and end; resolves the exit code.
   * A close that takes longer than CHILD_ORPHAN_GRACE_MS is cut short (exit code 1): nobody is
   * left to kill an orphan that hangs.
   */
  readonly onDisconnect: () => Promise<number>;
  /** The program's name for the refusal when run by hand, e.g. "wanji sim-child". */
  readonly name: string;
  /** Who runs it, for that refusal, e.g. "`wanji sim` and `wanji demo`". */
  readonly runBy: string;
}

/**
 * The child's side: answers the parent's calls, ends when the parent goes away, and outlives a
 * Ctrl-C or stop signal to the process group (the parent closes its children itself over the
 * channel; else it would report children dying during its own orderly stop).
 */
export function serveParent<Call>(o: ServeParentOptions<Call>): void {
  if (process.send === undefined) {
    process.stderr.write(`${o.name}: run by ${o.runBy}, not by hand\n`);
    process.exit(2);
  }
  // The parent gone, a line written fails with EPIPE: nobody is left to read it.
  for (const out of [process.stdout, process.stderr]) out.on('error', () => undefined);
  process.on('message', (request: ChildRequest<Call>) => {
    o.handle(request).then(
      (result) => process.send?.({ seq: request.seq, ok: true, result } satisfies ChildReply),
      (err: unknown) =>
        process.send?.({
          seq: request.seq,
          ok: false,
          error: err instanceof Error ? err.message : String(err),
        } satisfies ChildReply),
    );
  });
  process.on('disconnect', () => {
    setTimeout(() => {
      process.stderr.write(
        `${o.name}: still closing ${CHILD_ORPHAN_GRACE_MS / 1000} s after the parent went away; exiting now\n`,
      );
      process.exit(1);
    }, CHILD_ORPHAN_GRACE_MS).unref();
    o.onDisconnect().then(
      (code) => process.exit(code),
      () => process.exit(1),
    );
  });
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.on(signal, () => undefined);
}
