/** A real in-process broker on port 0 and a real subscriber that decodes Sparkplug. */
import { once } from 'node:events';
import { createServer, type Server } from 'node:net';
import { Aedes, type Client } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import {
  decodeHostState,
  decodePayload,
  encodeHostState,
  type Payload,
  parseTopic,
  stateTopic,
} from '../../protocol/index.js';
import { waitFor } from './helpers.js';

export interface TestBroker {
  readonly url: string;
  readonly broker: Aedes;
  /** The broker side of a connected client, by client id. */
  client(id: string): Client | undefined;
  close(): Promise<void>;
}

export async function startBroker(): Promise<TestBroker> {
  const broker = await Aedes.createBroker();
  const clients = new Map<string, Client>();
  broker.on('client', (c) => clients.set(c.id, c));
  broker.on('clientDisconnect', (c) => {
    if (clients.get(c.id) === c) clients.delete(c.id);
  });
  const server: Server = createServer((socket) => broker.handle(socket));
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return {
    url: `mqtt://127.0.0.1:${address.port}`,
    broker,
    client: (id) => clients.get(id),
    async close() {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Received {
  readonly topic: string;
  readonly type: string;
  readonly device?: string;
  readonly payload: Payload;
}

/** Subscribes to everything Sparkplug and keeps what arrives, decoded with the protocol codec. */
export class SparkplugSubscriber {
  readonly messages: Received[] = [];
  readonly states: Array<{ online: boolean; timestamp: number }> = [];
  #client: MqttClient | undefined;

  async start(url: string): Promise<void> {
    const client = await mqtt.connectAsync(url, { protocolVersion: 4, clean: true, reconnectPeriod: 0 });
    this.#client = client;
    client.on('message', (topic, buf) => {
      const t = parseTopic(topic);
      if (!t.ok) return;
      if (t.topic.kind === 'state') {
        const s = decodeHostState(buf);
        if (s) this.states.push(s);
        return;
      }
      let payload: Payload;
      try {
        payload = decodePayload(buf);
      } catch {
        return; // e.g. the malformed NCMD a test sends on purpose
      }
      this.messages.push({
        topic,
        type: t.topic.type,
        ...(t.topic.kind === 'device' ? { device: t.topic.device } : {}),
        payload,
      });
    });
    await client.subscribeAsync('spBv1.0/#', { qos: 1 });
  }

  of(type: string): Received[] {
    return this.messages.filter((m) => m.type === type);
  }

  async next(type: string, after = 0, timeoutMs = 5000): Promise<Received> {
    return waitFor(() => this.messages.slice(after).find((m) => m.type === type), type, timeoutMs);
  }

  async publish(topic: string, payload: Uint8Array | Buffer, retain = false): Promise<void> {
    await this.#client!.publishAsync(topic, Buffer.from(payload), { qos: 1, retain });
  }

  async publishState(hostId: string, online: boolean, timestamp: number): Promise<void> {
    await this.publish(stateTopic(hostId), encodeHostState({ online, timestamp }), true);
  }

  async close(): Promise<void> {
    await this.#client?.endAsync();
  }
}

export function metricValue(p: Payload, name: string): unknown {
  return p.metrics.find((m) => m.name === name)?.value;
}
