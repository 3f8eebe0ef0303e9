/**
 * Issue 10: stopping the demo printed "write after end" stack traces. The cause: a gateway's
 * MQTT session closing (NDEATH acknowledged, then end()) while a QoS 1 message for it was
 * arriving; mqtt.js answered it with a PUBACK after the stream had ended and emitted an error,
 * which the session logged as a warning with its stack. A broker that does exactly that (a
 * PUBACK and a QoS 1 PUBLISH in one write) pins it: closing logs nothing at warn or above.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { validateGatewayConfig } from '../../gateway/config/index.js';
import { MqttSession } from '../../gateway/northbound/session.js';
import { systemClock } from '../../protocol/clock.js';
import { sampleConfigObject } from '../gateway/fixtures.js';
import { waitFor } from '../hub/helpers.js';

const V4 = { protocolVersion: 4 } as const;

/**
 * A broker that answers every QoS 1 PUBLISH with its PUBACK and, in the same write and again on
 * the next turn of its event loop, a QoS 1 PUBLISH (a busy hub's commands and STATE do that).
 */
async function eagerBroker(): Promise<{ url: string; close: () => Promise<void> }> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((sock) => {
    sockets.add(sock);
    sock.on('close', () => sockets.delete(sock));
    sock.on('error', () => undefined);
    const parser = mqttPacket.parser(V4);
    const bytes = (p: Packet): Buffer => mqttPacket.generate(p, V4);
    let next = 1;
    parser.on('packet', (p: Packet) => {
      if (p.cmd === 'connect') sock.write(bytes({ cmd: 'connack', returnCode: 0, sessionPresent: false }));
      if (p.cmd === 'subscribe') {
        sock.write(bytes({ cmd: 'suback', messageId: p.messageId, granted: p.subscriptions.map(() => 1) }));
      }
      if (p.cmd === 'publish' && p.qos === 1) {
        const command = (): Buffer =>
          bytes({
            cmd: 'publish',
            topic: 'spBv1.0/G1/NCMD/N1',
            payload: Buffer.from([]),
            qos: 1,
            messageId: next++,
            retain: false,
            dup: false,
          });
        sock.write(Buffer.concat([bytes({ cmd: 'puback', messageId: p.messageId! }), command()]));
        // And another right after: the client has ended its stream by the time it answers.
        setImmediate(() => sock.writable && sock.write(command()));
      }
    });
    sock.on('data', (d: Buffer) => parser.parse(d));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `mqtt://127.0.0.1:${address.port}`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

describe('a gateway MQTT session closing while a QoS 1 message arrives (issue 10)', () => {
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('logs no warning and no "write after end"', async () => {
    const broker = await eagerBroker();
    cleanups.push(broker.close);
    const dataDir = mkdtempSync(join(tmpdir(), 'wanji-session-close-'));
    cleanups.push(() => rmSync(dataDir, { recursive: true, force: true }));
    const lines: { level: number; msg: string; err?: { message?: string } }[] = [];
    const sink = new Writable({
      write(chunk: Buffer, _enc, done) {
        for (const l of chunk.toString('utf8').split('\n')) if (l.trim() !== '') lines.push(JSON.parse(l));
        done();
      },
    });
    const obj = sampleConfigObject();
    obj.mqtt = { url: broker.url };
    const config = validateGatewayConfig(obj);
    let ready = false;
    const session = new MqttSession({
      group: 'G1',
      node: 'N1',
      mqtt: config.mqtt,
      dataDir,
      logger: pino({ level: 'debug' }, sink),
      clock: systemClock,
      filters: ['spBv1.0/G1/NCMD/N1'],
      handler: {
        ready: () => {
          ready = true;
        },
        message: () => undefined,
        lost: () => undefined,
      },
    });
    await session.start();
    await waitFor(() => ready, 'the session to be ready');
    await session.close(); // NDEATH (QoS 1): the broker acknowledges it and sends a command at once
    await waitFor(
      () => lines.some((l) => l.err?.message === 'write after end'),
      'the late PUBACK to fail (the broker side of the race)',
    );
    const loud = lines.filter((l) => l.level >= 40);
    expect(loud, JSON.stringify(loud)).toEqual([]);
  });
});
