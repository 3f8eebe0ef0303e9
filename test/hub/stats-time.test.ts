/**
 * Time in each machine state per local day and utilisation (稼动率), daily snapshots and their
 * trends, and exports as CSV and XLSX.
 */
import ExcelJS from 'exceljs';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApi } from '../../hub/api/app.js';
import { Hub } from '../../hub/hub.js';
import { dayStart, localDay, splitByDay } from '../../hub/registry/days.js';
import { parseCsv } from '../../hub/registry/import-file.js';
import { Registry } from '../../hub/registry/registry.js';
import type { RegistryEvent } from '../../hub/registry/types.js';
import { SnapshotTimer, takeSnapshot, trend } from '../../hub/stats/snapshot.js';
import { enterpriseDays, machineDays } from '../../hub/stats/state-time.js';
import { computeStats, DEFAULT_WINDOWS } from '../../hub/stats/stats.js';
import { createStore } from '../../hub/store/index.js';
import type { SampleStore } from '../../hub/store/types.js';
import type { Clock } from '../../protocol/clock.js';
import { DataType } from '../../protocol/index.js';
import { ManualClock } from '../support/manual-clock.js';
import { apiToken, cncBirth, silentLogger, TestEdgeNode, tempDir, waitFor } from './helpers.js';

const H = 3_600_000;
const OFFSET = 480; // China Standard Time
const D = '2023-11-15';
const D0 = dayStart(D, OFFSET); // local midnight starting D
const at = (hours: number): number => D0 + hours * H;

describe('local days', () => {
  it('start at local midnight and split spans there', () => {
    expect(new Date(D0).toISOString()).toBe('2023-11-14T16:00:00.000Z');
    expect(localDay(D0 - 1, OFFSET)).toBe('2023-11-14');
    expect(localDay(D0, OFFSET)).toBe(D);
    expect(splitByDay(at(22), at(26), OFFSET)).toEqual([
      [D, 2 * H],
      ['2023-11-16', 2 * H],
    ]);
    expect(splitByDay(at(5), at(5), OFFSET)).toEqual([]);
  });
});

