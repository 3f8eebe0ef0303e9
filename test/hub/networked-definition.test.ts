/**
 * Issue 10, "tests that would have caught these": changing hub/host/processor.ts so that null or
 * bad-quality samples also mark a machine networked passed every host, stats, API and e2e test.
 * The definition is the product's core (docs/statistics.md, docs/domain.md): a machine is networked
 * (联网) when it delivered a valid sample, not null and not of bad quality, within the networking
 * window. Against a real hub fed by a real MQTT edge node: a machine sending only nulls, or only
 * bad-quality values (the Quality property, OPC DA code or OPC UA StatusCode), is heard from but
 * not networked, in the machine's API row and in the statistics; one good value makes it networked.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataType, type Metric, OPC_DA_QUALITY, QUALITY_PROPERTY } from '../../protocol/index.js';
import { apiToken, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

interface MachineRow {
  id: string;
  networked: boolean;
  lastSeenAt: string | null;
  lastSampleAt: string | null;
}
interface EnterpriseRow {
  code: string;
  networked: number;
  networkedMeasured: number;
}
interface Statistics {
  byEnterprise: EnterpriseRow[];
}

/** OPC UA StatusCode BadCommunicationError (severity bits 10): bad, as a Quality property. */
const OPCUA_BAD_COMMUNICATION = 0x80050000;

function withQuality(m: Metric, code: number): Metric {
  return { ...m, properties: { [QUALITY_PROPERTY]: { type: DataType.Int32, value: code | 0 } } };
}

/** A machine's birth metrics (properties, State, one signal) with the given values. */
function birth(state: string | null, speed: number | null, quality?: number): Metric[] {
  const ts = Date.now();
  const signals: Metric[] = [
    { name: 'State', alias: 1, datatype: DataType.String, value: state, timestamp: ts },
    { name: 'Signals/spindleSpeed', alias: 2, datatype: DataType.Double, value: speed, timestamp: ts },
  ];
  return [
    { name: 'Properties/Kind', alias: 3, datatype: DataType.String, value: 'cnc', timestamp: ts },
    { name: 'Properties/NC', alias: 4, datatype: DataType.Boolean, value: true, timestamp: ts },
    ...(quality === undefined ? signals : signals.map((m) => withQuality(m, quality))),
  ];
}

/** A data message's metrics (by alias, as gateways send them) with the given values. */
function data(state: string | null, speed: number | null, quality?: number): Metric[] {
  const ts = Date.now();
  const metrics: Metric[] = [
    { alias: 1, datatype: DataType.String, value: state, timestamp: ts },
    { alias: 2, datatype: DataType.Double, value: speed, timestamp: ts },
  ];
  return quality === undefined ? metrics : metrics.map((m) => withQuality(m, quality));
}

