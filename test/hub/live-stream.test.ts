/**
 * Live values as server-sent events (`GET /api/v1/machines/:e/:m/live`, docs/api.md "Live
 * values"), against a real hub fed by a real Sparkplug edge node: the machine's stored values
 * come first, then each DDATA's samples in order; another enterprise's token gets the 404 of a
 * missing machine and a bureau token the 403 of telemetry; a closed client frees its
 * subscription (/healthz `counters.live`); streams per token are bounded (429); a client that
 * never reads gets events dropped and counted while the hub's send buffers stay bounded.
 */
import { type IncomingMessage, request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { DataType, type Metric } from '../../protocol/index.js';
import { apiToken, cncBirth, silentLogger, TestEdgeNode, tempDir, waitFor } from './helpers.js';

interface SseEvent {
  readonly event: string;
  readonly data: string;
}

/** An EventSource-like reader over fetch: the events as they arrive, and a close. */
interface Stream {
  readonly status: number;
  readonly contentType: string | null;
  readonly headers: IncomingMessage['headers'];
  readonly events: SseEvent[];
  readonly ended: () => boolean;
  close(): void;
}

const MAX_BUFFERED = 8_192;
const PER_TOKEN = 3;

interface LiveCounters {
  streams: number;
  subscriptions: number;
  eventsDropped: number;
  bufferedBytes: number;
  streamsRefused: number;
}

describe('live values as server-sent events', () => {
  const dir = tempDir();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0, allowAnonymous: true },
    http: {
      port: 0,
      live: {
        maxStreams: 50,
        maxStreamsPerPrincipal: PER_TOKEN,
        heartbeatMs: 15_000,
        maxBufferedBytes: MAX_BUFFERED,
      },
    },
    flushIntervalMs: 20,
    logger: silentLogger(),
  });
  const gw = new TestEdgeNode('FA-1', 'GW-A');
  let admin: { authorization: string };
  const base = () => `http://127.0.0.1:${hub.httpPort}`;
  const live = '/api/v1/machines/FA-1/M1/live';
  const opened: Stream[] = [];

  /**
   * node:http with a connection of its own per stream (undici's fetch opens spare connections
   * when a streamed body is aborted, which the server then waits for when it closes).
   */
  const open = async (path: string, headers: Record<string, string>): Promise<Stream> => {
    const req = request(`${base()}${path}`, { headers, agent: false });
    const res = await new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
      req.end();
    });
    const events: SseEvent[] = [];
    let done = false;
    let text = '';
    res.setEncoding('utf8');
    res.on('data', (chunk: string) => {
      text += chunk;
      let cut = text.indexOf('\n\n');
      while (cut >= 0) {
        const lines = text.slice(0, cut).split('\n');
        text = text.slice(cut + 2);
        const name = lines.find((l) => l.startsWith('event: '))?.slice(7);
        const data = lines.find((l) => l.startsWith('data: '))?.slice(6);
        if (name !== undefined && data !== undefined) events.push({ event: name, data });
        cut = text.indexOf('\n\n');
      }
    });
    const over = () => {
      done = true;
    };
    res.on('end', over);
    res.on('close', over);
    res.on('error', over);
    const s: Stream = {
      status: res.statusCode ?? 0,
      contentType: res.headers['content-type'] ?? null,
      headers: res.headers,
      events,
      ended: () => done,
      close: () => req.destroy(),
    };
    opened.push(s);
    return s;
  };
  const counters = async (): Promise<LiveCounters> => {
    const r = await fetch(`${base()}/healthz`);
    const body = (await r.json()) as { counters: { live: LiveCounters } };
    return body.counters.live;
  };
  const partCount = (value: number): Metric[] => [
    { name: 'Signals/partCount', alias: 7, datatype: DataType.UInt32, value },
  ];
  const samplesOf = (s: Stream) =>
    s.events
      .filter((e) => e.event === 'samples')
      .flatMap((e) => (JSON.parse(e.data) as { samples: { metric: string; value: unknown }[] }).samples);

  beforeAll(async () => {
    await hub.start();
    admin = apiToken(hub.registry, 'admin');
    for (const code of ['FA-1', 'FB-2']) {
      hub.registry.upsertEnterprise(
        {
          code,
          name: code,
          regionCode: 'yiwu',
          industryCode: 'hardware',
          backbone: false,
          ledger: { productionEquipment: 10, ncEquipment: 8, robots: 0 },
        },
        'test',
      );
    }
    await gw.connect(hub.mqttUrl);
    await gw.nbirth();
    await gw.dbirth('M1', cncBirth(Date.now()));
    const blobs: Metric[] = Array.from({ length: 20 }, (_, i) => ({
      name: `Signals/blob${i}`,
      alias: 100 + i,
      datatype: DataType.String,
      value: '',
    }));
    await gw.dbirth('M2', [...cncBirth(Date.now()), ...blobs]);
    await waitFor(
      () =>
        hub.registry.machine('FA-1', 'M1') !== undefined && hub.registry.machine('FA-1', 'M2') !== undefined,
      'M1 and M2 in the registry',
      10_000,
    );
  });

  afterAll(async () => {
    for (const s of opened) s.close();
    await gw.close();
    await hub.close();
    dir.remove();
  });

  it('sends the stored values first, then each DDATA of the machine in order', async () => {
    await waitFor(
      async () => (await hub.store.latest('FA-1', 'M1')).some((v) => v.metric === 'Signals/partCount'),
      'the birth values stored',
      10_000,
    );
    const s = await open(live, admin);
    expect(s.status).toBe(200);
    expect(s.contentType).toMatch(/^text\/event-stream/);
    // The data replies' security headers, though the stream is written outside fastify's hooks.
    expect(s.headers['x-content-type-options']).toBe('nosniff');
    expect(s.headers['content-security-policy']).toMatch(/^default-src 'none'/);
    expect(s.headers['cache-control']).toContain('no-cache');
    await waitFor(() => s.events.length > 0, 'the first event', 10_000);
    const first = s.events[0];
    expect(first?.event).toBe('values');
    const values = JSON.parse(first?.data ?? '{}') as { values: { metric: string; value: unknown }[] };
    expect(values.values.find((v) => v.metric === 'Signals/partCount')?.value).toBe(10);
    expect(values.values.find((v) => v.metric === 'State')?.value).toBe('idle');

    for (const n of [11, 12, 13, 14]) await gw.ddata('M1', partCount(n));
    // Another machine's data is not this stream's.
    await gw.ddata('M2', partCount(99));
    await waitFor(() => samplesOf(s).length >= 4, 'four samples on the stream', 10_000);
    expect(samplesOf(s).map((x) => x.value)).toEqual([11, 12, 13, 14]);
    s.close();
  });

  it('answers another enterprise 404 and a bureau 403, and lets the own enterprise in', async () => {
    const other = await open(live, apiToken(hub.registry, 'enterprise', { enterprise: 'FB-2' }));
    expect(other.status).toBe(404);
    const bureau = await open(live, apiToken(hub.registry, 'bureau', { regions: [] }));
    expect(bureau.status).toBe(403);
    const missing = await open('/api/v1/machines/FA-1/NOPE/live', admin);
    expect(missing.status).toBe(404);
    const own = await open(live, apiToken(hub.registry, 'enterprise', { enterprise: 'FA-1' }));
    expect(own.status).toBe(200);
    await waitFor(
      () => own.events.some((e) => e.event === 'values'),
      'the own enterprise gets values',
      10_000,
    );
    own.close();
  });

  it('frees the subscription when the client closes, and bounds the streams per token', async () => {
    await waitFor(async () => (await counters()).streams === 0, 'earlier streams closed', 10_000);
    const token = apiToken(hub.registry, 'operator');
    const streams: Stream[] = [];
    for (let i = 0; i < PER_TOKEN; i++) streams.push(await open(live, token));
    expect(streams.map((s) => s.status)).toEqual(Array(PER_TOKEN).fill(200));
    const c = await counters();
    expect(c.streams).toBe(PER_TOKEN);
    expect(c.subscriptions).toBe(PER_TOKEN);

    const over = await open(live, token);
    expect(over.status).toBe(429);
    expect((await counters()).streamsRefused).toBeGreaterThanOrEqual(1);
    // /metrics says the same as /healthz.
    const metrics = await (await fetch(`${base()}/metrics`, { headers: admin })).text();
    expect(metrics).toMatch(new RegExp(`^wanji_live_streams ${PER_TOKEN}$`, 'm'));
    expect(metrics).toMatch(/^wanji_live_streams_refused_total [1-9]\d*$/m);
    // Another token has its own allowance.
    const admins = await open(live, admin);
    expect(admins.status).toBe(200);

    for (const s of [...streams, admins]) s.close();
    await waitFor(
      async () => {
        const now = await counters();
        return now.streams === 0 && now.subscriptions === 0;
      },
      'every subscription freed after the clients closed',
      10_000,
    );
    const again = await open(live, token);
    expect(again.status).toBe(200);
    again.close();
  });

  it('drops and counts the events of a client that never reads, keeping the send buffer bounded', async () => {
    await waitFor(async () => (await counters()).streams === 0, 'earlier streams closed', 10_000);
    const req = request(`${base()}/api/v1/machines/FA-1/M2/live`, { headers: admin, agent: false });
    const response = new Promise<IncomingMessage>((resolve, reject) => {
      req.on('response', resolve);
      req.on('error', reject);
    });
    req.end();
    const res = await response;
    expect(res.statusCode).toBe(200);
    res.pause(); // never read: the kernel's buffers fill, then the hub's

    const before = (await counters()).eventsDropped;
    const blob = 'x'.repeat(4_000);
    const message = (n: number): Metric[] =>
      Array.from({ length: 20 }, (_, i) => ({
        name: `Signals/blob${i}`,
        alias: 100 + i,
        datatype: DataType.String,
        value: `${n}:${blob}`,
      }));
    let sent = 0;
    let dropped = false;
    // Up to ~200 MB of events; the loopback socket buffers take a few MB at most.
    while (!dropped && sent < 2_500) {
      for (let i = 0; i < 25; i++) await gw.ddata('M2', message(sent++));
      const c = await counters();
      expect(c.bufferedBytes).toBeLessThanOrEqual(MAX_BUFFERED + 200_000);
      dropped = c.eventsDropped > before;
    }
    expect(dropped, `events dropped after ${sent} messages`).toBe(true);
    const c = await counters();
    expect(c.streams).toBe(1);
    // One event (≈ 80 KB here) may pass the bound; nothing more is queued.
    expect(c.bufferedBytes).toBeLessThanOrEqual(MAX_BUFFERED + 200_000);

    res.destroy();
    req.destroy();
    await waitFor(async () => (await counters()).streams === 0, 'the slow stream freed', 10_000);
  });

  it('thins a long range to the newest point of each step (series?step=)', async () => {
    const start = Math.floor((Date.now() - 600_000) / 1000) * 1000;
    for (let i = 0; i < 60; i++) {
      const ts = start + i * 1000;
      await gw.ddata(
        'M1',
        [{ name: 'Signals/spindleSpeed', alias: 6, datatype: DataType.Double, value: i, timestamp: ts }],
        { timestamp: ts },
      );
    }
    const series = (query: string) =>
      fetch(`${base()}/api/v1/machines/FA-1/M1/series?metric=Signals/spindleSpeed&${query}`, {
        headers: admin,
      });
    const range = `from=${start}&to=${start + 59_999}`;
    await waitFor(
      async () => {
        const r = (await (await series(range)).json()) as { points: unknown[] };
        return r.points.length === 60;
      },
      'the 60 points stored',
      10_000,
    );
    const r = await series(`${range}&step=10000`);
    expect(r.status).toBe(200);
    const body = (await r.json()) as { points: { ts: number; value: number }[] };
    expect(body.points.map((p) => p.value)).toEqual([9, 19, 29, 39, 49, 59]);
    expect(body.points.map((p) => p.ts - start)).toEqual([9_000, 19_000, 29_000, 39_000, 49_000, 59_000]);

    const tooFine = await series(`from=${start - 7 * 86_400_000}&to=${start}&step=1000`);
    expect(tooFine.status).toBe(400);
    expect(((await tooFine.json()) as { message: string }).message).toMatch(
      /604801 slices; at most 2000: use a step of at least 302401 ms/,
    );
    const noFrom = await series('step=10000');
    expect(noFrom.status).toBe(400);
  });

  it('ends the open streams when the hub stops', async () => {
    const s = await open(live, admin);
    expect(s.status).toBe(200);
    await waitFor(() => s.events.some((e) => e.event === 'values'), 'the first event', 10_000);
    await gw.close();
    await hub.close();
    await waitFor(() => s.ended(), 'the stream ended by the hub', 10_000);
  });
});
