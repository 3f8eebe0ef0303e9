/**
 * Issue 13: the hub crashed once under `wanji demo` at several thousand machines with
 * `RangeError: Maximum call stack size exceeded` inside mqemitter, aedes' in-process emitter.
 *
 * How it happened: mqemitter lets `concurrency` (aedes: 100) messages be in flight and queues the
 * rest of the broker's traffic behind them. A delivery to a TCP subscriber stays in flight until
 * its socket takes the bytes (for a subscriber that stops reading: until aedes' drain timeout),
 * so 100 such deliveries stop every message of every gateway in the queue. When a slot frees,
 * mqemitter starts the next queued message from inside the completion of the previous one; the
 * hub's in-process host completes its deliveries synchronously, so the queue drained as one
 * recursion, several frames per queued message, and a backlog of some thousand messages blew
 * the stack. Until then the hub's ingest had stood still.
 *
 * These run the real broker (AedesBroker with its in-process port, as the hub's host uses it) and
 * real MQTT clients on loopback: a subscriber that stops reading, and edge nodes publishing.
 */
import { connect, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import { connectAsync, type MqttClient } from 'mqtt';
import { afterEach, describe, expect, it } from 'vitest';
import { AedesInProcessPort } from '../../hub/broker/aedes/in-process.js';
import { AedesBroker } from '../../hub/broker/aedes/index.js';
import { BrokerTraffic } from '../../hub/broker/aedes/traffic.js';
import type { BrokerAccessPolicy } from '../../hub/broker/index.js';
import { DataType } from '../../protocol/index.js';
import {
  apiToken,
  cncBirth,
  silentLogger,
  sleep,
  TestEdgeNode,
  tempDir,
  testHub,
  waitFor,
} from './helpers.js';

/** Answers at once, as the hub's credential policy does on the hot path. */
const OPEN: BrokerAccessPolicy = {
  authenticate: () => true,
  authorizePublish: () => true,
  authorizeSubscribe: () => true,
};

/** MQTT 3.1.1 remaining length (variable-length integer). */
function remainingLength(n: number): Buffer {
  const out: number[] = [];
  let x = n;
  do {
    let b = x % 128;
    x = Math.floor(x / 128);
    if (x > 0) b |= 0x80;
    out.push(b);
  } while (x > 0);
  return Buffer.from(out);
}

function utf8(s: string): Buffer {
  const b = Buffer.from(s);
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b]);
}

/**
 * A subscriber to `filter` that never reads what the broker sends it (a frozen dashboard, a
 * client on a dead link): CONNECT and SUBSCRIBE written by hand on a raw socket, SUBACK awaited,
 * then the socket is paused, so the kernel's buffers fill and the broker's writes back up.
 */
async function stalledSubscriber(port: number, filter: string): Promise<Socket> {
  const socket = connect(port, '127.0.0.1');
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  // CONNECT: protocol MQTT level 4, clean session, keepalive 0 (no pings expected).
  const connectBody = Buffer.concat([
    utf8('MQTT'),
    Buffer.from([4, 0x02, 0, 0]),
    utf8(`stalled-${Math.random().toString(16).slice(2, 8)}`),
  ]);
  socket.write(Buffer.concat([Buffer.from([0x10]), remainingLength(connectBody.length), connectBody]));
  // SUBSCRIBE packet id 1, QoS 0.
  const subBody = Buffer.concat([Buffer.from([0, 1]), utf8(filter), Buffer.from([0])]);
  socket.write(Buffer.concat([Buffer.from([0x82]), remainingLength(subBody.length), subBody]));
  // CONNACK (4 bytes) and SUBACK (5 bytes).
  await new Promise<void>((resolve, reject) => {
    let got = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      got = Buffer.concat([got, chunk]);
      if (got.length < 9) return;
      socket.off('data', onData);
      if (got[0] !== 0x20 || got[3] !== 0 || got[4] !== 0x90 || got[8] !== 0) {
        reject(new Error(`broker refused the subscriber: ${got.subarray(0, 9).toString('hex')}`));
        return;
      }
      resolve();
    };
    socket.on('data', onData);
    socket.once('error', reject);
  });
  socket.on('error', () => undefined);
  socket.pause();
  return socket;
}

