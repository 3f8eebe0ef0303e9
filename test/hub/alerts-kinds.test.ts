/**
 * Issue 12's alert kinds beyond offline, against a real hub fed by a real Sparkplug edge node:
 * a machine in alarm, a machine heard from but sending no valid sample (data stale), a gateway
 * journal backlog that grows; then a notification still pending when the hub stops is sent
 * after it starts again, a channel that refuses a test message is a 502 naming why (no secret),
 * and a config with a channel secret given twice is refused naming the path.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HubConfigError } from '../../hub/errors.js';
import { Hub } from '../../hub/hub.js';
import { DataType, type Metric } from '../../protocol/index.js';
import { PushedClock } from '../support/pushed-clock.js';
import { HttpReceiver } from './alerts-receivers.js';
import { apiToken, silentLogger, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

const MIN = 60_000;

function birthMetrics(ts: number): Metric[] {
  return [
    { name: 'Properties/Kind', alias: 1, datatype: DataType.String, value: 'cnc', timestamp: ts },
    { name: 'State', alias: 2, datatype: DataType.String, value: 'running', timestamp: ts },
    { name: 'Signals/spindleSpeed', alias: 3, datatype: DataType.Double, value: null, timestamp: ts },
  ];
}

describe('alert kinds: machine alarm, data stale, journal backlog', () => {
  const dir = tempDir();
  const clock = new PushedClock();
  const receiver = new HttpReceiver();
  const node = new TestEdgeNode('E7', 'GW7');
  let hub: Hub;
  let operator: { authorization: string };

  const rule = async (body: Record<string, unknown>): Promise<number> => {
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/alerts/rules`, {
      method: 'POST',
      headers: { ...operator, 'content-type': 'application/json' },
      body: JSON.stringify({ channels: ['hook'], ...body }),
    });
    expect(r.status, await r.clone().text()).toBe(201);
    return ((await r.json()) as { id: number }).id;
  };
  const active = (ruleId: number) =>
    hub.alerts
      .alerts({ state: 'active', ruleId })
      .alerts.map((a) => ({ subject: a.subject, detail: a.detail }));

  /** DDATA stamped with the hub's time: the state, and a spindle speed (null: no valid sample). */
  const send = async (machine: string, state: string | null, speed: number | null): Promise<void> => {
    const ts = clock.now();
    await node.ddata(
      machine,
      [
        { alias: 2, datatype: DataType.String, value: state, timestamp: ts },
        { alias: 3, datatype: DataType.Double, value: speed, timestamp: ts },
      ],
      { timestamp: ts },
    );
    await waitFor(
      () => (hub.registry.machine('E7', machine)?.lastSeenAt ?? 0) >= ts,
      `data from ${machine} stored`,
    );
  };
  const queued = async (n: number): Promise<void> => {
    await node.ndata([{ name: 'Gateway/Queued', datatype: DataType.UInt64, value: n }]);
    await waitFor(
      () => hub.registry.gatewaySummaries().get('E7/GW7')?.counters.queued === n,
      `Gateway/Queued ${n} stored`,
    );
  };

  beforeAll(async () => {
    await receiver.start();
    hub = testHub(dir.path, {
      clock,
      alerts: {
        intervalMs: 3_600_000,
        channels: { hook: { type: 'webhook', url: `${receiver.url}/hook`, language: 'en' } },
      },
    });
    await hub.start();
    operator = apiToken(hub.registry, 'operator');
    await node.connect(hub.mqttUrl);
    await node.nbirth([{ name: 'Gateway/Queued', datatype: DataType.UInt64, value: 0 }]);
    for (const m of ['A1', 'S1']) await node.dbirth(m, birthMetrics(clock.now()), clock.now());
    await send('A1', 'running', 10);
    await send('S1', 'running', 10);
  });

  afterAll(async () => {
    await node.close();
    await hub?.close();
    await receiver.close();
    dir.remove();
  });

  it('a machine in alarm longer than the duration fires; back to running, it clears', async () => {
    const id = await rule({ name: 'alarm 2 min', kind: 'machine-alarm', durationMs: 2 * MIN });
    await send('A1', 'alarm', 10);
    expect(hub.alerts.evaluate().fired).toBe(0); // first seen now
    clock.offset += 3 * MIN;
    await send('A1', 'alarm', 10);
    await send('S1', 'running', 10);
    expect(hub.alerts.evaluate().fired).toBe(1);
    expect(active(id)).toEqual([
      {
        subject: expect.objectContaining({ machine: 'A1' }),
        detail: expect.objectContaining({ state: 'alarm' }),
      },
    ]);
    await waitFor(() => receiver.on('/hook').length === 1, 'the alarm notification');
    expect(receiver.on('/hook')[0]?.body).toMatchObject({
      title: '[FIRING][warning] Machine in alarm: E7 machine A1',
    });
    await send('A1', 'running', 10);
    expect(hub.alerts.evaluate().cleared).toBe(1);
    expect(active(id)).toEqual([]);
  });

  it('a machine heard from but with no valid sample for longer than the duration is data-stale', async () => {
    const id = await rule({
      name: 'stale 10 min',
      kind: 'data-stale',
      scope: { kind: 'machine', enterprise: 'E7', machine: 'S1' },
      durationMs: 10 * MIN,
    });
    clock.offset += 4 * MIN;
    await send('S1', null, null); // heard, nulls: no valid sample
    expect(hub.alerts.evaluate().fired).toBe(0); // 4 minutes since its last valid sample
    clock.offset += 4 * MIN;
    await send('S1', null, null);
    clock.offset += 4 * MIN;
    await send('S1', null, null);
    expect(hub.alerts.evaluate().fired).toBe(1); // 12 minutes
    expect(active(id)).toEqual([
      { subject: expect.objectContaining({ machine: 'S1' }), detail: expect.anything() },
    ]);
    await send('S1', 'running', 42);
    expect(hub.alerts.evaluate().cleared).toBe(1);
  });

  it('a journal backlog over the threshold that keeps growing fires; once it shrinks, it clears', async () => {
    const id = await rule({ name: 'backlog', kind: 'journal-backlog', threshold: 100, durationMs: MIN });
    await queued(150);
    expect(hub.alerts.evaluate().fired).toBe(0);
    clock.offset += 2 * MIN;
    await queued(220);
    await send('A1', 'running', 1);
    await send('S1', 'running', 1);
    expect(hub.alerts.evaluate().fired).toBe(1);
    expect(active(id)).toEqual([
      {
        subject: expect.objectContaining({ type: 'gateway', gateway: 'GW7' }),
        detail: expect.objectContaining({ backlog: 220, threshold: 100 }),
      },
    ]);
    await queued(260);
    expect(hub.alerts.evaluate()).toMatchObject({ fired: 0, cleared: 0 });
    expect(active(id)[0]?.detail).toMatchObject({ backlog: 260 }); // the one alert, kept current
    await queued(120); // draining
    expect(hub.alerts.evaluate().cleared).toBe(1);
  });
});

