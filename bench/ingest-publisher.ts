/**
 * A publisher child of the ingest benchmark (bench/ingest.ts forks it): one Sparkplug edge
 * node with `machines` devices of 10 Double metrics, publishing DDATA to the hub's broker as
 * fast as the parent's allowance (messages in total, sent over IPC) lets it.
 */
import { connectAsync } from 'mqtt';
import {
  DataType,
  deviceTopic,
  encodePayload,
  type Metric,
  NODE_METRIC,
  nodeTopic,
  SeqCounter,
} from '../protocol/index.js';

export const METRICS = 10;
export const T0 = Date.now() - 3_600_000;

export interface PublisherData {
  readonly url: string;
  readonly index: number;
  readonly machines: number;
}

const signal = (k: number, value: number, timestamp: number): Metric => ({
  alias: k + 1,
  datatype: DataType.Double,
  value,
  timestamp,
});

/**
 * One edge node with `machines` devices: births, then DDATA round robin while `allowed()`
 * (messages in total) lets it; a negative allowance ends it.
 */
async function publish(d: PublisherData, allowed: () => number): Promise<number> {
  const group = 'bench';
  const node = `gw-${d.index}`;
  const seq = new SeqCounter();
  const client = await connectAsync(d.url, { clientId: `bench-${d.index}`, clean: true, reconnectPeriod: 0 });
  const send = (topic: string, metrics: Metric[], timestamp: number): Promise<unknown> =>
    client.publishAsync(topic, Buffer.from(encodePayload({ timestamp, seq: seq.next(), metrics })), {
      qos: 0,
    });
  await client.publishAsync(
    nodeTopic(group, 'NBIRTH', node),
    Buffer.from(
      encodePayload({
        timestamp: Date.now(),
        seq: seq.birth(),
        metrics: [
          { name: NODE_METRIC.bdSeq, datatype: DataType.Int64, value: 0 },
          { name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: false },
        ],
      }),
    ),
    { qos: 0 },
  );
  for (let j = 0; j < d.machines; j++) {
    const metrics = Array.from({ length: METRICS }, (_, k) => ({
      ...signal(k, 0, T0),
      name: `Signals/s${k}`,
    }));
    await send(deviceTopic(group, 'DBIRTH', node, `m${d.index}-${j}`), metrics, T0);
  }
  let sent = 0;
  for (;;) {
    const allow = allowed();
    if (allow < 0) break;
    if (sent >= allow) {
      await new Promise((r) => setTimeout(r, 2));
      continue;
    }
    let last: Promise<unknown> = Promise.resolve();
    for (const end = Math.min(allow, sent + 200); sent < end; sent++) {
      const j = sent % d.machines;
      const ts = T0 + 1 + Math.floor(sent / d.machines);
      const metrics = Array.from({ length: METRICS }, (_, k) => signal(k, sent + k, ts));
      last = send(deviceTopic(group, 'DDATA', node, `m${d.index}-${j}`), metrics, ts);
    }
    await last;
  }
  await client.endAsync();
  return sent;
}

// Run as a child: `node ingest-publisher.js '<PublisherData as JSON>'`.
if (process.send !== undefined) {
  let allow = 0;
  process.on('message', (m: { allow: number }) => {
    allow = m.allow;
  });
  await publish(JSON.parse(process.argv[2] ?? '{}') as PublisherData, () => allow);
  process.disconnect?.();
}
