/**
 * The machine list adds the machines a gateway reports but never announced by reading only the
 * health of machines with no DBIRTH (registry.unannouncedHealthSummaries), not every gateway
 * metric of the fleet (docs/bench.md, API). A machine is listed once: reported while it never
 * answered, announced (with what its DBIRTH says) from its birth on.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { DataType, DEVICE_HEALTH_FIELD, deviceMetricName } from '../../protocol/index.js';
import { apiToken, cncBirth, silentLogger, TestEdgeNode, tempDir, waitFor } from './helpers.js';

interface Listed {
  enterprise: string;
  id: string;
  kind: string | null;
}

describe('machines reported but never announced, read apart from the fleet', () => {
  const dir = tempDir();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0, allowAnonymous: true },
    http: { port: 0 },
    flushIntervalMs: 20,
    logger: silentLogger(),
  });
  const gw = new TestEdgeNode('RU-1', 'GW-1');
  let admin: { authorization: string };

  const list = async (): Promise<{ total: number; machines: Listed[] }> => {
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/machines?order=attention`, {
      headers: admin,
    });
    expect(r.status).toBe(200);
    return (await r.json()) as { total: number; machines: Listed[] };
  };
  const health = (id: string, value: string) => ({
    name: deviceMetricName(id, DEVICE_HEALTH_FIELD.health),
    datatype: DataType.String,
    value,
  });

  beforeAll(async () => {
    await hub.start();
    admin = apiToken(hub.registry, 'admin');
    hub.registry.upsertEnterprise(
      {
        code: 'RU-1',
        name: 'RU-1',
        regionCode: 'yiwu',
        industryCode: 'hardware',
        backbone: false,
        ledger: { productionEquipment: 2, ncEquipment: 2, robots: 0 },
      },
      'test',
    );
    await gw.connect(hub.mqttUrl);
    await gw.nbirth([health('M1', 'online'), health('LATE', 'offline')]);
    await gw.dbirth('M1', cncBirth(Date.now()));
  });

  afterAll(async () => {
    await gw.close();
    await hub.close();
    dir.remove();
  });

  it('lists a machine once: reported until its birth, announced after', async () => {
    await waitFor(
      async () => {
        await hub.flush();
        return (await list()).total === 2;
      },
      'M1 announced and LATE reported',
      20_000,
    );
    expect((await list()).machines).toEqual([
      expect.objectContaining({ enterprise: 'RU-1', id: 'LATE', kind: null }),
      expect.objectContaining({ enterprise: 'RU-1', id: 'M1', kind: 'cnc' }),
    ]);
    expect([...hub.registry.unannouncedHealthSummaries().get('RU-1/GW-1')!.deviceHealth.keys()]).toEqual([
      'LATE',
    ]);

    await gw.dbirth('LATE', cncBirth(Date.now()));
    await waitFor(
      async () => {
        await hub.flush();
        return (await list()).machines.find((m) => m.id === 'LATE')?.kind === 'cnc';
      },
      'LATE announced',
      20_000,
    );
    const after = await list();
    expect(after.total).toBe(2);
    expect(after.machines.map((m) => `${m.id} ${m.kind}`).sort()).toEqual(['LATE cnc', 'M1 cnc']);
    expect(hub.registry.unannouncedHealthSummaries().size).toBe(0);
  });
});