describe('alert notifications across a restart, channel refusals, channel config', () => {
  const dir = tempDir();
  const down = new HttpReceiver();
  const logger = silentLogger();
  let hub: Hub;

  afterAll(async () => {
    await hub?.close();
    await down.close();
    dir.remove();
  });

  it('a notification pending when the hub stops is sent after it starts again', async () => {
    await down.start();
    await down.close();
    hub = new Hub({
      dataDir: dir.path,
      mqtt: { port: 0, allowAnonymous: true },
      http: { port: 0 },
      logger,
      alerts: {
        intervalMs: 3_600_000,
        retry: { minDelayMs: 100_000, maxDelayMs: 100_000, maxAttempts: 30, timeoutMs: 2_000 }, // none before the restart
        channels: {
          late: { type: 'webhook', url: `${down.url}/late?token=s3cr3t-token` }, // zh-CN by default
        },
      },
    });
    await hub.start();
    hub.registry.upsertEnterprise(
      {
        code: 'E9',
        name: 'Nine',
        regionCode: 'yiwu',
        industryCode: 'hardware',
        backbone: false,
        ledger: { productionEquipment: 4, ncEquipment: 0, robots: 0 },
      },
      'zhang.san',
    );
    const operator = apiToken(hub.registry, 'operator');
    const created = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/alerts/rules`, {
      method: 'POST',
      headers: { ...operator, 'content-type': 'application/json' },
      body: JSON.stringify({
        name: 'E9 low',
        kind: 'networking-rate',
        threshold: 50,
        durationMs: 0,
        channels: ['late'],
      }),
    });
    expect(created.status).toBe(201);
    expect(hub.alerts.evaluate().fired).toBe(1);
    await waitFor(() => hub.alerts.outboxCounters.failedAttempts === 1, 'the first failed attempt');

    const test = await fetch(`http://127.0.0.1:${hub.httpPort}/api/v1/alerts/channels/late/test`, {
      method: 'POST',
      headers: operator,
    });
    const refusal = (await test.json()) as { code: string; message: string };
    expect(test.status).toBe(502);
    expect(refusal.code).toBe('WANJI_E_ALERT_CHANNEL_FAILED');
    expect(refusal.message).toMatch(/ECONNREFUSED/);
    expect(refusal.message).toContain('/late?token=…');
    expect(refusal.message).not.toContain('s3cr3t-token');

    await hub.close();
    await down.start(); // the same port
    await hub.start(); // the outbox sends what was pending, without waiting for its backoff
    await waitFor(() => down.on('/late').length === 1, 'the pending notification after the restart', 10_000);
    expect(down.on('/late')[0]?.body).toMatchObject({
      event: 'fire',
      language: 'zh-CN',
      alert: { kind: 'networking-rate', subject: { enterprise: 'E9' } },
    });
  });

  it('a channel secret given twice, or an unknown channel type, is refused naming the path', () => {
    const make = (channels: Record<string, unknown>) => () =>
      new Hub({ dataDir: dir.path, logger, alerts: { channels } as never });
    expect(
      make({
        d: {
          type: 'dingtalk',
          url: 'https://oapi.dingtalk.com/robot/send?access_token=x',
          secret: 'a',
          secretFile: '/f',
        },
      }),
    ).toThrow(/\/alerts\/channels\/d\/secretFile: give the secret once/);
    expect(make({ s: { type: 'slack', url: 'https://example.com' } })).toThrow(HubConfigError);
  });
});
