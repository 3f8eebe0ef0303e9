/** A gateway logging in with its own MQTT credential (anonymous MQTT off), for tests of what one credential can do. */
import { connectAsync, type MqttClient } from 'mqtt';
import {
  DataType,
  deviceTopic,
  encodePayload,
  type Metric,
  NODE_METRIC,
  nodeTopic,
  type Payload,
  SeqCounter,
} from '../../protocol/index.js';

/** A gateway logging in with its own MQTT credential, as production gateways do. */
export class CredentialedGateway {
  readonly seq = new SeqCounter();
  #client: MqttClient | undefined;
  constructor(
    readonly group: string,
    readonly node: string,
  ) {}

  async connect(url: string, username: string, password: string): Promise<void> {
    this.#client = await connectAsync(url, {
      clientId: `${this.group}-${this.node}-${Math.random().toString(16).slice(2, 8)}`,
      username,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
    });
  }

  async #publish(topic: string, payload: Payload): Promise<void> {
    if (this.#client === undefined) throw new Error('not connected');
    await this.#client.publishAsync(topic, Buffer.from(encodePayload(payload)), { qos: 1 });
  }

  async nbirth(): Promise<void> {
    await this.#publish(nodeTopic(this.group, 'NBIRTH', this.node), {
      timestamp: Date.now(),
      seq: this.seq.birth(),
      metrics: [
        { name: NODE_METRIC.bdSeq, datatype: DataType.Int64, value: 0 },
        { name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: false },
      ],
    });
  }

  /** A machine's birth with a valid value: it is networked from this message on. */
  async dbirth(device: string, props: { nc?: boolean; robot?: boolean } = {}): Promise<void> {
    const ts = Date.now();
    const metrics: Metric[] = [
      { name: 'Properties/Kind', datatype: DataType.String, value: 'cnc', timestamp: ts },
      { name: 'State', datatype: DataType.String, value: 'running', timestamp: ts },
      { name: 'Signals/partCount', datatype: DataType.UInt32, value: 1, timestamp: ts },
    ];
    if (props.nc !== undefined) {
      metrics.push({ name: 'Properties/NC', datatype: DataType.Boolean, value: props.nc, timestamp: ts });
    }
    if (props.robot !== undefined) {
      metrics.push({
        name: 'Properties/Robot',
        datatype: DataType.Boolean,
        value: props.robot,
        timestamp: ts,
      });
    }
    await this.#publish(deviceTopic(this.group, 'DBIRTH', this.node, device), {
      timestamp: ts,
      seq: this.seq.next(),
      metrics,
    });
  }

  async close(): Promise<void> {
    await this.#client?.endAsync(true);
  }
}