describe('time in each state and utilisation', () => {
  const dir = tempDir();
  let now = at(0);
  // Reports hours apart stand for a machine heard all along: silence is the next test's subject.
  const reg = new Registry({
    path: `${dir.path}/registry.db`,
    logger: silentLogger(),
    clock: () => now,
    utcOffsetMin: OFFSET,
    onlineWindowMs: 24 * H,
  });
  const events = (...e: RegistryEvent[]) => reg.applyIngest({ events: e, devices: [], gateways: [] });
  const state = (machine: string, s: string, hours: number, gateway = 'gw') =>
    reg.applyIngest({
      events: [],
      devices: [
        {
          enterprise: 'E',
          machine,
          gateway,
          seenAt: at(hours),
          sampleAt: at(hours),
          state: s,
          stateAt: at(hours),
        },
      ],
      gateways: [],
    });
  const seen = (machine: string, hours: number, gateway = 'gw') =>
    reg.applyIngest({
      events: [],
      devices: [{ enterprise: 'E', machine, gateway, seenAt: at(hours) }],
      gateways: [],
    });
  const birth = (device: string, hours: number, edgeNode = 'gw'): RegistryEvent => ({
    type: 'deviceBirth',
    group: 'E',
    edgeNode,
    device,
    at: at(hours),
    properties: {},
  });

  beforeAll(async () => {
    await reg.start();
    reg.upsertEnterprise(
      {
        code: 'E',
        name: 'E',
        regionCode: 'yiwu',
        industryCode: 'nev',
        backbone: false,
        ledger: { productionEquipment: 3, ncEquipment: 1, robots: 0 },
      },
      't',
    );
    // m1: idle 6–8, running 8–12, alarm 12–12.5, running 12.5–20, powered off 20–26, running from 26.
    events(birth('m1', 6));
    state('m1', 'idle', 6);
    state('m1', 'running', 8);
    state('m1', 'alarm', 12);
    state('m1', 'running', 12.5);
    state('m1', 'running', 15); // the same state again: no new interval
    state('m1', 'idle', 11); // a late report from before the last change: counts nothing backwards
    state('m1', 'powered_off', 20);
    state('m1', 'running', 26);
    // m2: running 10–14, dead (DDEATH) 14–15, reborn and idle from 15; a state sent before its death
    // in the same batch opens nothing.
    events(birth('m2', 10));
    state('m2', 'running', 10);
    reg.applyIngest({
      events: [{ type: 'deviceDeath', group: 'E', edgeNode: 'gw', device: 'm2', at: at(14) }],
      devices: [
        {
          enterprise: 'E',
          machine: 'm2',
          gateway: 'gw',
          seenAt: at(13.9),
          state: 'alarm',
          stateAt: at(13.9),
        },
      ],
      gateways: [],
    });
    events(birth('m2', 15));
    state('m2', 'idle', 15);
    // m3 on gateway gw2: running from 9 until its gateway's NDEATH at 11.
    events({ type: 'nodeBirth', group: 'E', edgeNode: 'gw2', bdSeq: 1, at: at(9) }, birth('m3', 9, 'gw2'));
    state('m3', 'running', 9, 'gw2');
    events({ type: 'nodeDeath', group: 'E', edgeNode: 'gw2', bdSeq: 1, at: at(11) });
    now = at(36); // D+1, 12:00
    seen('m1', 36);
    seen('m2', 30); // silent since D+1 06:00 (beyond the online window): offline after that
  });
  afterAll(async () => {
    await reg.close();
    dir.remove();
  });

  it('counts each state per machine per local day, closed and open intervals alike', () => {
    const days = machineDays(reg, { day: D, now, windows: DEFAULT_WINDOWS });
    const m = Object.fromEntries(days.map((d) => [d.machine, d]));
    expect(m.m1!.ms).toMatchObject({
      idle: 2 * H,
      running: 11.5 * H,
      alarm: 0.5 * H,
      powered_off: 4 * H,
      offline: 0,
    });
    expect(m.m1!.poweredOnMs).toBe(14 * H);
    expect(m.m1!.calendarMs).toBe(24 * H);
    expect(m.m1!.utilisation).toBeCloseTo(11.5 / 14, 12);
    expect(m.m1!.powerOnTimeRate).toBeCloseTo(14 / 24, 12);
    expect(m.m2!.ms).toMatchObject({ running: 4 * H, offline: 1 * H, idle: 9 * H, alarm: 0 });
    expect(m.m3!.ms).toMatchObject({ running: 2 * H, offline: 13 * H });
    const next = Object.fromEntries(
      machineDays(reg, { day: '2023-11-16', now, windows: DEFAULT_WINDOWS }).map((d) => [d.machine, d]),
    );
    expect(next.m1!.ms).toMatchObject({ powered_off: 2 * H, running: 10 * H });
    expect(next.m1!.calendarMs).toBe(12 * H);
    expect(next.m2!.ms).toMatchObject({ idle: 6 * H, offline: 6 * H });
    expect(next.m3!.ms).toMatchObject({ offline: 12 * H });
  });

  it('sums per enterprise: utilisation pooled over its machines', () => {
    const [e] = enterpriseDays(machineDays(reg, { day: D, now, windows: DEFAULT_WINDOWS }));
    expect(e).toMatchObject({ enterprise: 'E', machines: 3 });
    const running = 11.5 + 4 + 2;
    const on = 14 + 4 + 9 + 2;
    expect(e!.utilisation).toBeCloseTo(running / on, 12);
  });

  it('keeps a snapshot per day for trends; the midnight timer labels the day that ended', async () => {
    const s1 = takeSnapshot(reg, at(23), DEFAULT_WINDOWS, D);
    expect(s1.day).toBe(D);
    const fired: { fn: () => void; ms: number }[] = [];
    let now = at(30); // D+1 06:00
    const clock: Clock = {
      now: () => now,
      setTimeout: (fn, ms) => fired.push({ fn, ms }),
      clearTimeout: () => undefined,
    };
    const timer = new SnapshotTimer({
      registry: reg,
      windows: DEFAULT_WINDOWS,
      logger: silentLogger(),
      clock,
    });
    await timer.start();
    expect(fired[0]!.ms).toBe(18 * H); // to D+2 00:00
    now = at(48) + 2_000; // the timer fires a little late
    fired[0]!.fn();
    await timer.close();
    const rows = trend(reg, { level: 'enterprise', code: 'E' });
    expect(rows.map((r) => r.day)).toEqual([D, '2023-11-16']);
    expect(rows[0]!.figures).toMatchObject({ code: 'E', productionEquipment: 3 });
    // Taken at 23:00: m2's open idle interval counts 15:00–23:00.
    expect(rows[0]!.figures.utilisation as number).toBeCloseTo(17.5 / 28, 12);
    expect(trend(reg, { level: 'city', from: '2023-11-16' }).map((r) => r.day)).toEqual(['2023-11-16']);
    expect(trend(reg, { level: 'region', code: 'yiwu' })).toHaveLength(2);
    // A scoped caller sees its own rows only.
    expect(trend(reg, { level: 'region', code: 'yiwu', scope: { regions: ['panan'] } })).toEqual([]);
    const panan = trend(reg, { level: 'region', scope: { regions: ['panan'] } });
    expect(new Set(panan.map((r) => r.code))).toEqual(new Set(['panan']));
    expect(trend(reg, { level: 'city', scope: { regions: ['panan'] } })).toEqual([]);
    expect(trend(reg, { level: 'enterprise', scope: { enterprises: ['other'] } })).toEqual([]);
  });
});

