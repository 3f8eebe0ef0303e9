/**
 * Independent Modbus peers for the driver tests, from Debian packages `.ci/run` installs:
 * the pymodbus server (python3-pymodbus, run by /usr/bin/python3: Debian's Python modules do
 * not load in another Python), mbpoll (an independent client) and socat (a virtual serial
 * pair). Without a tool the tests skip with a message saying what to install, or fail when
 * `CI` is set.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, it } from 'vitest';

export const SYSTEM_PYTHON = '/usr/bin/python3';
const PYMODBUS_SCRIPT = fileURLToPath(new URL('../fixtures/pymodbus_server.py', import.meta.url));

export function findBinary(name: string): string | undefined {
  for (const d of [...(process.env.PATH ?? '').split(delimiter), '/usr/bin', '/usr/local/bin']) {
    if (d === '') continue;
    try {
      accessSync(join(d, name), constants.X_OK);
      return join(d, name);
    } catch {
      // not here
    }
  }
  return undefined;
}

export type Peer = 'pymodbus' | 'mbpoll' | 'socat';

/** Why a peer cannot run here, or undefined when it can. */
export function missing(peer: Peer): string | undefined {
  if (peer === 'pymodbus') {
    try {
      execFileSync(SYSTEM_PYTHON, ['-c', 'import pymodbus.datastore'], { stdio: 'ignore', timeout: 10_000 });
      return undefined;
    } catch {
      return `${SYSTEM_PYTHON} cannot import pymodbus (apt-get install python3-pymodbus)`;
    }
  }
  return findBinary(peer) === undefined ? `${peer} is not installed (apt-get install ${peer})` : undefined;
}

/**
 * `describe` when every peer is there; otherwise a skipped block whose title says what is
 * missing, or, with `CI` set, one failing test: CI must run every interop test.
 */
export function describeWithPeers(peers: readonly Peer[], title: string, fn: () => void): void {
  const why = peers.map(missing).filter((m) => m !== undefined);
  if (why.length === 0) {
    describe(title, fn);
  } else if (process.env.CI) {
    describe(title, () => {
      it(`needs ${peers.join(', ')}`, () => {
        throw new Error(`${why.join('; ')}; CI is set, so this is a failure, not a skip`);
      });
    });
  } else {
    describe.skip(`${title} — skipped: ${why.join('; ')}`, fn);
  }
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => resolve(typeof addr === 'object' && addr !== null ? addr.port : 0));
    });
  });
}

function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 3000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Reads a child's stdout until `done` returns a value (or fails after timeoutMs). */
function waitForOutput<T>(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  done: (text: string) => T | undefined,
  timeoutMs: number,
  what: string,
): Promise<T> {
  return new Promise((resolve, reject) => {
    let text = '';
    let other = '';
    const timer = setTimeout(
      () => finish(new Error(`${what}: nothing after ${timeoutMs} ms: ${text}${other}`)),
      timeoutMs,
    );
    const onData = (d: Buffer) => {
      text += String(d);
      const v = done(text);
      if (v !== undefined) finish(undefined, v);
    };
    const onOther = (d: Buffer) => {
      other += String(d);
    };
    const onExit = (code: number | null) => finish(new Error(`${what} exited (${code}): ${text}${other}`));
    const finish = (err: Error | undefined, v?: T) => {
      clearTimeout(timer);
      child[stream]?.off('data', onData);
      child[stream === 'stdout' ? 'stderr' : 'stdout']?.off('data', onOther);
      child.off('exit', onExit);
      if (err) reject(err);
      else resolve(v as T);
    };
    child[stream]?.on('data', onData);
    child[stream === 'stdout' ? 'stderr' : 'stdout']?.on('data', onOther);
    child.once('exit', onExit);
  });
}

export interface PymodbusEntry {
  readonly name: string;
  readonly table: 'coil' | 'discrete' | 'input' | 'holding';
  readonly address: number;
  readonly type: string;
  readonly order?: string;
  readonly bit?: number;
  readonly length?: number;
  /** 64-bit integers come as text. */
  readonly value: number | boolean | string;
}

export interface PymodbusServer {
  readonly port: number;
  readonly entries: readonly PymodbusEntry[];
  close(): Promise<void>;
}

/** Starts test/fixtures/pymodbus_server.py on a free port; `framer: 'rtu'` serves RTU over TCP. */
export async function startPymodbus(framer: 'socket' | 'rtu' = 'socket'): Promise<PymodbusServer> {
  const port = await freePort();
  const child = spawn(SYSTEM_PYTHON, [PYMODBUS_SCRIPT, '--port', String(port), '--framer', framer], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const description = await waitForOutput(
      child,
      'stdout',
      (text) => (text.includes('\nREADY') ? text.slice(0, text.indexOf('\nREADY')) : undefined),
      15_000,
      'pymodbus server',
    );
    const { entries } = JSON.parse(description) as { entries: PymodbusEntry[] };
    return { port, entries, close: () => stop(child) };
  } catch (err) {
    await stop(child);
    throw err;
  }
}

export interface SerialPair {
  /** The two ends: what one writes, the other reads. */
  readonly a: string;
  readonly b: string;
  close(): Promise<void>;
}

/** A virtual serial pair: `socat -d -d pty,raw,echo=0 pty,raw,echo=0`. */
export async function startSerialPair(): Promise<SerialPair> {
  const child = spawn(findBinary('socat') ?? 'socat', ['-d', '-d', 'pty,raw,echo=0', 'pty,raw,echo=0'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  try {
    const [a, b] = await waitForOutput(
      child,
      'stderr',
      (text) => {
        const ptys = [...text.matchAll(/PTY is (\S+)/g)].map((m) => m[1]!);
        return ptys.length >= 2 && text.includes('starting data transfer loop') ? ptys : undefined;
      },
      10_000,
      'socat',
    );
    return { a: a!, b: b!, close: () => stop(child) };
  } catch (err) {
    await stop(child);
    throw err;
  }
}

/** Runs mbpoll and returns its stdout; rejects with its stderr when it fails. */
export function mbpoll(args: readonly string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(findBinary('mbpoll') ?? 'mbpoll', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += String(d)));
    child.stderr.on('data', (d) => (err += String(d)));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve(out) : reject(new Error(`mbpoll ${args.join(' ')}: ${err}`)),
    );
  });
}

/** mbpoll's "[ref]: value" lines as a map from reference to the printed value. */
export function mbpollValues(out: string): Map<number, string> {
  const values = new Map<number, string>();
  for (const m of out.matchAll(/^\[(\d+)\]:\s+(\S+)/gm)) values.set(Number(m[1]), m[2]!);
  return values;
}