/** What the in-process host saw of each edge node: its sequence numbers, in arrival order. */
class Received {
  readonly byNode = new Map<string, number[]>();
  total = 0;

  take = (topic: string, payload: Buffer): void => {
    // spBv1.0/<group>/DDATA/<node>/<device>; the payload starts with the node's own counter.
    const node = topic.split('/')[3] ?? '';
    let seqs = this.byNode.get(node);
    if (seqs === undefined) {
      seqs = [];
      this.byNode.set(node, seqs);
    }
    seqs.push(payload.readUInt32BE(0));
    this.total++;
  };

  /** Each node's messages arrived whole and in the order it sent them. */
  inOrder(nodes: readonly string[], perNode: number): boolean {
    return nodes.every((n) => {
      const seqs = this.byNode.get(n) ?? [];
      return seqs.length === perNode && seqs.every((s, i) => s === i);
    });
  }
}

/**
 * Waits until `count()` reaches `target` or stops moving for a second: paces a test's phases
 * (it asserts nothing; the broker before the fix stalled here).
 */
async function settled(count: () => number, target: number): Promise<void> {
  let last = -1;
  while (count() < target && count() !== last) {
    last = count();
    await sleep(1_000);
  }
}

function payload(seq: number, bytes: number): Buffer {
  const b = Buffer.alloc(bytes);
  b.writeUInt32BE(seq, 0);
  return b;
}

/**
 * Publishes `count` messages of `bytes` bytes at QoS 0, 500 at a time without waiting between
 * them (mqtt.js waits for its socket's drain once per message still unwritten); `progress`
 * tells how many its socket took.
 */
async function burst(
  client: MqttClient,
  topic: string,
  count: number,
  bytes: number,
  progress = { written: 0 },
): Promise<void> {
  for (let first = 0; first < count; first += 500) {
    const sent: Promise<unknown>[] = [];
    for (let i = first; i < Math.min(first + 500, count); i++) {
      sent.push(client.publishAsync(topic, payload(i, bytes), { qos: 0 }));
    }
    await Promise.all(sent);
    progress.written = Math.min(first + 500, count);
  }
}

