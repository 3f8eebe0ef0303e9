/**
 * A `wanji <command>` child process for the stop tests (demo-stop*.test.ts): from the built
 * package, its output kept in memory, stopped with signals against a deadline.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { killOnExit } from '../support/reaper.js';
import { WANJI_CLI } from '../support/wanji-process.js';

/**
 * What a clean stop must not print: Node's stream error, a stack frame (printed, or escaped in
 * a JSON log line), the stop watchdogs' messages.
 */
export const ALARMING = [/write after end/i, /(?:^|\\n)\s+at \S.*?:\d+:\d+/, /still stopping/];

/**
 * The lines of `text` that say something alarming. A JSON log line about a coded error
 * (`err.code` WANJI_E_*, such as a Modbus timeout on a loaded machine) is an expected condition
 * reported as designed, stack and all, not a crash: it is passed over.
 */
export function alarmingLines(text: string): string[] {
  return text.split('\n').filter((line) => {
    if (!ALARMING.some((p) => p.test(line))) return false;
    try {
      const entry = JSON.parse(line) as { err?: { code?: unknown; message?: unknown } };
      const code = entry.err?.code;
      const coded = typeof code === 'string' && code.startsWith('WANJI_E_');
      return !coded || /write after end/i.test(String(entry.err?.message));
    } catch {
      return true;
    }
  });
}

export class Child {
  readonly child: ChildProcess;
  out = '';
  err = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(args: string[]) {
    this.child = spawn(process.execPath, [WANJI_CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NODE_OPTIONS: '' },
    });
    killOnExit(this.child);
    this.child.stdout?.on('data', (b: Buffer) => {
      this.out += b.toString('utf8');
    });
    this.child.stderr?.on('data', (b: Buffer) => {
      this.err += b.toString('utf8');
    });
    this.exited = new Promise((resolve) =>
      this.child.once('exit', (code, signal) => resolve({ code, signal })),
    );
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Sends `signals` in a row; the exit, or 'still running' when it lasts beyond limitMs (then killed). */
  async stop(
    signals: NodeJS.Signals[],
    limitMs: number,
  ): Promise<{ code: number | null; signal: NodeJS.Signals | null } | 'still running'> {
    for (const s of signals) this.child.kill(s);
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<'still running'>((resolve) => {
      timer = setTimeout(() => resolve('still running'), limitMs);
    });
    const result = await Promise.race([this.exited, late]);
    clearTimeout(timer);
    if (result === 'still running') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
    return result;
  }

  output(): string {
    return `--- stdout\n${this.out.slice(-3000)}\n--- stderr\n${this.err.slice(-3000)}`;
  }
}
