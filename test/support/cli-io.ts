/** A CommandIo for running `wanji` subcommands in tests, capturing what they print. */
import { PassThrough } from 'node:stream';
import { type Logger, pino } from 'pino';
import type { CommandIo } from '../../cli/io.js';

export interface CapturedIo {
  readonly io: CommandIo;
  out(): string;
  err(): string;
}

export function captureIo(
  options: { signal?: AbortSignal; logger?: Logger; reload?: EventTarget } = {},
): CapturedIo {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (d: Buffer) => {
    out += d.toString();
  });
  stderr.on('data', (d: Buffer) => {
    err += d.toString();
  });
  const io: CommandIo = {
    stdout,
    stderr,
    logger: options.logger ?? pino({ level: 'silent' }),
    signal: options.signal ?? new AbortController().signal,
    ...(options.reload === undefined ? {} : { reload: options.reload }),
  };
  return { io, out: () => out, err: () => err };
}

/** Runs a command to its end and returns its exit code and output. */
export async function runCommand(
  run: (args: string[], io: CommandIo) => Promise<number>,
  args: string[],
  logger?: Logger,
): Promise<{ code: number; out: string; err: string }> {
  const c = captureIo(logger === undefined ? {} : { logger });
  const code = await run(args, c.io);
  return { code, out: c.out(), err: c.err() };
}
