/**
 * Gateways that lose the broker together come back at different instants (issue 13: 200 gateways
 * on one box reconnected in lockstep), and one attempt waits the config's mqtt.connectTimeoutMs.
 * Real broker on loopback; each gateway's time is its own ManualClock, so the retry instant is
 * read off the clock, not measured.
 */
import { once } from 'node:events';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ConfigError, validateGatewayConfig } from '../../gateway/config/index.js';
import type { EdgeNode } from '../../gateway/northbound/edge-node.js';
import type { TimerHandle } from '../../protocol/clock.js';
import { ManualClock } from '../support/manual-clock.js';
import { seeded } from '../support/seeded.js';
import { sampleConfigObject } from './fixtures.js';
import { waitFor } from './helpers.js';
import { startBroker, type TestBroker } from './mqtt-helpers.js';
import { sampleEdgeNode } from './sample-edge-node.js';

interface LogLine {
  readonly msg?: string;
  readonly delayMs?: number;
}

/** A logger whose lines the test reads. */
function recordingLogger(): { logger: pino.Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s) as LogLine) });
  return { logger, lines };
}

/** A ManualClock that remembers each timer set: its wait, and whether it has fired. */
class RecordingClock extends ManualClock {
  readonly timers: { ms: number; fired: boolean }[] = [];

  override setTimeout(fn: () => void, ms: number): TimerHandle {
    const t = { ms, fired: false };
    this.timers.push(t);
    return super.setTimeout(() => {
      t.fired = true;
      fn();
    }, ms);
  }
}

const LOST = 'disconnected from the MQTT broker; reconnecting';
const MIN_MS = 1000;

describe('MQTT reconnects of gateways that share a broker', () => {
  let broker: TestBroker;
  let dataDir: string;
  const nodes: EdgeNode[] = [];

  beforeEach(async () => {
    broker = await startBroker();
    dataDir = await mkdtemp(join(tmpdir(), 'wanji-jitter-'));
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    for (const n of nodes.splice(0)) await n.close();
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  });

  function gateway(i: number, clock: RecordingClock, random?: () => number, minMs = MIN_MS) {
    const { logger, lines } = recordingLogger();
    const clientId = `jitter-gw-${i}`;
    const node = sampleEdgeNode(
      { url: broker.url, clientId },
      {
        dataDir: join(dataDir, String(i)),
        logger,
        clock,
        reconnectMinMs: minMs,
        reconnectMaxMs: 30_000,
        ...(random === undefined ? {} : { random }),
      },
    );
    nodes.push(node);
    return { node, lines, clientId, clock };
  }

  /** Starts the gateways, then cuts every one off the broker at once; their first waits. */
  async function loseTogether(gws: ReturnType<typeof gateway>[]): Promise<number[]> {
    for (const g of gws) await g.node.start();
    await waitFor(() => gws.every((g) => g.node.status().connected) || undefined, 'every gateway connected');
    for (const g of gws) broker.client(g.clientId)!.conn.destroy();
    return Promise.all(
      gws.map(async (g) => {
        const line = await waitFor(
          () => g.lines.find((l) => l.msg === LOST),
          'the reconnect to be scheduled',
        );
        return line.delayMs!;
      }),
    );
  }

  it('two gateways that lose the broker together retry at different instants, each within its jittered step', async () => {
    const random = seeded(13);
    const start = Date.now();
    const gws = [
      gateway(1, new RecordingClock(start), random),
      gateway(2, new RecordingClock(start), random),
    ];
    const delays = await loseTogether(gws);
    expect(delays[0]).not.toBe(delays[1]);
    for (const d of delays) {
      expect(d).toBeGreaterThanOrEqual(MIN_MS / 2); // the first retry is jittered too
      expect(d).toBeLessThanOrEqual(MIN_MS);
    }
    // Each retries exactly when its own wait ends on its clock, not a moment before.
    for (const [i, g] of gws.entries()) {
      const retry = g.clock.timers.filter((t) => t.ms === delays[i]).at(-1)!;
      const connects = g.node.status().counters.connects ?? 0;
      g.clock.advance(delays[i]! - 1);
      expect(retry.fired).toBe(false);
      g.clock.advance(1);
      expect(retry.fired).toBe(true);
      await waitFor(() => (g.node.status().counters.connects ?? 0) > connects || undefined, 'the retry');
    }
  });

  it('jitters with Math.random when no source is given', async () => {
    vi.spyOn(Math, 'random').mockReturnValue(0);
    const [delay] = await loseTogether([gateway(3, new RecordingClock(), undefined, 4000)]);
    expect(delay).toBe(2000); // equal jitter at its low end: half the step
  });
});

describe('mqtt.connectTimeoutMs', () => {
  const configWith = (connectTimeoutMs?: unknown) => {
    const obj = sampleConfigObject();
    obj.mqtt = {
      url: 'mqtt://127.0.0.1:1883',
      ...(connectTimeoutMs === undefined ? {} : { connectTimeoutMs }),
    };
    return obj;
  };

  it('defaults to 10 s and is refused outside 1000–300000 with the path and the range', () => {
    expect(validateGatewayConfig(configWith()).mqtt.connectTimeoutMs).toBe(10_000);
    expect(validateGatewayConfig(configWith(30_000)).mqtt.connectTimeoutMs).toBe(30_000);
    for (const bad of [500, 400_000, 2.5, 'soon']) {
      let issues: readonly { path: string; fix?: string }[] = [];
      try {
        validateGatewayConfig(configWith(bad), 'gw.yaml');
      } catch (err) {
        expect(err).toBeInstanceOf(ConfigError);
        issues = (err as ConfigError).issues;
      }
      const issue = issues.find((i) => i.path === '/mqtt/connectTimeoutMs');
      expect(issue, `connectTimeoutMs ${String(bad)}`).toBeDefined();
      if (typeof bad === 'number' && Number.isInteger(bad))
        expect(issue?.fix).toContain('between 1000 and 300000');
    }
  });

  it("an attempt the broker never answers is given up after the config's timeout", async () => {
    // A listener that takes the connection and never sends CONNACK.
    const sockets: Socket[] = [];
    const silent: Server = createServer((s) => void sockets.push(s));
    silent.listen(0, '127.0.0.1');
    await once(silent, 'listening');
    const port = (silent.address() as { port: number }).port;
    const dir = await mkdtemp(join(tmpdir(), 'wanji-connect-timeout-'));
    const { logger, lines } = recordingLogger();
    const node = sampleEdgeNode(
      { url: `mqtt://127.0.0.1:${port}`, connectTimeoutMs: 1000 },
      { dataDir: dir, logger, reconnectMinMs: 60_000, reconnectMaxMs: 60_000 },
    );
    try {
      await node.start();
      // The default (10 s) would outlast this wait; the configured second does not.
      await waitFor(
        () => lines.find((l) => l.msg === 'MQTT connection closed; reconnecting'),
        'the unanswered attempt to be given up',
        8_000,
      );
      expect(sockets.length).toBe(1);
    } finally {
      await node.close();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
      await rm(dir, { recursive: true, force: true });
    }
  });
});