describe('time in each state when a machine falls silent', () => {
  const dir = tempDir();
  const reg = new Registry({
    path: `${dir.path}/registry.db`,
    logger: silentLogger(),
    clock: () => at(10),
    utcOffsetMin: OFFSET,
    onlineWindowMs: 1.5 * H, // reports an hour apart: heard all along; two hours: silent
  });
  const seen = (machine: string, hours: number, s?: string) =>
    reg.applyIngest({
      events: [],
      devices: [
        {
          enterprise: 'E',
          machine,
          gateway: 'gw',
          seenAt: at(hours),
          sampleAt: at(hours),
          ...(s === undefined ? {} : { state: s, stateAt: at(hours) }),
        },
      ],
      gateways: [],
    });
  const event = (e: RegistryEvent) => reg.applyIngest({ events: [e], devices: [], gateways: [] });
  beforeAll(async () => {
    await reg.start();
    for (const m of ['s1', 's2', 's3']) {
      event({ type: 'deviceBirth', group: 'E', edgeNode: 'gw', device: m, at: at(2), properties: {} });
      seen(m, 2, 'running');
      seen(m, 3);
    }
    seen('s1', 7); // data again after 4 silent hours, no state: it was offline meanwhile
    seen('s1', 8);
    seen('s1', 9, 'idle');
    seen('s1', 10);
    event({ type: 'deviceDeath', group: 'E', edgeNode: 'gw', device: 's2', at: at(6) }); // dead, silent since 3
    // The hub was down from 3 to 5: the gateway's births come back with the machine idle.
    event({ type: 'deviceBirth', group: 'E', edgeNode: 'gw', device: 's3', at: at(5), properties: {} });
    seen('s3', 5, 'idle');
    for (const h of [6, 7, 8, 9, 10]) seen('s3', h);
  });
  afterAll(async () => {
    await reg.close();
    dir.remove();
  });

  it('counts the silence as offline, not as the state before it', () => {
    const m = Object.fromEntries(
      machineDays(reg, { day: D, now: at(10), windows: DEFAULT_WINDOWS }).map((d) => [d.machine, d]),
    );
    expect(m.s1!.ms).toMatchObject({ running: 3 * H, offline: 4 * H, idle: 1 * H });
    expect(m.s2!.ms).toMatchObject({ running: 1 * H, offline: 7 * H });
    expect(m.s3!.ms).toMatchObject({ running: 1 * H, offline: 2 * H, idle: 5 * H });
  });
});

describe('state time through a real hub', () => {
  const dir = tempDir();
  // The hub's time moves only when the test says: the states last exactly as long as advanced.
  const clock = new ManualClock();
  const hub = new Hub({
    dataDir: dir.path,
    mqtt: { port: 0, allowAnonymous: true },
    http: { port: 0 },
    flushIntervalMs: 20,
    logger: silentLogger(),
    clock,
  });
  const node = new TestEdgeNode('acme', 'gw', 1);
  beforeAll(async () => {
    await hub.start();
    await node.connect(hub.mqttUrl);
  });
  afterAll(async () => {
    await node.close();
    await hub.close();
    dir.remove();
  });

  it('accumulates idle then running from the State metric the gateway publishes', async () => {
    /** `state` at the hub: the registry has it once the ingest has flushed. */
    const reached = (state: string) =>
      waitFor(async () => {
        await hub.flush();
        return hub.registry.machine('acme', 'm')?.state === state;
      }, `the ${state} state`);
    await node.nbirth();
    await node.dbirth('m', cncBirth(clock.now())); // State: idle
    await reached('idle');
    clock.advance(150);
    await node.ddata('m', [
      { alias: 5, datatype: DataType.String, value: 'running', timestamp: clock.now() },
    ]);
    await reached('running');
    clock.advance(100);
    await node.ddata('m', [{ alias: 5, datatype: DataType.String, value: 'alarm', timestamp: clock.now() }]);
    await reached('alarm');
    const [d] = machineDays(hub.registry, {
      day: localDay(clock.now(), 480),
      now: clock.now(),
      windows: hub.windows,
    });
    // On the hub's manual clock the spans are exact (they were only ordered on the wall clock).
    expect(d!.ms).toMatchObject({ idle: 150, running: 100 });
    expect(d!.ms.idle).toBeGreaterThan(0);
    expect(d!.ms.running).toBeGreaterThan(0);
    expect(d!.utilisation).toBeGreaterThan(0);
    expect(d!.utilisation).toBeLessThan(1);
  });
});

