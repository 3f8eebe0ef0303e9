/** The hub config's `http` limits: validated, and applied by a started hub over real HTTP. */
import { describe, expect, it } from 'vitest';
import { resolveHubConfig } from '../../hub/config.js';
import { Hub } from '../../hub/hub.js';
import { apiToken, silentLogger, tempDir } from './helpers.js';

describe('http limits in the hub config', () => {
  it('has defaults, and refuses bad values naming the path', () => {
    const c = resolveHubConfig({ dataDir: '/tmp/x' });
    expect(c.http).toEqual({
      host: '127.0.0.1',
      port: 8080,
      bodyLimit: 1_048_576,
      trustProxy: false,
      rateLimit: { enabled: true, windowMs: 60_000, perToken: 6_000, perIp: 120 },
      session: { idleMs: 28_800_000, absoluteMs: 604_800_000 },
      live: { maxStreams: 200, maxStreamsPerPrincipal: 8, heartbeatMs: 15_000, maxBufferedBytes: 262_144 },
    });
    expect(() => resolveHubConfig({ dataDir: '/tmp/x', http: { rateLimit: { perIp: 0 } } })).toThrow(
      /\/http\/rateLimit\/perIp/,
    );
    expect(() => resolveHubConfig({ dataDir: '/tmp/x', http: { bodyLimit: 10 } })).toThrow(
      /\/http\/bodyLimit/,
    );
    expect(() => resolveHubConfig({ dataDir: '/tmp/x', http: { rateLimt: {} } })).toThrow(/\/http/);
  });

  it('a started hub applies them: 429 past the per-address limit, 413 past the body limit', async () => {
    const dir = tempDir();
    const hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0 },
      http: {
        port: 0,
        bodyLimit: 2_048,
        rateLimit: { enabled: true, windowMs: 60_000, perToken: 100, perIp: 3 },
      },
      logger: silentLogger(),
    });
    try {
      await hub.start();
      const base = `http://127.0.0.1:${hub.httpPort}`;
      const admin = apiToken(hub.registry);
      // Checked once, the admin token counts against its own limit, not the address's.
      expect((await fetch(`${base}/api/v1/tokens`, { headers: admin })).status).toBe(200);
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await fetch(`${base}/api/v1/stats`)).status);
      expect(statuses).toEqual([401, 401, 429, 429]);
      const big = await fetch(`${base}/api/v1/tokens`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'bureau', name: 'x'.repeat(4_000) }),
      });
      expect(big.status).toBe(413);
      expect(await big.json()).toMatchObject({ code: 'WANJI_E_API_BODY_TOO_LARGE' });
      const ok = await fetch(`${base}/api/v1/tokens`, {
        method: 'POST',
        headers: { ...admin, 'content-type': 'application/json' },
        body: JSON.stringify({ role: 'bureau', name: 'county' }),
      });
      expect(ok.status).toBe(201);
    } finally {
      await hub.close();
      dir.remove();
    }
  });
});
