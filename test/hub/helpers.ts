/** Real peers for hub tests: temp dirs, a silent logger, and a scriptable Sparkplug edge node. */
import { connectAsync, type MqttClient } from 'mqtt';
import type { Role } from '../../hub/api/access.js';
import { Hub, type HubOptions } from '../../hub/hub.js';
import type { Registry } from '../../hub/registry/registry.js';
import { AuditLog } from '../../hub/security/audit.js';
import { TokenStore } from '../../hub/security/tokens.js';
import {
  DataType,
  decodePayload,
  deviceTopic,
  encodePayload,
  type Metric,
  NODE_METRIC,
  nodeTopic,
  type Payload,
  SeqCounter,
} from '../../protocol/index.js';

import { silentLogger } from '../support/temp.js';

// One definition of each, in test/support/; re-exported so the hub tests keep one import.
export { silentLogger, tempDir } from '../support/temp.js';
export { sleep, waitFor } from '../support/wait.js';

/**
 * A hub on loopback for a test, not started: ports 0, anonymous MQTT, a 20 ms store flush and a
 * silent logger; `options` adds to these or replaces them.
 */
export function testHub(dataDir: string, options: Partial<HubOptions> = {}): Hub {
  return new Hub({
    dataDir,
    mqtt: { port: 0, allowAnonymous: true },
    http: { port: 0 },
    flushIntervalMs: 20,
    logger: silentLogger(),
    ...options,
  });
}

function ndeathPayload(bdSeq: number): Uint8Array {
  return encodePayload({
    timestamp: Date.now(),
    metrics: [{ name: NODE_METRIC.bdSeq, datatype: DataType.Int64, value: bdSeq }],
  });
}

/** A minimal Sparkplug edge node (a gateway) speaking through protocol/'s codec. */
export class TestEdgeNode {
  readonly group: string;
  readonly edgeNode: string;
  readonly bdSeq: number;
  readonly commands: { topic: string; payload: Payload }[] = [];
  readonly seq = new SeqCounter();
  #client: MqttClient | undefined;

  constructor(group: string, edgeNode: string, bdSeq = 0) {
    this.group = group;
    this.edgeNode = edgeNode;
    this.bdSeq = bdSeq;
  }

  get client(): MqttClient {
    if (this.#client === undefined) throw new Error('not connected');
    return this.#client;
  }

  async connect(url: string): Promise<void> {
    const client = await connectAsync(url, {
      clientId: `${this.group}-${this.edgeNode}-${Math.random().toString(16).slice(2, 8)}`,
      clean: true,
      protocolVersion: 4,
      reconnectPeriod: 0,
      will: {
        topic: nodeTopic(this.group, 'NDEATH', this.edgeNode),
        payload: Buffer.from(ndeathPayload(this.bdSeq)),
        qos: 1,
        retain: false,
      },
    });
    client.on('message', (topic, payload) => this.commands.push({ topic, payload: decodePayload(payload) }));
    await client.subscribeAsync(nodeTopic(this.group, 'NCMD', this.edgeNode), { qos: 1 });
    this.#client = client;
  }

  rebirthRequests(): number {
    return this.commands.filter((c) =>
      c.payload.metrics.some((m) => m.name === NODE_METRIC.rebirth && m.value === true),
    ).length;
  }

  async nbirth(metrics: Metric[] = []): Promise<void> {
    await this.publish(nodeTopic(this.group, 'NBIRTH', this.edgeNode), {
      timestamp: Date.now(),
      seq: this.seq.birth(),
      metrics: [
        { name: NODE_METRIC.bdSeq, datatype: DataType.Int64, value: this.bdSeq },
        { name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: false },
        ...metrics,
      ],
    });
  }

  async dbirth(device: string, metrics: Metric[], timestamp = Date.now()): Promise<void> {
    await this.publish(deviceTopic(this.group, 'DBIRTH', this.edgeNode, device), {
      timestamp,
      seq: this.seq.next(),
      metrics,
    });
  }

  async ddata(
    device: string,
    metrics: Metric[],
    opts: { seq?: number; timestamp?: number } = {},
  ): Promise<void> {
    await this.publish(deviceTopic(this.group, 'DDATA', this.edgeNode, device), {
      timestamp: opts.timestamp ?? Date.now(),
      seq: opts.seq ?? this.seq.next(),
      metrics,
    });
  }

  async ndata(metrics: Metric[]): Promise<void> {
    await this.publish(nodeTopic(this.group, 'NDATA', this.edgeNode), {
      timestamp: Date.now(),
      seq: this.seq.next(),
      metrics,
    });
  }

  async ddeath(device: string): Promise<void> {
    await this.publish(deviceTopic(this.group, 'DDEATH', this.edgeNode, device), {
      timestamp: Date.now(),
      seq: this.seq.next(),
      metrics: [],
    });
  }

  /** An NDEATH as a (possibly late) will would deliver it. */
  async ndeath(bdSeq: number): Promise<void> {
    await this.client.publishAsync(
      nodeTopic(this.group, 'NDEATH', this.edgeNode),
      Buffer.from(ndeathPayload(bdSeq)),
      {
        qos: 1,
      },
    );
  }

  async publish(topic: string, payload: Payload): Promise<void> {
    await this.client.publishAsync(topic, Buffer.from(encodePayload(payload)), { qos: 0 });
  }

  async publishRaw(topic: string, payload: Buffer): Promise<void> {
    await this.client.publishAsync(topic, payload, { qos: 0 });
  }

  /** Drops the TCP connection without DISCONNECT, so the broker publishes the will. */
  kill(): void {
    this.#client?.stream.destroy();
  }

  async close(): Promise<void> {
    const c = this.#client;
    this.#client = undefined;
    if (c !== undefined) await c.endAsync(true);
  }
}

/** A CNC machine's DBIRTH metrics with aliases 1–6. */
export function cncBirth(ts: number): Metric[] {
  return [
    { name: 'Properties/Kind', alias: 1, datatype: DataType.String, value: 'cnc', timestamp: ts },
    { name: 'Properties/NC', alias: 2, datatype: DataType.Boolean, value: true, timestamp: ts },
    { name: 'Properties/Robot', alias: 3, datatype: DataType.Boolean, value: false, timestamp: ts },
    { name: 'Properties/Data Depth', alias: 4, datatype: DataType.String, value: 'full', timestamp: ts },
    { name: 'State', alias: 5, datatype: DataType.String, value: 'idle', timestamp: ts },
    { name: 'Signals/spindleSpeed', alias: 6, datatype: DataType.Double, value: 0, timestamp: ts },
    { name: 'Signals/partCount', alias: 7, datatype: DataType.UInt32, value: 10, timestamp: ts },
  ];
}

/**
 * A bearer token for the hub API, made straight in the registry (as `wanji token create`
 * does): `{ authorization: 'Bearer wj_…' }`, ready for `headers`.
 */
export function apiToken(
  registry: Registry,
  role: Role = 'admin',
  opts: { enterprise?: string; regions?: string[]; name?: string; expiresAt?: number } = {},
): { authorization: string } {
  const tokens = new TokenStore(registry.database, new AuditLog(registry.database));
  const { token } = tokens.create({ role, ...opts }, { actor: 'cli:test', source: 'cli' });
  return { authorization: `Bearer ${token}` };
}
