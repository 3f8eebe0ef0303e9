/**
 * A programme-sized registry for the benchmarks (bench/web.ts, bench/api.ts), built the quick
 * way that is still the real one: the enterprises declared through the registry
 * (`hub.registry.upsertEnterprise`), their machines announced over MQTT by one client
 * publishing NBIRTH and DBIRTH (the Sparkplug path a gateway takes), until the hub counts every
 * machine networked.
 */
import { connectAsync } from 'mqtt';
import type { Hub } from '../hub/hub.js';
import {
  DataType,
  DEVICE_HEALTH_FIELD,
  deviceMetricName,
  deviceTopic,
  encodePayload,
  GATEWAY_METRIC,
  INDUSTRY_SEEDS,
  MACHINE_METRIC,
  type Metric,
  NODE_METRIC,
  nodeTopic,
  REGION_SEEDS,
  SeqCounter,
} from '../protocol/index.js';

export interface FleetOptions {
  readonly enterprises: number;
  /** Machines per enterprise, each behind the enterprise's one gateway `gw-1`. */
  readonly machinesPer: number;
  /**
   * The gateway's NBIRTH carries its counters and each machine's link health
   * (`Gateway/*`, `Devices/<id>/Health|Health Reason|Connection`), as a Wanji gateway's does;
   * default false (the bare NBIRTH bench/web.ts was first measured with).
   */
  readonly gatewayHealth?: boolean;
}

/** `E0000`, `E0001`, …: the enterprise codes (and Sparkplug groups) of the fleet. */
export const enterpriseCode = (i: number): string => `E${String(i).padStart(4, '0')}`;

/** Declares the enterprises and announces their machines; resolves once the hub has them all. */
export async function buildFleet(hub: Hub, o: FleetOptions): Promise<void> {
  const PER = o.machinesPer;
  const now = Date.now();
  for (let i = 0; i < o.enterprises; i++) {
    hub.registry.upsertEnterprise(
      {
        code: enterpriseCode(i),
        name: `企业${i}`,
        regionCode: REGION_SEEDS[i % REGION_SEEDS.length]!.code,
        industryCode: INDUSTRY_SEEDS[i % INDUSTRY_SEEDS.length]!.code,
        backbone: i % 5 === 0,
        ledger: { productionEquipment: PER + (i % 7), ncEquipment: Math.ceil(PER / 2), robots: i % 3 },
      },
      'bench',
    );
  }
  const client = await connectAsync(hub.mqttUrl, {
    clientId: 'bench-fleet',
    clean: true,
    reconnectPeriod: 0,
  });
  const send = (topic: string, seq: SeqCounter, metrics: Metric[], birth = false) =>
    client.publishAsync(
      topic,
      Buffer.from(encodePayload({ timestamp: now, seq: birth ? seq.birth() : seq.next(), metrics })),
      { qos: 1 },
    );
  for (let i = 0; i < o.enterprises; i++) {
    const group = enterpriseCode(i);
    const seq = new SeqCounter();
    const health: Metric[] = [];
    if (o.gatewayHealth === true) {
      for (const name of Object.values(GATEWAY_METRIC))
        health.push({
          name,
          datatype: DataType.UInt64,
          value: name === GATEWAY_METRIC.queued ? i % 50 : 1000,
        });
      for (let m = 0; m < PER; m++) {
        const down = m === PER - 1 && i % 10 === 0;
        health.push(
          {
            name: deviceMetricName(`m${m}`, DEVICE_HEALTH_FIELD.health),
            datatype: DataType.String,
            value: down ? 'offline' : 'online',
          },
          {
            name: deviceMetricName(`m${m}`, DEVICE_HEALTH_FIELD.reason),
            datatype: DataType.String,
            value: down ? 'timeout after 1000 ms' : '',
          },
          {
            name: deviceMetricName(`m${m}`, DEVICE_HEALTH_FIELD.connection),
            datatype: DataType.String,
            value: `c${m % 4}`,
          },
        );
      }
    }
    await send(
      nodeTopic(group, 'NBIRTH', 'gw-1'),
      seq,
      [
        { name: NODE_METRIC.bdSeq, datatype: DataType.Int64, value: 0 },
        { name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: false },
        ...health,
      ],
      true,
    );
    for (let m = 0; m < PER; m++) {
      await send(deviceTopic(group, 'DBIRTH', 'gw-1', `m${m}`), seq, [
        { name: MACHINE_METRIC.kind, alias: 1, datatype: DataType.String, value: 'cnc' },
        { name: MACHINE_METRIC.nc, alias: 2, datatype: DataType.Boolean, value: m % 2 === 0 },
        { name: MACHINE_METRIC.robot, alias: 3, datatype: DataType.Boolean, value: false },
        { name: MACHINE_METRIC.dataDepth, alias: 4, datatype: DataType.String, value: 'full' },
        { name: MACHINE_METRIC.state, alias: 5, datatype: DataType.String, value: 'running' },
        { name: 'Signals/spindleSpeed', alias: 6, datatype: DataType.Double, value: 1000 + m },
      ]);
    }
  }
  await client.endAsync();
  const total = o.enterprises * PER;
  const t0 = performance.now();
  for (;;) {
    await hub.flush();
    const networked = hub.registry
      .activityByEnterprise(Date.now() - 7 * 86_400_000, Date.now() - 300_000)
      .reduce((n, a) => n + a.networked, 0);
    if (networked >= total) return;
    if (performance.now() - t0 > 300_000) throw new Error(`only ${networked} of ${total} machines networked`);
    await new Promise((r) => setTimeout(r, 500));
  }
}
