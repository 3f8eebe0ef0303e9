/**
 * Issue 10: Template and DataSet metrics (as Eclipse Tahu's edge node sends them) were stored as
 * null samples while `unsupportedValues` stayed 0, against docs/hub.md. Against a real hub fed
 * over MQTT: they are counted as unsupported (device metrics and a template definition in the
 * NBIRTH) and never become samples, while the scalar metrics of the same messages are stored.
 */
import protobuf from 'protobufjs/minimal.js';
import { describe, expect, it } from 'vitest';
import {
  DataType,
  deviceTopic,
  encodePayload,
  type Metric,
  NODE_METRIC,
  nodeTopic,
} from '../../protocol/index.js';
import { apiToken, cncBirth, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

const { Writer } = protobuf;

/** sparkplug_b.proto: Metric.template_value = 18, Template.metrics = 2, template_ref = 4, is_definition = 5. */
function templateMetric(
  m: { name?: string; alias?: number; timestamp: number },
  definition: boolean,
): Uint8Array {
  const inner = Writer.create();
  inner.uint32((1 << 3) | 2).string('speed'); // Metric.name
  inner.uint32(4 << 3).uint32(DataType.Int32); // Metric.datatype
  inner.uint32(10 << 3).uint32(5); // Metric.int_value
  const template = Writer.create();
  template.uint32((1 << 3) | 2).string('v1'); // version
  template.uint32((2 << 3) | 2).bytes(inner.finish()); // metrics
  if (!definition) template.uint32((4 << 3) | 2).string('RecipeType'); // template_ref
  template.uint32(5 << 3).bool(definition); // is_definition
  return metricWith(m, DataType.Template, 18, template.finish());
}

/** Metric.dataset_value = 17: DataSet { num_of_columns 1, columns 2, types 3, rows 4 { elements 1 } }. */
function dataSetMetric(m: { name?: string; alias?: number; timestamp: number }): Uint8Array {
  const row = Writer.create();
  row.uint32((1 << 3) | 2).bytes(
    Writer.create()
      .uint32(1 << 3)
      .uint32(7)
      .finish(),
  ); // int_value 7
  row.uint32((1 << 3) | 2).bytes(
    Writer.create()
      .uint32((6 << 3) | 2)
      .string('door open')
      .finish(),
  );
  const ds = Writer.create();
  ds.uint32(1 << 3).uint64(2);
  ds.uint32((2 << 3) | 2).string('code');
  ds.uint32((2 << 3) | 2).string('text');
  ds.uint32(3 << 3).uint32(DataType.Int32);
  ds.uint32(3 << 3).uint32(DataType.String);
  ds.uint32((4 << 3) | 2).bytes(row.finish());
  return metricWith(m, DataType.DataSet, 17, ds.finish());
}

function metricWith(
  m: { name?: string; alias?: number; timestamp: number },
  datatype: number,
  field: number,
  value: Uint8Array,
): Uint8Array {
  const w = Writer.create();
  if (m.name !== undefined) w.uint32((1 << 3) | 2).string(m.name);
  if (m.alias !== undefined) w.uint32(2 << 3).uint64(m.alias);
  w.uint32(3 << 3).uint64(m.timestamp);
  w.uint32(4 << 3).uint32(datatype);
  w.uint32((field << 3) | 2).bytes(value);
  return w.finish();
}

/** Wanji's encoder writes the scalars; the complex metrics follow as more `Payload.metrics` (field 2). */
function payloadWith(base: Uint8Array, extra: readonly Uint8Array[]): Buffer {
  const w = Writer.create();
  for (const m of extra) w.uint32((2 << 3) | 2).bytes(m);
  return Buffer.concat([base, w.finish()]);
}

describe('Template and DataSet metrics', () => {
  it('are counted as unsupportedValues and never stored as null samples', async () => {
    const dir = tempDir();
    const hub = testHub(dir.path);
    const gw = new TestEdgeNode('acme', 'gw1');
    try {
      await hub.start();
      const auth = apiToken(hub.registry);
      const get = async <T>(path: string): Promise<T> => {
        const res = await fetch(`http://127.0.0.1:${hub.httpPort}${path}`, { headers: auth });
        expect(res.status, path).toBe(200);
        return (await res.json()) as T;
      };
      const unsupported = async (): Promise<number> =>
        (await get<{ counters: { host: { unsupportedValues: number } } }>('/healthz')).counters.host
          .unsupportedValues;
      await gw.connect(hub.mqttUrl);
      const t0 = Date.now() - 10_000;

      // NBIRTH with a template definition, as Tahu publishes them.
      const nbirth = encodePayload({
        timestamp: t0,
        seq: gw.seq.birth(),
        metrics: [
          { name: NODE_METRIC.bdSeq, datatype: DataType.Int64, value: gw.bdSeq },
          { name: NODE_METRIC.rebirth, datatype: DataType.Boolean, value: false },
        ],
      });
      await gw.publishRaw(
        nodeTopic('acme', 'NBIRTH', 'gw1'),
        payloadWith(nbirth, [templateMetric({ name: '_types_/RecipeType', timestamp: t0 }, true)]),
      );

      const dbirth = encodePayload({ timestamp: t0, seq: gw.seq.next(), metrics: cncBirth(t0) });
      await gw.publishRaw(
        deviceTopic('acme', 'DBIRTH', 'gw1', 'cnc-1'),
        payloadWith(dbirth, [
          templateMetric({ name: 'Recipe', alias: 30, timestamp: t0 }, false),
          dataSetMetric({ name: 'Alarms', alias: 31, timestamp: t0 }),
        ]),
      );
      const spindle: Metric = { alias: 6, datatype: DataType.Double, value: 1500, timestamp: t0 + 1_000 };
      const ddata = encodePayload({ timestamp: t0 + 1_000, seq: gw.seq.next(), metrics: [spindle] });
      await gw.publishRaw(
        deviceTopic('acme', 'DDATA', 'gw1', 'cnc-1'),
        payloadWith(ddata, [
          templateMetric({ alias: 30, timestamp: t0 + 1_000 }, false),
          dataSetMetric({ alias: 31, timestamp: t0 + 1_000 }),
        ]),
      );

      type Series = { points: { ts: number; value: unknown }[] };
      const series = (metric: string): Promise<Series> =>
        get<Series>(`/api/v1/machines/acme/cnc-1/series?metric=${encodeURIComponent(metric)}`);
      // The machine's series answers 404 until the hub has taken in the DBIRTH: not yet, not a failure.
      await waitFor(
        async () => {
          const res = await fetch(
            `http://127.0.0.1:${hub.httpPort}/api/v1/machines/acme/cnc-1/series?metric=Signals%2FspindleSpeed`,
            { headers: auth },
          );
          return res.status === 200 && ((await res.json()) as Series).points.length === 2;
        },
        'the scalar samples of the same messages',
        10_000,
      );
      // One definition in the NBIRTH, a Template and a DataSet in each of DBIRTH and DDATA.
      expect(await unsupported()).toBe(5);
      expect((await series('Signals/spindleSpeed')).points).toEqual([
        { ts: t0, value: 0 },
        { ts: t0 + 1_000, value: 1500 },
      ]);
      expect((await series('Recipe')).points).toEqual([]);
      expect((await series('Alarms')).points).toEqual([]);
      const detail = await get<{ latest: { metric: string; value: unknown }[] }>(
        '/api/v1/machines/acme/cnc-1',
      );
      expect(detail.latest.map((l) => l.metric)).not.toContain('Recipe');
      expect(detail.latest.map((l) => l.metric)).not.toContain('Alarms');
      expect(detail.latest.some((l) => l.value === null)).toBe(false);
    } finally {
      await gw.close();
      await hub.close();
      dir.remove();
    }
  });
});
