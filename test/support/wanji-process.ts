/**
 * `wanji <command>` as a child process of a test, the way an operator runs it: from the
 * built package (bin/wanji.js loads dist/, which `npm run build` makes before vitest runs).
 * Its stdout and stderr (pino JSON lines) go to a log file that survives kills and restarts,
 * so a failing test can print what the process said. Every child still running when the
 * test process exits is killed.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { killOnExit } from './reaper.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
export const WANJI_CLI = join(root, 'bin', 'wanji.js');

/** Throws when dist/ has not been built (the children would run stale or no code). */
export function assertBuilt(): void {
  if (!existsSync(join(root, 'dist', 'cli', 'main.js'))) {
    throw new Error('dist/ is missing: run `npm run build` first (npm test does)');
  }
}

export class WanjiProcess {
  readonly name: string;
  readonly logFile: string;
  readonly #args: readonly string[];
  #child: ChildProcess | undefined;
  #starts = 0;

  /** `args` follow `wanji`, e.g. ['hub', '-c', file, '--log-level', 'info']. */
  constructor(name: string, args: readonly string[], logDir: string) {
    this.name = name;
    this.#args = args;
    this.logFile = join(logDir, `${name}.log`);
  }

  get running(): boolean {
    const c = this.#child;
    return c !== undefined && c.exitCode === null && c.signalCode === null;
  }

  get pid(): number | undefined {
    return this.#child?.pid;
  }

  /** Spawns the process (no-op while it runs); readiness is the caller's to check. */
  start(): void {
    if (this.running) return;
    const log = openSync(this.logFile, 'a');
    this.#starts++;
    const child = spawn(process.execPath, [WANJI_CLI, ...this.#args], {
      stdio: ['ignore', log, log],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    this.#child = child;
    killOnExit(child);
  }

  /** How many times it was started. */
  get starts(): number {
    return this.#starts;
  }

  /** Sends `signal` and waits for the exit; SIGKILL after `graceMs` if it lingers. */
  async stop(signal: NodeJS.Signals = 'SIGTERM', graceMs = 10_000): Promise<void> {
    const child = this.#child;
    if (child === undefined || !this.running) return;
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    child.kill(signal);
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    await exited;
    clearTimeout(timer);
  }

  /** kill -9: no shutdown code runs, no NDEATH is sent by the process itself. */
  async kill(): Promise<void> {
    await this.stop('SIGKILL');
  }

  /**
   * The last `lines` lines of the log, for failure messages: pino JSON lines as
   * "time level [component] msg key=value …" with an error's message and code but not its stack.
   */
  tail(lines = 40): string {
    let text: string;
    try {
      text = readFileSync(this.logFile, 'utf8');
    } catch {
      return '(no log)';
    }
    const all = text.split('\n').filter((l) => l.trim() !== '');
    const shown = all.slice(-lines).map((l) => compactLogLine(l).slice(0, 400));
    return [...(all.length > lines ? [`… ${all.length - lines} earlier lines`] : []), ...shown].join('\n');
  }

  /** Log lines containing `needle` (cheap checks such as "did it start"). */
  logLines(needle: string): string[] {
    try {
      return readFileSync(this.logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes(needle));
    } catch {
      return [];
    }
  }
}

const LEVELS: Readonly<Record<number, string>> = {
  10: 'TRACE',
  20: 'DEBUG',
  30: 'INFO',
  40: 'WARN',
  50: 'ERROR',
  60: 'FATAL',
};
const SKIP = new Set(['level', 'time', 'msg', 'pid', 'hostname', 'cmd', 'component', 'err']);

/** One pino JSON line made readable; anything else unchanged. */
export function compactLogLine(line: string): string {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(line) as Record<string, unknown>;
  } catch {
    return line;
  }
  if (typeof o !== 'object' || o === null) return line;
  const time = typeof o.time === 'number' ? new Date(o.time).toISOString().slice(11, 23) : '?';
  const level = LEVELS[Number(o.level)] ?? String(o.level);
  const component = typeof o.component === 'string' ? ` [${o.component}]` : '';
  const parts = [`${time} ${level}${component} ${String(o.msg ?? '')}`];
  const err = o.err as { message?: unknown; code?: unknown } | undefined;
  if (err !== undefined && err !== null) {
    parts.push(
      `err="${String(err.message ?? '')}"${err.code === undefined ? '' : ` code=${String(err.code)}`}`,
    );
  }
  for (const [k, v] of Object.entries(o)) {
    if (!SKIP.has(k)) parts.push(`${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`);
  }
  return parts.join(' ');
}