describe('statistics API: exports, snapshots, trends', () => {
  const dir = tempDir();
  const logger = silentLogger();
  const NOW = at(12);
  const reg = new Registry({
    path: `${dir.path}/registry.db`,
    logger,
    clock: () => NOW,
    utcOffsetMin: OFFSET,
  });
  let store: SampleStore;
  let app: FastifyInstance;

  beforeAll(async () => {
    await reg.start();
    store = createStore({ type: 'sqlite' }, { dataDir: dir.path, logger });
    await store.start();
    const declare = (code: string, regionCode: string, backbone: boolean, p: number, nc: number) =>
      reg.upsertEnterprise(
        {
          code,
          name: `${code} 有限公司`,
          regionCode,
          industryCode: 'nev',
          backbone,
          ledger: { productionEquipment: p, ncEquipment: nc, robots: 1 },
        },
        't',
      );
    declare('A', 'yiwu', true, 4, 3);
    declare('B', 'yiwu', false, 10, 2);
    declare('C', 'panan', true, 2, 2);
    const birth = (group: string, device: string): RegistryEvent => ({
      type: 'deviceBirth',
      group,
      edgeNode: 'gw',
      device,
      at: NOW - 60_000,
      properties: {},
    });
    reg.applyIngest({
      events: [birth('A', 'a1'), birth('A', 'a2'), birth('B', 'b1'), birth('C', 'c1')],
      devices: ['a1', 'a2', 'b1', 'c1'].map((m) => ({
        enterprise: m.slice(0, 1).toUpperCase(),
        machine: m,
        gateway: 'gw',
        seenAt: NOW - 60_000,
        sampleAt: NOW - 60_000,
        state: 'running',
      })),
      gateways: [],
    });
    app = buildApi({
      registry: reg,
      store,
      logger,
      clock: () => NOW,
      windows: DEFAULT_WINDOWS,
      health: () => ({ components: {} as never, counters: {} }),
    });
    await app.ready();
  });
  afterAll(async () => {
    await app.close();
    await store.close();
    await reg.close();
    dir.remove();
  });

  it('exports the region table as CSV: every figure for all and backbone enterprises', async () => {
    const res = await app.inject({
      url: '/api/v1/statistics/export?table=regions&format=csv',
      headers: apiToken(reg, 'bureau'),
    });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/csv/);
    expect(res.headers['content-disposition']).toMatch(/wanji-regions-2023-11-15\.csv/);
    const [header, ...rows] = parseCsv(res.body.replace(/^\uFEFF/, '').trimEnd());
    const col = (name: string) => header!.indexOf(name);
    const yiwu = rows.filter((r) => r.at(-1) === 'yiwu');
    expect(yiwu.map((r) => r[col('统计口径')])).toEqual(['全部企业', '骨干企业']);
    expect(yiwu[0]![col('区县')]).toBe('义乌市');
    expect(Number(yiwu[0]![col('联网设备数')])).toBe(3);
    // CSV rates are percentages rounded to one decimal (XLSX keeps the fraction).
    expect(yiwu[0]![col('设备联网率')]).toBe('21.4%'); // 3 / 14
    expect(yiwu[0]![col('设备联网率（企业均值）')]).toBe('30.0%'); // (2/4 + 1/10) / 2
    expect(Number(yiwu[1]![col('联网设备数')])).toBe(2);
    expect(Number(yiwu[1]![col('达标骨干企业数')])).toBe(1);
  });

  it('exports the enterprise table as XLSX, narrowed to a bureau token’s regions', async () => {
    const res = await app.inject({
      url: '/api/v1/statistics/export?table=enterprises&format=xlsx',
      headers: apiToken(reg, 'bureau', { regions: ['panan'] }),
    });
    expect(res.statusCode).toBe(200);
    const wb = new ExcelJS.Workbook();
    await wb.xlsx.load(res.rawPayload as unknown as ArrayBuffer);
    const sheet = wb.worksheets[0]!;
    const header = (sheet.getRow(1).values as unknown[]).slice(1);
    expect(header.slice(0, 3)).toEqual(['企业名称', '区县', '行业']);
    expect(sheet.rowCount).toBe(3); // C and the 合计 row
    const row = (sheet.getRow(2).values as unknown[]).slice(1);
    expect(row.slice(0, 3)).toEqual(['C 有限公司', '磐安县', '新能源汽车及配件']);
    expect(row[header.indexOf('企业代码')]).toBe('C');
    expect(row[header.indexOf('设备联网率')]).toBeCloseTo(0.5, 12);
    expect(row[header.indexOf('达到骨干企业目标')]).toBe('是');
  });

  it('takes a snapshot on demand (manage) and serves it as a trend and a trend export', async () => {
    const bureau = apiToken(reg, 'bureau');
    expect(
      (await app.inject({ method: 'POST', url: '/api/v1/statistics/snapshots', headers: bureau })).statusCode,
    ).toBe(403);
    const taken = await app.inject({
      method: 'POST',
      url: '/api/v1/statistics/snapshots',
      headers: apiToken(reg, 'operator'),
    });
    expect(taken.json()).toMatchObject({ day: D });
    const t = await app.inject({ url: '/api/v1/statistics/trend?level=city', headers: bureau });
    expect(t.json().snapshots).toMatchObject([
      { day: D, level: 'city', figures: { networked: 4, enterprises: 3 } },
    ]);
    const csv = await app.inject({
      url: '/api/v1/statistics/export?table=trend&level=enterprise',
      headers: bureau,
    });
    const [, ...rows] = parseCsv(csv.body.replace(/^\uFEFF/, '').trimEnd());
    expect(rows.map((r) => [r[0], r.at(-1), r[3]])).toEqual([
      [D, 'A', '2'],
      [D, 'B', '1'],
      [D, 'C', '1'],
    ]);
    const bad = await app.inject({ url: '/api/v1/statistics/export?table=secrets', headers: bureau });
    expect(bad.statusCode).toBe(400);
    const own = apiToken(reg, 'enterprise', { enterprise: 'B' });
    const elsewhere = await app.inject({ url: '/api/v1/statistics/state-time?enterprise=A', headers: own });
    expect(elsewhere.statusCode).toBe(404);
    const mine = await app.inject({ url: '/api/v1/statistics/state-time?enterprise=B', headers: own });
    expect(mine.json()).toMatchObject({ day: D, enterprises: [{ enterprise: 'B', machines: 1 }] });
    const perMachine = await app.inject({ url: '/api/v1/statistics/state-time/machines', headers: bureau });
    expect(perMachine.statusCode).toBe(403); // per machine is fleet data, not for the bureau
    const badDay = await app.inject({
      url: "/api/v1/statistics/state-time?day=2023-11-15'--",
      headers: bureau,
    });
    expect(badDay.statusCode).toBe(400);
  });

  it('serves the full statistics with populations and windows, narrowed to an enterprise token', async () => {
    const all = (await app.inject({ url: '/api/v1/statistics', headers: apiToken(reg, 'bureau') })).json();
    expect(all.city).toMatchObject({
      population: 'all',
      networked: 4,
      backbone: { population: 'backbone', networked: 3 },
    });
    expect(all.windows).toEqual({
      networkingMs: DEFAULT_WINDOWS.networkingMs,
      onlineMs: DEFAULT_WINDOWS.onlineMs,
    });
    expect(all).toEqual(JSON.parse(JSON.stringify(computeStats(reg, NOW, DEFAULT_WINDOWS))));
    const own = (
      await app.inject({
        url: '/api/v1/statistics',
        headers: apiToken(reg, 'enterprise', { enterprise: 'B' }),
      })
    ).json();
    expect(own.byEnterprise.map((e: { code: string }) => e.code)).toEqual(['B']);
    expect(own.networked).toBe(1);
  });
});