describe('networked (联网) means a valid sample: not null, not bad quality', () => {
  const dir = tempDir();
  const hub = testHub(dir.path);
  const node = new TestEdgeNode('acme', 'gw-1', 1);
  let base: string;
  let headers: { authorization: string };
  /** Marker machines: each barrier births one and sends it a good value. */
  let barriers = 0;

  const machine = async (id: string): Promise<MachineRow> => {
    const r = await fetch(`${base}/api/v1/machines/acme/${id}`, { headers });
    expect(r.status, id).toBe(200);
    return ((await r.json()) as { machine: MachineRow }).machine;
  };
  const acme = async (): Promise<EnterpriseRow> => {
    const r = await fetch(`${base}/api/v1/statistics`, { headers });
    expect(r.status).toBe(200);
    const s = (await r.json()) as Statistics;
    const row = s.byEnterprise.find((e) => e.code === 'acme');
    if (row === undefined) throw new Error('acme missing from the statistics');
    return row;
  };
  /**
   * Waits until the hub has applied everything the node sent so far: a marker machine born and
   * given a good value after them, on the same connection (messages are handled in order), is
   * networked. So "not networked" below is never "not processed yet", and nothing sleeps.
   */
  const barrier = async (): Promise<string> => {
    const id = `marker-${++barriers}`;
    await node.dbirth(id, birth('idle', 1));
    await waitFor(async () => {
      await hub.flush();
      const r = await fetch(`${base}/api/v1/machines/acme/${id}`, { headers });
      return r.status === 200 && ((await r.json()) as { machine: MachineRow }).machine.networked;
    }, `${id} networked (the hub has handled what came before it)`);
    return id;
  };

  beforeAll(async () => {
    await hub.start();
    base = `http://127.0.0.1:${hub.httpPort}`;
    headers = apiToken(hub.registry, 'admin');
    hub.registry.upsertEnterprise(
      {
        code: 'acme',
        name: 'Acme',
        regionCode: 'wucheng',
        industryCode: 'hardware',
        backbone: false,
        ledger: { productionEquipment: 20, ncEquipment: 20, robots: 0 },
      },
      'test',
    );
    await node.connect(hub.mqttUrl);
    await node.nbirth();
  });
  afterAll(async () => {
    await node.close();
    await hub.close();
    dir.remove();
  });

  it('a machine sending only null values is heard from but not networked', async () => {
    await node.dbirth('nulls', birth(null, null));
    for (let i = 0; i < 3; i++) await node.ddata('nulls', data(null, null));
    await barrier();
    const m = await machine('nulls');
    expect(m.lastSeenAt, 'the hub heard from it').not.toBeNull();
    expect(m).toMatchObject({ networked: false, lastSampleAt: null });
    // Only the markers count: 1 so far.
    expect(await acme()).toMatchObject({ networked: 1, networkedMeasured: 1 });
  });

  it('a machine sending only bad-quality values (OPC DA and OPC UA codes) is not networked', async () => {
    await node.dbirth('bad-da', birth('running', 1200, OPC_DA_QUALITY.bad));
    await node.ddata('bad-da', data('running', 1300, OPC_DA_QUALITY.bad));
    await node.ddata('bad-da', data('idle', 0, 20)); // any code 0–63 is bad
    await node.dbirth('bad-ua', birth('running', 1200, OPCUA_BAD_COMMUNICATION));
    await node.ddata('bad-ua', data('running', 900, OPCUA_BAD_COMMUNICATION));
    await barrier();
    for (const id of ['bad-da', 'bad-ua']) {
      const m = await machine(id);
      expect(m.lastSeenAt, `the hub heard from ${id}`).not.toBeNull();
      expect(m, id).toMatchObject({ networked: false, lastSampleAt: null });
    }
    expect(await acme()).toMatchObject({ networked: 2, networkedMeasured: 2 });
  });

  it('a null next to a bad-quality value in one message does not make it networked either', async () => {
    await node.dbirth('mixed', birth(null, 5, OPC_DA_QUALITY.bad));
    await node.ddata('mixed', [
      { alias: 1, datatype: DataType.String, value: null, timestamp: Date.now() },
      withQuality(
        { alias: 2, datatype: DataType.Double, value: 7, timestamp: Date.now() },
        OPC_DA_QUALITY.bad,
      ),
    ]);
    await barrier();
    expect(await machine('mixed')).toMatchObject({ networked: false, lastSampleAt: null });
    expect((await acme()).networkedMeasured).toBe(3);
  });

  it('one good value makes it networked; an uncertain value is valid too', async () => {
    await node.ddata('nulls', [{ alias: 2, datatype: DataType.Double, value: 42, timestamp: Date.now() }]);
    await node.ddata('bad-da', data('running', 1250, OPC_DA_QUALITY.good));
    await node.ddata('bad-ua', data('running', 1250, OPC_DA_QUALITY.uncertain));
    await barrier();
    for (const id of ['nulls', 'bad-da', 'bad-ua']) {
      const m = await machine(id);
      expect(m, id).toMatchObject({ networked: true });
      expect(m.lastSampleAt, id).not.toBeNull();
    }
    expect(await machine('mixed')).toMatchObject({ networked: false });
    // 4 markers + nulls, bad-da, bad-ua; `mixed` is still not networked.
    expect(await acme()).toMatchObject({ networked: 7, networkedMeasured: 7 });
  });
});
