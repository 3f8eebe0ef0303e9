/**
 * Watches a gateway's `Journal/*` node metrics (its NBIRTH and NDATA) on the hub's broker,
 * as any Sparkplug subscriber could. The counting proves the store holds everything; the
 * backlog returning to zero proves the hub's acknowledgements reached the journal, so it does
 * not replay everything forever nor grow without bound.
 */
import mqtt, { type MqttClient } from 'mqtt';
import { decodePayload, JOURNAL_METRIC, nodeTopic } from '../../protocol/index.js';

export class JournalWatch {
  readonly #url: string;
  readonly #topics: readonly string[];
  readonly #names = new Map<number, string>();
  readonly #latest = new Map<string, unknown>();
  #client: MqttClient | undefined;

  constructor(brokerUrl: string, group: string, node: string) {
    this.#url = brokerUrl;
    this.#topics = [nodeTopic(group, 'NBIRTH', node), nodeTopic(group, 'NDATA', node)];
  }

  /** Connects (and reconnects, e.g. after a hub restart) in the background. */
  start(): void {
    if (this.#client !== undefined) return;
    const client = mqtt.connect(this.#url, {
      clientId: `chaos-journal-watch-${process.pid}-${Date.now()}`,
      reconnectPeriod: 500,
      connectTimeout: 5_000,
    });
    this.#client = client;
    client.on('connect', () => client.subscribe([...this.#topics], { qos: 0 }));
    client.on('error', () => undefined); // the hub may be down for a while; mqtt.js retries
    client.on('message', (topic, buf) => {
      let payload: ReturnType<typeof decodePayload>;
      try {
        payload = decodePayload(buf);
      } catch {
        return;
      }
      const birth = topic.includes('/NBIRTH/');
      for (const m of payload.metrics) {
        if (birth && m.name !== undefined && m.alias !== undefined) this.#names.set(m.alias, m.name);
        const name = m.name ?? (m.alias === undefined ? undefined : this.#names.get(m.alias));
        if (name?.startsWith('Journal/')) this.#latest.set(name, m.value);
      }
    });
  }

  /** The last value seen of a Journal/* metric, as a number (undefined before any). */
  value(name: (typeof JOURNAL_METRIC)[keyof typeof JOURNAL_METRIC]): number | undefined {
    const v = this.#latest.get(name);
    return typeof v === 'number' || typeof v === 'bigint' ? Number(v) : undefined;
  }

  get backlog(): number | undefined {
    return this.value(JOURNAL_METRIC.backlog);
  }

  async close(): Promise<void> {
    const client = this.#client;
    this.#client = undefined;
    await client?.endAsync(true);
  }
}
