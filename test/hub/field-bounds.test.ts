/**
 * Issue 9, "The count cannot be bought": what one gateway credential sends is bounded at the
 * hub's Sparkplug host (hub/host/bounds.ts, processor.ts). Each test replays an attack against
 * a real hub (real broker, real MQTT client, real HTTP) and checks the refusal, its counter, its
 * log line, and that the untouched enterprise E2 and its live machine go on as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawSqliteForTests } from '../../hub/database/database.js';
import type { HostCounters } from '../../hub/host/types.js';
import { localDay } from '../../hub/registry/days.js';
import { DataType, deviceTopic, JOURNAL_METRIC, type Metric, nodeTopic } from '../../protocol/index.js';
import { type FieldHub, LIVE, liveFigures, startFieldHub } from './field-bounds-fixture.js';
import { cncBirth, waitFor } from './helpers.js';

const DAY = 86_400_000;
const LIMITS = { maxDevicesPerGateway: 5, maxMetricsPerDevice: 20, maxStringBytes: 64 };

describe('field bounds at the Sparkplug host (issue 9)', () => {
  let f: FieldHub;
  let figuresBefore: unknown;

  const counters = (): HostCounters => f.hub.host.counters as HostCounters;
  const machine = (enterprise: string, id: string) =>
    f.get<{ machine: { state: string }; latest: { metric: string; value: unknown }[] }>(
      `/api/v1/machines/${encodeURIComponent(enterprise)}/${encodeURIComponent(id)}`,
    );
  const logged = (msg: RegExp, fields: Record<string, unknown>) =>
    f.logs().some((l) => msg.test(l.msg) && Object.entries(fields).every(([k, v]) => l[k] === v));

  beforeAll(async () => {
    f = await startFieldHub(LIMITS);
    figuresBefore = await liveFigures(f);
    expect(figuresBefore).toMatchObject({ code: LIVE.group });
  }, 20_000);
  afterAll(async () => {
    await f?.close();
  });

  it('refuses a State stamped a million days ahead: the state clock never sees it, and the hub keeps answering', async () => {
    const gw = await f.edge('E1', 'GW-A');
    await gw.nbirth();
    const now = Date.now();
    await gw.dbirth('a-1', [
      { name: 'State', alias: 1, datatype: DataType.String, value: 'running', timestamp: now },
    ]);
    await waitFor(() => f.hub.registry.machine('E1', 'a-1')?.state === 'running', 'a-1 running');
    const before = counters().timestampsRefused;

    // The attack from the issue: idle at now + 1,000,000 days (it blocked the hub 8 s).
    await gw.ddata('a-1', [
      { alias: 1, datatype: DataType.String, value: 'idle', timestamp: now + 1_000_000 * DAY },
    ]);
    // And near the largest date, every 200 ms (it failed every ingest batch for everyone).
    for (let i = 0; i < 5; i++) {
      await gw.ddata('a-1', [
        { alias: 1, datatype: DataType.String, value: 'alarm', timestamp: 8.64e15 - i },
      ]);
      await f.tick(100 + i);
      // Each refused before the next is sent (the million-day State was the first).
      await waitFor(() => counters().timestampsRefused === before + 2 + i, `refusal ${i + 1} of 8.64e15`);
    }
    // A payload stamped in the future refuses the whole message, metrics without their own time.
    await gw.ddata('a-1', [{ alias: 1, datatype: DataType.String, value: 'idle' }], {
      timestamp: now + 30 * DAY,
    });
    // So is one stamped before limits.maxPastMs (31 days) or before the epoch.
    await gw.ddata('a-1', [
      { alias: 1, datatype: DataType.String, value: 'idle', timestamp: now - 40 * DAY },
    ]);
    await gw.ddata('a-1', [{ alias: 1, datatype: DataType.String, value: 'idle', timestamp: 0 }]);

    await waitFor(() => counters().timestampsRefused >= before + 9, 'nine refused timestamps');
    expect(counters().timestampsRefused).toBe(before + 9);
    await f.tick(200);
    // The hub answers, the live machine kept updating, and the attacked one never left running.
    const live = await machine(LIVE.group, LIVE.machine);
    expect(live.latest.find((p) => p.metric === 'Signals/spindleSpeed')?.value).toBe(200);
    const attacked = await machine('E1', 'a-1');
    expect(attacked.machine.state).toBe('running');
    expect(attacked.latest.find((p) => p.metric === 'State')?.value).toBe('running');
    expect(
      await f.hub.store.query({ enterprise: 'E1', machine: 'a-1', metric: 'State', limit: 100 }),
    ).toHaveLength(1);
    // State time: no idle or alarm time, no day after today.
    const rows = rawSqliteForTests(f.hub.registry.database)
      .prepare(`SELECT day, state FROM machine_state_time WHERE enterprise = 'E1'`)
      .all() as { day: string; state: string }[];
    const today = localDay(Date.now(), f.hub.registry.utcOffsetMin);
    for (const r of rows) {
      expect(r.state).toBe('running');
      expect(r.day <= today).toBe(true);
    }
    expect(
      logged(/timestamp is more than limits\.maxFutureSkewMs/, {
        group: 'E1',
        edgeNode: 'GW-A',
        device: 'a-1',
        metric: 'State',
        timestamp: now + 1_000_000 * DAY,
      }),
    ).toBe(true);
    // Rate-limited: one line per gateway per minute, however many refusals.
    expect(f.logs().filter((l) => /timestamp/.test(l.msg) && l.edgeNode === 'GW-A')).toHaveLength(1);
    expect(await liveFigures(f)).toEqual(figuresBefore);
    const health = await f.get<{ counters: { host: Record<string, number> } }>('/healthz');
    expect(health.counters.host).toMatchObject({ timestampsRefused: before + 9, devicesRefused: 0 });
  }, 20_000);

  it('keeps a gateway to limits.maxDevicesPerGateway devices, across its rebirths', async () => {
    const gw = await f.edge('E1', 'GW-FLOOD');
    await gw.nbirth();
    for (let i = 0; i < 30; i++) await gw.dbirth(`fake-${i}`, cncBirth(Date.now()));
    await waitFor(() => counters().devicesRefused >= 25, '25 refused DBIRTHs');
    // A rebirth does not make room: the hub remembers the ids it accepted.
    await gw.nbirth();
    await gw.dbirth('fake-new', cncBirth(Date.now()));
    await gw.dbirth('fake-0', cncBirth(Date.now()));
    await waitFor(() => counters().devicesRefused >= 26, 'the 26th refused DBIRTH');
    await f.tick(300);
    expect(counters().devicesRefused).toBe(26);
    const list = await f.get<{ total: number; machines: { id: string; gateway: string }[] }>(
      '/api/v1/machines?enterprise=E1&limit=100',
    );
    const flood = list.machines.filter((m) => m.gateway === 'GW-FLOOD').map((m) => m.id);
    expect(flood.sort()).toEqual(['fake-0', 'fake-1', 'fake-2', 'fake-3', 'fake-4']);
    expect(
      logged(/DBIRTH of a new device refused/, {
        group: 'E1',
        edgeNode: 'GW-FLOOD',
        device: 'fake-5',
        limit: 5,
      }),
    ).toBe(true);
    expect(await liveFigures(f)).toEqual(figuresBefore);
  });

  it('refuses births with more than limits.maxMetricsPerDevice metrics', async () => {
    const gw = await f.edge('E1', 'GW-WIDE');
    const many = (n: number): Metric[] =>
      Array.from({ length: n }, (_, i) => ({ name: `Signals/s${i}`, datatype: DataType.Int32, value: i }));
    const before = counters().birthsRefused;
    // A gateway's own birth may hold 8 node metrics per device it may have (its machines'
    // health) besides its own: 20 + 8 × 5 = 60 here.
    await gw.nbirth(many(70));
    await waitFor(() => counters().birthsRefused === before + 1, 'the NBIRTH refused');
    expect(f.hub.host.node('E1', 'GW-WIDE')?.born).toBe(false);
    await gw.nbirth();
    await waitFor(() => f.hub.host.node('E1', 'GW-WIDE')?.born === true, 'a birth within the limit');
    await gw.dbirth('wide-1', many(21));
    await gw.dbirth('wide-2', many(20));
    await waitFor(() => f.hub.registry.machine('E1', 'wide-2') !== undefined, 'wide-2 born');
    expect(counters().birthsRefused).toBe(before + 2);
    expect(f.hub.registry.machine('E1', 'wide-1')).toBeUndefined();
    // One line per gateway and minute: the NBIRTH's; the DBIRTHs' are held back and counted.
    const births = f.logs().filter((l) => /refused: \d+ metrics/.test(l.msg) && l.edgeNode === 'GW-WIDE');
    expect(births).toEqual([
      expect.objectContaining({ msg: expect.stringMatching(/^NBIRTH refused: 72 metrics/), limit: 60 }),
    ]);
    // Nor can data bring metrics the birth did not announce past the limit.
    await gw.ddata('wide-2', [
      { name: 'Signals/s3', datatype: DataType.Int32, value: 33 },
      { name: 'Signals/unannounced', datatype: DataType.Int32, value: 1 },
    ]);
    await waitFor(async () => {
      const points = await f.hub.store.latest('E1', 'wide-2');
      return points.some((p) => p.metric === 'Signals/s3' && p.value === 33);
    }, 'the announced metric stored');
    expect(counters().metricsRefused).toBe(1);
    const names = (await f.hub.store.latest('E1', 'wide-2')).map((p) => p.metric);
    expect(names).not.toContain('Signals/unannounced');
  });

  it('refuses ids with control, bidi or invisible characters, and over-long ids and metric names', async () => {
    const gw = await f.edge('E1', 'GW-IDS');
    await gw.nbirth();
    const before = counters().malformedTopics;
    const bad = [
      'spBv1.0/E1/DBIRTH/GW-IDS/m\u202E1-gnp',
      'spBv1.0/E1/DBIRTH/GW-IDS/m\u200B1',
      'spBv1.0/E1/DBIRTH/GW-IDS/m\u20661',
      'spBv1.0/E1/DBIRTH/GW-IDS/m\u00071',
      'spBv1.0/E1/DBIRTH/GW-IDS/m\uFEFF1',
      `spBv1.0/E1/DBIRTH/GW-IDS/${'m'.repeat(65)}`,
      'spBv1.0/E1\u200D/NBIRTH/GW-IDS',
      'spBv1.0/E1/NBIRTH/GW-IDS\u061C',
    ];
    // seq 0: dropped messages must not open a seq gap (and a rebirth request) on the real node.
    for (const topic of bad)
      await gw.publish(topic, { timestamp: Date.now(), seq: 0, metrics: cncBirth(Date.now()) });
    // Metric names in a birth: the bad ones are refused, the rest of the birth stands.
    await gw.dbirth('ids-1', [
      { name: 'State', alias: 1, datatype: DataType.String, value: 'running' },
      { name: 'Signals/x\u202Ey', alias: 2, datatype: DataType.Double, value: 1 },
      { name: `Signals/${'n'.repeat(300)}`, alias: 3, datatype: DataType.Double, value: 2 },
      { name: 'Signals/ok', alias: 4, datatype: DataType.Double, value: 3 },
    ]);
    await waitFor(() => counters().malformedTopics >= before + bad.length, 'the malformed topics');
    await waitFor(() => f.hub.registry.machine('E1', 'ids-1') !== undefined, 'ids-1 born');
    const rebirths = counters().rebirthRequests;
    // Data for a refused metric (by alias) is refused too, without asking for a rebirth.
    await gw.ddata('ids-1', [
      { alias: 2, datatype: DataType.Double, value: 10 },
      { alias: 4, datatype: DataType.Double, value: 30 },
      { name: 'Signals/by\u200Bname', datatype: DataType.Double, value: 40 },
    ]);
    await waitFor(async () => {
      const points = await f.hub.store.latest('E1', 'ids-1');
      return points.some((p) => p.metric === 'Signals/ok' && p.value === 30);
    }, 'the good metric stored');
    expect(counters().malformedTopics).toBe(before + bad.length);
    expect(counters().invalidMetricNames).toBe(4); // two in the birth, two in the data
    expect(counters().rebirthRequests).toBe(rebirths);
    const metrics = (await f.hub.store.latest('E1', 'ids-1')).map((p) => p.metric).sort();
    expect(metrics).toEqual(['Signals/ok', 'State']);
    const ids = f.hub.registry.machines({ enterprise: 'E1' }).map((m) => m.id);
    expect(ids.filter((id) => id.startsWith('m'))).toEqual([]);
    const nameLog = f.logs().find((l) => /its name/.test(String(l.msg)) && l.edgeNode === 'GW-IDS');
    expect(nameLog?.metric).toBe('Signals/x\\u{202e}y');
    const raw = JSON.stringify(f.logs());
    for (const c of ['\u202E', '\u200B', '\u2066', '\u200D', '\u061C', '\uFEFF'])
      expect(raw).not.toContain(c);
  });

  it('refuses string values longer than limits.maxStringBytes in UTF-8', async () => {
    const gw = await f.edge('E1', 'GW-STR');
    await gw.nbirth();
    await gw.dbirth('str-1', [
      { name: 'Signals/program', alias: 1, datatype: DataType.String, value: 'O1000' },
    ]);
    await waitFor(async () => (await f.hub.store.latest('E1', 'str-1')).length === 1, 'the birth value');
    const before = counters().oversizedValues;
    // 22 characters, 66 bytes: over 64 bytes though well under 64 characters.
    await gw.ddata('str-1', [{ alias: 1, datatype: DataType.String, value: '程'.repeat(22) }]);
    await gw.ddata('str-1', [{ alias: 1, datatype: DataType.String, value: 'x'.repeat(100_000) }]);
    await gw.ddata('str-1', [{ alias: 1, datatype: DataType.String, value: '程'.repeat(21) }]);
    await waitFor(async () => {
      const points = await f.hub.store.latest('E1', 'str-1');
      return points.some((p) => p.value === '程'.repeat(21));
    }, 'the 63-byte value stored');
    expect(counters().oversizedValues).toBe(before + 2);
    const stored = await f.hub.store.query({
      enterprise: 'E1',
      machine: 'str-1',
      metric: 'Signals/program',
      limit: 10,
    });
    expect(stored.map((p) => p.value)).toEqual(['O1000', '程'.repeat(21)]);
    expect(logged(/maxStringBytes/, { group: 'E1', edgeNode: 'GW-STR', device: 'str-1', limit: 64 })).toBe(
      true,
    );
  });

  it('acknowledges the journal position of a message it refused, so the gateway journal drains', async () => {
    const gw = await f.edge('E1', 'GW-J');
    await gw.publish(nodeTopic('E1', 'NBIRTH', 'GW-J'), {
      timestamp: Date.now(),
      seq: gw.seq.birth(),
      metrics: [
        { name: 'bdSeq', datatype: DataType.Int64, value: 0 },
        { name: JOURNAL_METRIC.id, datatype: DataType.String, value: 'journal-1' },
        { name: JOURNAL_METRIC.start, datatype: DataType.UInt64, value: 1 },
      ],
    });
    await waitFor(() => f.hub.host.acknowledged('E1', 'GW-J') === 0, 'the journal announced');
    const topic = deviceTopic('E1', 'DDATA', 'GW-J', 'j-1');
    const t0 = Date.now();
    await gw.publish(deviceTopic('E1', 'DBIRTH', 'GW-J', 'j-1'), {
      timestamp: Date.now(),
      seq: gw.seq.next(),
      journal: 1,
      metrics: [{ name: 'Signals/v', alias: 1, datatype: DataType.Double, value: 1, timestamp: t0 - 10 }],
    });
    const data = (journal: number, ts: number, payloadTs = Date.now()) =>
      gw.publish(topic, {
        timestamp: payloadTs,
        seq: gw.seq.next(),
        journal,
        metrics: [{ alias: 1, datatype: DataType.Double, value: journal, timestamp: ts }],
      });
    await data(2, t0 + 2);
    await data(3, t0 + 365 * DAY); // the metric's time refused
    await data(4, t0 + 4, t0 + 365 * DAY); // the payload's time refused: the whole message
    await data(5, t0 + 5);
    await waitFor(() => f.hub.host.acknowledged('E1', 'GW-J') === 5, 'position 5 acknowledged');
    await waitFor(
      () =>
        gw.commands.some((c) =>
          c.payload.metrics.some((m) => m.name === JOURNAL_METRIC.ack && Number(m.value) === 5),
        ),
      'the acknowledgement NCMD',
    );
    const stored = await f.hub.store.query({
      enterprise: 'E1',
      machine: 'j-1',
      metric: 'Signals/v',
      limit: 10,
    });
    expect(stored.map((p) => p.value)).toEqual([1, 2, 5]);
  });
});