describe('embedded broker under a backlog (issue 13)', () => {
  let broker: AedesBroker | undefined;
  const clients: MqttClient[] = [];
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await Promise.all(clients.splice(0).map((c) => c.endAsync(true)));
    await broker?.close();
    broker = undefined;
  });

  async function startBroker(extra: { maxSubscriberBacklogBytes?: number } = {}): Promise<AedesBroker> {
    broker = new AedesBroker(
      { type: 'embedded', host: '127.0.0.1', port: 0, ...extra },
      { logger: silentLogger(), policy: OPEN },
    );
    await broker.start();
    return broker;
  }

  async function edgeNodes(url: string, prefix: string, count: number): Promise<MqttClient[]> {
    const made = await Promise.all(
      Array.from({ length: count }, (_, i) =>
        connectAsync(url, { clientId: `${prefix}-${i}`, protocolVersion: 4, reconnectPeriod: 0 }),
      ),
    );
    clients.push(...made);
    return made;
  }

  it("a subscriber that stops reading neither stalls the host's ingest nor leaves a backlog that overflows the stack", async () => {
    const b = await startBroker();
    const received = new Received();
    await b.inProcessPort().subscribe(['spBv1.0/#'], received.take);
    const url = b.connectUrl();
    sockets.push(await stalledSubscriber(b.port ?? 0, 'spBv1.0/#'));
    const [big] = await edgeNodes(url, 'big', 1);
    const nodes = Array.from({ length: 100 }, (_, i) => `n${i}`);
    const publishers = await edgeNodes(url, 'node', nodes.length);
    if (big === undefined) throw new Error('no client');

    // One node sends 24 MiB in large messages: the stalled subscriber's socket buffers fill up.
    // (Before the fix, 100 deliveries to it then waited for a drain that never came, and every
    // later message of every client queued behind them.)
    const bigCount = 3_000;
    const sending = [burst(big, 'spBv1.0/G/DDATA/big/d', bigCount, 8_192)];
    await settled(() => received.total, bigCount);

    // Then 100 edge nodes, 300 small messages each, all at once: 30,000 messages, which queued
    // behind the stalled deliveries and, once those failed, drained as one recursion.
    const perNode = 300;
    sending.push(...publishers.map((c, i) => burst(c, `spBv1.0/G/DDATA/${nodes[i]}/d`, perNode, 64)));

    // The host gets everything, each node's messages in order, well before aedes' 30 s drain
    // timeout would have dropped the stalled subscriber.
    const expected = bigCount + nodes.length * perNode;
    await waitFor(() => received.total >= expected, `the host to receive ${expected} messages`, 20_000).catch(
      (err: unknown) => {
        throw new Error(`${String(err)}; it has ${received.total}`);
      },
    );
    await Promise.all(sending);
    expect(received.total).toBe(expected);
    expect(received.inOrder(['big'], bigCount)).toBe(true);
    expect(received.inOrder(nodes, perNode)).toBe(true);
  });

  it('past its backlog bound a subscriber that does not read is dropped; the others keep every message', async () => {
    const b = await startBroker({ maxSubscriberBacklogBytes: 2 * 1024 * 1024 });
    const url = b.connectUrl();
    sockets.push(await stalledSubscriber(b.port ?? 0, 'spBv1.0/#'));
    const [reader, publisher] = await edgeNodes(url, 'client', 2);
    if (reader === undefined || publisher === undefined) throw new Error('no client');
    const seen: number[] = [];
    reader.on('message', (_topic, p) => seen.push(p.readUInt32BE(0)));
    await reader.subscribeAsync('spBv1.0/G/NDATA/#', { qos: 0 });

    // 24 MiB in 3,000 messages for the stalled subscriber alone: far beyond what its socket's
    // kernel buffers hold, and beyond the bound.
    await burst(publisher, 'spBv1.0/G/DDATA/pub/d', 3_000, 8_192);
    await waitFor(() => b.counters.droppedSlowSubscribers === 1, 'the stalled subscriber to be dropped');
    // Then a flow the reader subscribed to: all of it, in order; the reader and publisher stay.
    const count = 1_000;
    await burst(publisher, 'spBv1.0/G/NDATA/pub', count, 256);
    await waitFor(() => seen.length >= count, `the reading subscriber to get ${count} messages`);
    expect(seen).toEqual(Array.from({ length: count }, (_, i) => i));
    expect(b.counters.droppedSlowSubscribers).toBe(1);
    expect(b.clients).toBe(2);
  });

  it("the in-process port drains a queue behind deliveries that hold aedes' emitter without recursing", async () => {
    // Whatever makes 100 deliveries wait (here a subscriber that completes a turn later, as
    // aedes' own connections did), the messages queued behind them reach the host in order.
    const aedes = await Aedes.createBroker();
    try {
      const port = new AedesInProcessPort(aedes, new BrokerTraffic(), silentLogger());
      const received = new Received();
      await port.subscribe(['spBv1.0/#'], received.take);
      await new Promise<void>((resolve) => aedes.subscribe('slow/#', (_p, cb) => setImmediate(cb), resolve));
      const published: Promise<void>[] = [];
      const publish = (topic: string, body: Buffer): void => {
        published.push(
          new Promise<void>((resolve, reject) =>
            aedes.publish(
              { cmd: 'publish', topic, payload: body, qos: 0, retain: false, dup: false },
              (err) => (err ? reject(err) : resolve()),
            ),
          ),
        );
      };
      for (let i = 0; i < 100; i++) publish(`slow/${i}`, payload(i, 16));
      const nodes = ['a', 'b', 'c', 'd'];
      const perNode = 5_000;
      for (let i = 0; i < perNode; i++) {
        for (const n of nodes) publish(`spBv1.0/G/DDATA/${n}/d`, payload(i, 16));
      }
      const expected = nodes.length * perNode;
      await waitFor(() => received.total >= expected, `the host to receive ${expected} messages`);
      await Promise.all(published);
      expect(received.total).toBe(expected);
      expect(received.inOrder(nodes, perNode)).toBe(true);
    } finally {
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
    }
  });
});

