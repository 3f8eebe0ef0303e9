/**
 * `wanji demo` prints the web address with a demo admin user and its password, which signs in
 * on the demo's hub; a second run on the same data directory prints the same password.
 */
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { runDemoCommand } from '../../cli/demo.js';
import { silentLogger, tempDir, waitFor } from '../hub/helpers.js';

const WEB_LINE = /web {8}(http:\/\/\S+\/) {2}user (\S+) {2}password (\S+)/;

/** Runs the demo until it prints its addresses, signs in with the printed user, stops it. */
async function demoSignIn(dataDir: string): Promise<{ password: string; status: number; code: number }> {
  const stdout = new PassThrough();
  let out = '';
  stdout.on('data', (chunk: Buffer) => {
    out += chunk.toString('utf8');
  });
  const controller = new AbortController();
  let exited = false;
  const running = runDemoCommand(
    ['--machines', '3', '--seed', '7', '--data-dir', dataDir, '--http-port', '0', '--mqtt-port', '0'],
    { stdout, stderr: new PassThrough(), logger: silentLogger(), signal: controller.signal },
  ).finally(() => {
    exited = true;
  });
  await waitFor(() => exited || WEB_LINE.test(out), 'the demo to print its addresses', 60_000);
  const m = WEB_LINE.exec(out);
  expect(m, out).not.toBeNull();
  const [, base, name, password] = m as unknown as [string, string, string, string];
  expect(name).toBe('admin');
  const res = await fetch(`${base}api/v1/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name, password }),
  });
  const body = (await res.json()) as { role?: string };
  expect(body.role).toBe('admin');
  controller.abort();
  return { password, status: res.status, code: await running };
}

describe("wanji demo's web user", () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('signs in with the printed password, the same on a second run', async () => {
    const dataDir = join(dir.path, 'demo');
    const first = await demoSignIn(dataDir);
    expect(first).toMatchObject({ status: 200, code: 0 });
    const second = await demoSignIn(dataDir);
    expect(second).toMatchObject({ status: 200, code: 0, password: first.password });
  });
});
