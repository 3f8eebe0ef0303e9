import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runHubCommand } from '../../cli/hub.js';
import { makeTestPki, tool } from '../hub/mqtt-security-helpers.js';
import { captureIo } from '../support/cli-io.js';

function io(signal: AbortSignal) {
  return captureIo({ signal });
}

describe('wanji hub --config', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wanji-hub-config-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('runs from a YAML file, with its data dir relative to the file and flags overriding it', async () => {
    const file = join(dir, 'hub.yaml');
    await writeFile(file, 'dataDir: data\nhostId: city-hub\nmqtt: { port: 1 }\nhttp: { port: 1 }\n');
    const ac = new AbortController();
    const t = io(ac.signal);
    const run = runHubCommand(['-c', file, '--mqtt-port', '0', '--http-port', '0'], t.io);
    const deadline = Date.now() + 20_000;
    while (!t.out().includes('dashboard') && Date.now() < deadline && t.err() === '') {
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      expect(t.err()).toBe('');
      expect(t.out()).toContain(`data       ${join(dir, 'data')}`);
      const url = /dashboard\s+(\S+)/.exec(t.out())?.[1];
      const health = await fetch(`${url}healthz`);
      expect(health.status).toBe(200);
    } finally {
      ac.abort();
      expect(await run).toBe(0);
    }
  });

  it("takes certificate paths from the file's folder and lists every MQTT listener", async () => {
    const openssl = tool('openssl');
    if (openssl === undefined) return; // tool() fails in CI when it is missing
    await mkdir(join(dir, 'pki'));
    makeTestPki(openssl, join(dir, 'pki'));
    const file = join(dir, 'hub.yaml');
    await writeFile(
      file,
      [
        'dataDir: data',
        'mqtt:',
        '  port: 0',
        '  tls: { port: 0, cert: pki/server.crt, key: pki/server.key }',
        '  websocket: { port: 0 }',
        'http: { port: 0 }',
      ].join('\n'),
    );
    const ac = new AbortController();
    const t = io(ac.signal);
    const run = runHubCommand(['-c', file], t.io);
    const deadline = Date.now() + 20_000;
    while (!t.out().includes('data ') && Date.now() < deadline && t.err() === '') {
      await new Promise((r) => setTimeout(r, 50));
    }
    try {
      expect(t.err()).toBe('');
      expect(t.out()).toMatch(/MQTT\/TLS\s+mqtts:\/\/127\.0\.0\.1:\d+/);
      expect(t.out()).toMatch(/WebSocket\s+ws:\/\/127\.0\.0\.1:\d+\/mqtt/);
    } finally {
      ac.abort();
      expect(await run).toBe(0);
    }
  });

  it('names the file, the path and the fix for a bad config, and starts nothing', async () => {
    const file = join(dir, 'bad.yaml');
    await writeFile(file, 'mqtt:\n  port: 70000\nhostId: "a/b"\n');
    const t = io(new AbortController().signal);
    expect(await runHubCommand(['--config', file], t.io)).toBe(2);
    expect(t.err()).toContain(file);
    expect(t.err()).toMatch(/\/mqtt\/port: .*0–65535/);
    expect(t.out()).toBe('');
  });

  it('reports YAML syntax errors with their line and a missing file plainly', async () => {
    const file = join(dir, 'broken.yaml');
    await writeFile(file, 'mqtt:\n  port: 1883\n   host: x\n');
    const t = io(new AbortController().signal);
    expect(await runHubCommand(['-c', file], t.io)).toBe(2);
    expect(t.err()).toMatch(/line \d+/);
    const t2 = io(new AbortController().signal);
    expect(await runHubCommand(['-c', join(dir, 'missing.yaml')], t2.io)).toBe(2);
    expect(t2.err()).toContain('ENOENT');
  });

  it('accepts the example config shipped in deploy/', async () => {
    const example = new URL('../../deploy/examples/hub.yaml', import.meta.url).pathname;
    // The example's dataDir is /var/lib/wanji: override it, and stop at once.
    const ac = new AbortController();
    ac.abort();
    const t2 = io(ac.signal);
    expect(
      await runHubCommand(['-c', example, '--data-dir', dir, '--http-port', '0', '--mqtt-port', '0'], t2.io),
    ).toBe(0);
    expect(t2.err()).toBe('');
  });
});