describe('a hub whose broker has a subscriber that stops reading (issue 13)', () => {
  it('stores every sample of its gateways and drops the subscriber at mqtt.maxSubscriberBacklogBytes', async () => {
    const dir = tempDir();
    const hub = testHub(dir.path, {
      mqtt: { port: 0, allowAnonymous: true, maxSubscriberBacklogBytes: 1024 * 1024 },
    });
    const sockets: Socket[] = [];
    const others: MqttClient[] = [];
    const gw = new TestEdgeNode('E1', 'GW-1');
    try {
      await hub.start();
      const health = async (): Promise<{ ingest: number; dropped: number }> => {
        const h = (await (await fetch(`http://127.0.0.1:${hub.httpPort}/healthz`)).json()) as {
          counters: { broker: Record<string, number>; ingest: Record<string, number> };
        };
        return {
          ingest: h.counters.ingest.samplesWritten ?? 0,
          dropped: h.counters.broker.droppedSlowSubscribers ?? 0,
        };
      };
      // Anyone may subscribe to everything on this (anonymous) broker, and this one stops reading.
      sockets.push(await stalledSubscriber(hub.mqttPort ?? 0, '#'));
      await gw.connect(hub.mqttUrl);
      await gw.nbirth();
      const ts = Date.now();
      await gw.dbirth('m-1', cncBirth(ts));
      await waitFor(async () => (await health()).ingest > 0, 'the birth stored');
      const before = (await health()).ingest;

      // A camera on the same broker sends 24 MiB of frames nobody but the stalled subscriber
      // wants; then the gateway reports 2,000 times (2 samples each).
      const camera = await connectAsync(hub.mqttUrl, { clientId: 'camera', reconnectPeriod: 0 });
      others.push(camera);
      const camerasTook = { written: 0 };
      const frames = burst(camera, 'plant/camera/frames', 3_000, 8_192, camerasTook);
      await settled(() => camerasTook.written, 3_000);
      const reports = 2_000;
      const reporting = (async () => {
        for (let first = 0; first < reports; first += 500) {
          const sent: Promise<void>[] = [];
          for (let i = first; i < first + 500; i++) {
            sent.push(
              gw.ddata('m-1', [
                { alias: 6, datatype: DataType.Double, value: i, timestamp: ts + 1 + i },
                { alias: 7, datatype: DataType.UInt32, value: 11 + i, timestamp: ts + 1 + i },
              ]),
            );
          }
          await Promise.all(sent);
        }
      })();
      // Before the fix the ingest stood still here until aedes' drain timeout (30 s).
      await waitFor(
        async () => (await health()).ingest >= before + 2 * reports,
        `the hub to store ${2 * reports} samples`,
        20_000,
      );
      await Promise.all([frames, reporting]);
      expect((await health()).ingest).toBe(before + 2 * reports);
      await waitFor(async () => (await health()).dropped === 1, 'the stalled subscriber to be dropped');
      // …and /metrics says so.
      const metrics = await (
        await fetch(`http://127.0.0.1:${hub.httpPort}/metrics`, { headers: apiToken(hub.registry, 'admin') })
      ).text();
      expect(metrics).toMatch(/^wanji_mqtt_slow_subscribers_dropped_total 1$/m);
    } finally {
      for (const s of sockets) s.destroy();
      await Promise.all(others.map((c) => c.endAsync(true)));
      await gw.close();
      await hub.close();
      dir.remove();
    }
  });
});
