/**
 * A real mosquitto on loopback for a test: anonymous, no persistence, a free port. Absent
 * mosquitto skips (the caller's describe.skipIf) outside CI and fails in CI, where .ci/run
 * installs it.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { freePort } from './influx-servers.js';
import { waitFor } from './wait.js';

/** The mosquitto binary, or undefined (outside CI) when it is not installed. */
export function mosquittoBinary(): string | undefined {
  for (const dir of ['/usr/sbin', '/usr/bin', ...(process.env.PATH ?? '').split(':')]) {
    const p = join(dir, 'mosquitto');
    if (dir !== '' && existsSync(p)) return p;
  }
  if (process.env.CI) throw new Error('mosquitto is required in CI (Debian package mosquitto)');
  return undefined;
}

export interface Mosquitto {
  readonly port: number;
  readonly url: string;
  stop(): Promise<void>;
}

const canConnect = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });

/** Starts mosquitto in `dir` (its config file goes there) and waits until it listens. */
export async function startMosquitto(bin: string, dir: string): Promise<Mosquitto> {
  const port = await freePort();
  const conf = join(dir, 'mosquitto.conf');
  writeFileSync(
    conf,
    ['user root', 'persistence false', 'allow_anonymous true', `listener ${port} 127.0.0.1`, ''].join('\n'),
  );
  const child: ChildProcess = spawn(bin, ['-c', conf], { stdio: 'ignore' });
  let exited = false;
  child.once('exit', () => {
    exited = true;
  });
  await waitFor(async () => exited || (await canConnect(port)), 'mosquitto listening', 10_000);
  if (exited) throw new Error(`mosquitto did not start (config ${conf})`);
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    stop: async () => {
      if (exited) return;
      const gone = new Promise<void>((r) => child.once('exit', () => r()));
      child.kill('SIGTERM');
      await gone;
    },
  };
}
