/**
 * The embedded broker's packet parser (hub/broker/aedes/parser.ts): PUBLISH packets read in
 * place must come out exactly as mqtt-packet makes them, however the bytes are cut into reads,
 * and whatever follows them (other packets, partial packets, malformed or oversized ones) must
 * go on as mqtt-packet alone would take it. Compared with a plain mqtt-packet parser on the same
 * bytes, then over TCP through the real aedes broker.
 */
import { connect, type Socket } from 'node:net';
import type { Client } from 'aedes';
import mqttPacket, { type IPublishPacket, type Packet } from 'mqtt-packet';
import { afterEach, describe, expect, it } from 'vitest';
import { AedesBroker } from '../../hub/broker/aedes/index.js';
import { watchParser } from '../../hub/broker/aedes/parser.js';
import type { BrokerAccessPolicy } from '../../hub/broker/index.js';
import { seeded } from '../support/seeded.js';
import { silentLogger, waitFor } from './helpers.js';

const OPEN: BrokerAccessPolicy = {
  authenticate: () => true,
  authorizePublish: () => true,
  authorizeSubscribe: () => true,
};

/** Payload sizes around the remaining length's 1-, 2- and 3-byte forms. */
const SIZES = [0, 1, 100, 110, 127, 128, 129, 300, 16_383, 16_384, 20_000];

function publish(random: () => number, i: number, sizes: readonly number[] = SIZES): IPublishPacket {
  const qos = Math.floor(random() * 3) as 0 | 1 | 2;
  const size = sizes[Math.floor(random() * sizes.length)]!;
  const payload = Buffer.alloc(size);
  for (let k = 0; k < size; k += 97) payload[k] = (i + k) & 0xff;
  return {
    cmd: 'publish',
    topic: random() < 0.2 ? `t/机床/${i}/温度` : `t/${'x'.repeat(Math.floor(random() * 40))}/${i}`,
    payload,
    qos,
    retain: random() < 0.2,
    dup: qos > 0 && random() < 0.2,
    ...(qos > 0 ? { messageId: 1 + (i % 65_535) } : {}),
  };
}

/** A seeded stream: mostly PUBLISH, with other packets among them (client to broker). */
function stream(
  seed: number,
  count: number,
  sizes: readonly number[] = SIZES,
): { bytes: Buffer; packets: Packet[] } {
  const random = seeded(seed);
  const packets: Packet[] = [];
  for (let i = 0; i < count; i++) {
    const r = random();
    if (r < 0.08) packets.push({ cmd: 'pingreq' } as Packet);
    else if (r < 0.12) packets.push({ cmd: 'puback', messageId: 1 + i } as Packet);
    else if (r < 0.14) {
      packets.push({
        cmd: 'subscribe',
        messageId: 1 + i,
        subscriptions: [{ topic: 'a/#', qos: 1 }],
      } as Packet);
    } else packets.push(publish(random, i, sizes));
  }
  return { bytes: Buffer.concat(packets.map((p) => mqttPacket.generate(p))), packets };
}

/** Cuts `bytes` into reads of 1 to `max` bytes. */
function cut(bytes: Buffer, random: () => number, max: number): Buffer[] {
  const reads: Buffer[] = [];
  for (let at = 0; at < bytes.length; ) {
    const n = 1 + Math.floor(random() * max);
    // Each read its own buffer, as a socket's are.
    reads.push(Buffer.from(bytes.subarray(at, at + n)));
    at += n;
  }
  return reads;
}

/** A packet with its payload as base64: deep equality over Buffers byte by byte is slow. */
function plainly(p: Packet): Record<string, unknown> {
  const payload = (p as { payload?: unknown }).payload;
  return Buffer.isBuffer(payload) ? { ...p, payload: payload.toString('base64') } : { ...p };
}

interface Outcome {
  packets: Packet[];
  errors: string[];
  oversize: number[];
}

/** Feeds `reads` to an mqtt-packet parser, plain or watched; what it emitted. */
function parseAll(reads: readonly Buffer[], watched: { maxBytes: number } | undefined): Outcome {
  const parser = mqttPacket.parser();
  const out: Outcome = { packets: [], errors: [], oversize: [] };
  parser.on('packet', (p) => out.packets.push(p));
  parser.on('error', (e) => out.errors.push(e.message));
  if (watched !== undefined) {
    const ok = watchParser({ _parser: parser } as unknown as Client, watched.maxBytes, (declared) =>
      out.oversize.push(declared),
    );
    expect(ok).toBe(true);
  }
  for (const r of reads) parser.parse(r);
  return out;
}

