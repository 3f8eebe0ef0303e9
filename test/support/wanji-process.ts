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

const root = fileURLToPath(new URL('../../', import.meta.url));
export const WANJI_CLI = join(root, 'bin', 'wanji.js');

const running = new Set<ChildProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGKILL');
  });
}

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
    installExitHook();
    const log = openSync(this.logFile, 'a');
    this.#starts++;
    const child = spawn(process.execPath, [WANJI_CLI, ...this.#args], {
      stdio: ['ignore', log, log],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    this.#child = child;
    running.add(child);
    child.once('exit', () => running.delete(child));
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

  /** The last `chars` of the log, for failure messages. */
  tail(chars = 4_000): string {
    try {
      const text = readFileSync(this.logFile, 'utf8');
      return text.length <= chars ? text : `…${text.slice(-chars)}`;
    } catch {
      return '(no log)';
    }
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
