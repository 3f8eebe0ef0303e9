import { describe, expect, it } from 'vitest';
import { runHubCommand } from '../../cli/hub.js';
import { resolveHubConfig } from '../../hub/config.js';
import { HubConfigError } from '../../hub/errors.js';
import { Hub } from '../../hub/hub.js';
import { captureIo } from '../support/cli-io.js';
import { silentLogger, tempDir, waitFor } from './helpers.js';

describe('hub config', () => {
  it('fills defaults and freezes the result', () => {
    const c = resolveHubConfig({ dataDir: '/tmp/x' });
    expect(c).toMatchObject({
      hostId: 'wanji-hub',
      mqtt: { type: 'embedded', host: '127.0.0.1', port: 1883 },
      http: { host: '127.0.0.1', port: 8080 },
      store: { type: 'sqlite' },
      onlineWindowMs: 300_000,
      networkingWindowMs: 604_800_000,
      reorderTimeoutMs: 2_000,
      lastSeenIntervalMs: 5_000,
    });
    expect(Object.isFrozen(c.mqtt)).toBe(true);
  });

  it('names every bad path and the fix', () => {
    let err: unknown;
    try {
      resolveHubConfig({ dataDir: '/d', mqtt: { port: 70_000 }, http: { port: 'x' }, colour: 'red' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(HubConfigError);
    const e = err as HubConfigError;
    expect(e.code).toBe('WANJI_E_HUB_CONFIG');
    expect(e.problems.join('\n')).toMatch(/\/mqtt\/port: .*0–65535/);
    expect(e.problems.join('\n')).toMatch(/\/http\/port/);
    expect(e.problems.join('\n')).toMatch(/\/colour: Unexpected property/);
    expect(() => resolveHubConfig({ dataDir: '/d', hostId: 'a/b' })).toThrow(/\/hostId/);
    expect(() => resolveHubConfig({ dataDir: '/d', lastSeenIntervalMs: 120_000 })).toThrow(
      /\/lastSeenIntervalMs: .*60000/,
    );
    expect(() => resolveHubConfig({ dataDir: '/d', mqtt: { type: 'external' } })).toThrow(
      /\/mqtt\/url: required/,
    );
    expect(() => new Hub({ dataDir: '', logger: silentLogger() })).toThrow(HubConfigError);
  });
});

describe('Hub lifecycle', () => {
  it('fails to start with a clear error when the MQTT port is taken, and closes what it started', async () => {
    const a = tempDir();
    const b = tempDir();
    const first = new Hub({ dataDir: a.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });
    await first.start();
    const second = new Hub({
      dataDir: b.path,
      mqtt: { port: first.mqttPort! },
      http: { port: 0 },
      logger: silentLogger(),
    });
    try {
      await expect(second.start()).rejects.toMatchObject({ code: 'WANJI_E_BROKER_LISTEN' });
      expect(second.registry.health().status).toBe('closed');
      expect(second.store.health().status).toBe('closed');
      await second.close();
    } finally {
      await first.close();
      a.remove();
      b.remove();
    }
  });
});

function io(signal: AbortSignal) {
  return captureIo({ signal, logger: silentLogger() });
}

describe('wanji hub', () => {
  it('prints help', async () => {
    const t = io(new AbortController().signal);
    expect(await runHubCommand(['--help'], t.io)).toBe(0);
    expect(t.out()).toContain('--data-dir D');
  });

  it('rejects bad options with exit code 2', async () => {
    const t = io(new AbortController().signal);
    expect(await runHubCommand(['--http-port', 'eighty'], t.io)).toBe(2);
    expect(t.err()).toContain('--http-port must be a port number');
    expect(await runHubCommand(['--frobnicate'], t.io)).toBe(2);
  });

  it('runs until the signal aborts and prints the dashboard URL', async () => {
    const dir = tempDir();
    const ac = new AbortController();
    const t = io(ac.signal);
    const run = runHubCommand(['--data-dir', dir.path, '--http-port', '0', '--mqtt-port', '0'], t.io);
    try {
      await waitFor(() => t.out().includes('dashboard'), 'the dashboard URL');
      const url = /dashboard\s+(\S+)/.exec(t.out())?.[1];
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await fetch(url!);
      expect(await page.text()).toContain('万机联网');
    } finally {
      ac.abort();
      expect(await run).toBe(0);
      dir.remove();
    }
    expect(t.out()).toContain('Wanji hub stopped');
  });
});