describe('the PUBLISH fast path against mqtt-packet alone', () => {
  it('emits the same packets, fields and order for every cutting of the same bytes', () => {
    // Reads of a few bytes over small packets (mqtt-packet's buffer list slows down on many
    // small reads of one large packet); the whole stream in one read, and reads cutting
    // through many packets, over packets of every size.
    const cases = [1, 2, 3, 4, 5, 6].flatMap((seed) => [
      { seed, sizes: SIZES.filter((n) => n <= 300), cuts: [5, 64] },
      { seed, sizes: SIZES, cuts: [Number.POSITIVE_INFINITY, 1_500, 70_000] },
    ]);
    for (const { seed, sizes, cuts } of cases) {
      const { bytes, packets } = stream(seed, 300, sizes);
      const random = seeded(seed * 7919);
      for (const max of cuts) {
        const reads = max === Number.POSITIVE_INFINITY ? [bytes] : cut(bytes, random, max);
        const plain = parseAll(reads, undefined);
        const fast = parseAll(reads, { maxBytes: 1_000_000 });
        expect(plain.errors).toEqual([]);
        expect(plain.packets).toHaveLength(packets.length);
        expect(fast.errors).toEqual([]);
        expect(fast.packets.map(plainly)).toEqual(plain.packets.map(plainly));
        for (let i = 0; i < fast.packets.length; i++) {
          expect(Object.getPrototypeOf(fast.packets[i])).toBe(Object.getPrototypeOf(plain.packets[i]));
        }
      }
    }
  });

  it('stops at a malformed PUBLISH and leaves it to mqtt-packet: the same packets before it, the same error', () => {
    const good = stream(11, 30).bytes;
    // What mqtt-packet makes of each: an error, or (no room for the packet id) a packet anyway.
    const tails: [string, Buffer, boolean][] = [
      // QoS bits both set.
      ['qos 3', Buffer.from([0x36, 0x04, 0x00, 0x01, 0x61, 0x00]), true],
      // Topic length past the end of the packet.
      ['topic past the end', Buffer.from([0x30, 0x04, 0x00, 0x09, 0x61, 0x62]), true],
      // QoS 1 without room for its packet id.
      ['no packet id', Buffer.from([0x32, 0x03, 0x00, 0x01, 0x61]), false],
      // A remaining length of five bytes.
      ['varint too long', Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01, 0x00]), true],
    ];
    for (const [what, tail, fails] of tails) {
      const bytes = Buffer.concat([good, tail, mqttPacket.generate({ cmd: 'pingreq' } as Packet)]);
      for (const reads of [[bytes], cut(bytes, seeded(what.length), 50)]) {
        const plain = parseAll(reads, undefined);
        const fast = parseAll(reads, { maxBytes: 1_000_000 });
        expect(plain.errors.length > 0, what).toBe(fails);
        expect(fast.errors, what).toEqual(plain.errors);
        expect(fast.packets.map(plainly), what).toEqual(plain.packets.map(plainly));
      }
    }
  });

  it('leaves an oversized PUBLISH to the size bound: the packets before it, then nothing', () => {
    const random = seeded(21);
    const small = Array.from({ length: 20 }, (_, i) => ({
      ...publish(random, i),
      payload: Buffer.alloc(50),
    }));
    const big = mqttPacket.generate({
      cmd: 'publish',
      topic: 't/big',
      payload: Buffer.alloc(5_000),
      qos: 0,
      retain: false,
      dup: false,
    });
    const after = mqttPacket.generate(small[0]!);
    const bytes = Buffer.concat([...small.map((p) => mqttPacket.generate(p)), big, after]);
    for (const reads of [[bytes], cut(bytes, random, 300)]) {
      const fast = parseAll(reads, { maxBytes: 4_096 });
      expect(fast.oversize).toEqual([big.length - 3]);
      expect(fast.packets.map((p) => (p as { topic: string }).topic)).toEqual(small.map((p) => p.topic));
      expect(fast.errors).toEqual([]);
    }
  });
});

describe('the embedded broker with the fast path', () => {
  let broker: AedesBroker | undefined;
  const sockets: Socket[] = [];

  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await broker?.close();
    broker = undefined;
  });

  it('delivers every PUBLISH of a stream cut at random, in order at each QoS, and acknowledges each QoS 1', async () => {
    broker = new AedesBroker(
      { type: 'embedded', host: '127.0.0.1', port: 0 },
      { logger: silentLogger(), policy: OPEN },
    );
    await broker.start();
    const received: { topic: string; payload: Buffer }[] = [];
    await broker.inProcessPort().subscribe(['t/#'], (topic, payload) => {
      received.push({ topic, payload: Buffer.from(payload) });
    });
    const socket = connect(broker.port ?? 0, '127.0.0.1');
    sockets.push(socket);
    socket.setNoDelay(true);
    const answers: Packet[] = [];
    const reader = mqttPacket.parser();
    reader.on('packet', (p) => answers.push(p));
    socket.on('data', (d) => reader.parse(d));
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.write(
      mqttPacket.generate({
        cmd: 'connect',
        protocolId: 'MQTT',
        protocolVersion: 4,
        clean: true,
        keepalive: 0,
        clientId: 'cut',
      } as Packet),
    );
    await waitFor(() => answers.some((p) => p.cmd === 'connack'), 'CONNACK');

    const random = seeded(99);
    // QoS 0 and 1 (a QoS 2 message is delivered at its PUBREL: another exchange).
    const publishes = Array.from({ length: 600 }, (_, i) => {
      const p = publish(random, i);
      return { ...p, qos: p.qos === 2 ? 1 : p.qos, retain: false };
    });
    const bytes = Buffer.concat(publishes.map((p) => mqttPacket.generate(p)));
    for (const chunk of cut(bytes, random, 3_000)) {
      socket.write(chunk);
      if (random() < 0.3) await new Promise((resolve) => setImmediate(resolve));
    }
    const acked = publishes.filter((p) => p.qos === 1).length;
    await waitFor(
      () =>
        received.length === publishes.length && answers.filter((p) => p.cmd === 'puback').length === acked,
      'every message delivered and acknowledged',
      10_000,
    );
    // In the order sent at each QoS (aedes, with or without the fast path, may let a QoS 0
    // message overtake a QoS 1 one still being handled), each payload whole.
    const sent = new Map(publishes.map((p) => [p.topic, p]));
    for (const qos of [0, 1]) {
      expect(received.filter((r) => sent.get(r.topic)?.qos === qos).map((r) => r.topic)).toEqual(
        publishes.filter((p) => p.qos === qos).map((p) => p.topic),
      );
    }
    expect(received.every((r) => r.payload.equals(sent.get(r.topic)?.payload as Buffer))).toBe(true);
    expect(answers.filter((p) => p.cmd === 'puback').map((p) => p.messageId)).toEqual(
      publishes.filter((p) => p.qos === 1).map((p) => p.messageId),
    );
  });
});
