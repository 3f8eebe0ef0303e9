/**
 * Issue 9, property test: a seeded generator throws random topics, ids, timestamps and payload
 * shapes (valid, refused and garbage) at a real hub's broker, host and ingest, as one gateway
 * credential could. Between bursts the untouched enterprise's live machine must still be stored
 * and the API must answer; at the end its figures are exactly what they were, nothing in the
 * registry carries an unsafe id or a state day after today, and no handler or registry batch
 * failed. A failure prints the seed; WANJI_FUZZ_SEED=<n> replays it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawSqliteForTests } from '../../hub/database/database.js';
import { localDay } from '../../hub/registry/days.js';
import {
  DataType,
  encodePayload,
  invalidIdReason,
  MACHINE_STATES,
  type Metric,
  type MetricValue,
  type Payload,
} from '../../protocol/index.js';
import { seeded } from '../support/seeded.js';
import { type FieldHub, LIVE, liveFigures, startFieldHub } from './field-bounds-fixture.js';
import type { TestEdgeNode } from './helpers.js';

const DAY = 86_400_000;
const SEED = Number(process.env.WANJI_FUZZ_SEED ?? 20_261_206);
const BURSTS = 8;
const PER_BURST = 250;

function generator(seed: number) {
  const next = seeded(seed);
  const int = (n: number): number => Math.floor(next() * n);
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T;
  const chance = (p: number): boolean => next() < p;
  return { next, int, pick, chance };
}
type Gen = ReturnType<typeof generator>;

const UNSAFE = [
  '\u202E',
  '\u202A',
  '\u2066',
  '\u2069',
  '\u200E',
  '\u061C',
  '\u200B',
  '\u200D',
  '\u2060',
  '\uFEFF',
  '\u0007',
  '\u0085',
];

const ALPHABET = ['a', 'Z', '0', '-', '.', '_', ' ', '程', '机', '😀', 'é', ...UNSAFE];

function text(g: Gen, max: number): string {
  return Array.from({ length: g.int(max) }, () => g.pick(ALPHABET)).join('');
}

/** Ids the attacker uses: mostly plausible, some invalid, never the untouched enterprise's. */
function id(g: Gen, pool: readonly string[]): string {
  if (g.chance(0.7)) return g.pick(pool);
  if (g.chance(0.3)) return 'x'.repeat(60 + g.int(10));
  const s = text(g, 12);
  return s === LIVE.group ? 'E1' : s;
}

function timestamp(g: Gen, now: number): number | undefined {
  switch (g.int(9)) {
    case 0:
      return undefined;
    case 1:
      return now + 1_000_000 * DAY;
    case 2:
      return 8.64e15 - g.int(1_000);
    case 3:
      return 0;
    case 4:
      return now - 40 * DAY;
    case 5:
      return 2 ** 63 + g.int(1_000);
    case 6:
      return now + g.int(30) * 60_000;
    default:
      return now - g.int(3_600_000);
  }
}

function value(g: Gen, now: number): { datatype: DataType; value: MetricValue } {
  switch (g.int(8)) {
    case 0:
      return { datatype: DataType.String, value: g.chance(0.5) ? g.pick(MACHINE_STATES) : text(g, 8) };
    case 1:
      return { datatype: DataType.String, value: text(g, 200) };
    case 2:
      return { datatype: DataType.Int32, value: g.int(1_000_000) - 500_000 };
    case 3:
      return { datatype: DataType.Double, value: g.next() * 1e6 };
    case 4:
      return { datatype: DataType.Boolean, value: g.chance(0.5) };
    case 5:
      return { datatype: DataType.DateTime, value: timestamp(g, now) ?? now };
    case 6:
      return { datatype: DataType.Int64, value: BigInt(g.int(1_000_000)) * 1_000_000_000_000n };
    default:
      return { datatype: DataType.Text, value: g.chance(0.5) ? null : 'O1000' };
  }
}

const NAMES = [
  'State',
  'Signals/spindleSpeed',
  'Signals/partCount',
  'Properties/Kind',
  'Properties/NC',
  'bdSeq',
];

function metrics(g: Gen, now: number, n: number): Metric[] {
  return Array.from({ length: n }, () => {
    const byAlias = g.chance(0.3);
    const name = g.chance(0.8) ? g.pick(NAMES) : g.chance(0.5) ? text(g, 20) : 'n'.repeat(250 + g.int(20));
    const ts = timestamp(g, now);
    const v = value(g, now);
    return {
      ...(byAlias ? { alias: g.int(8) } : { name, alias: g.int(8) }),
      ...v,
      ...(ts === undefined ? {} : { timestamp: ts }),
      ...(g.chance(0.1) ? { isHistorical: true } : {}),
      ...(g.chance(0.05) ? { isTransient: true } : {}),
    };
  });
}

const TYPES = ['NBIRTH', 'NDATA', 'NDEATH', 'DBIRTH', 'DDATA', 'DDATA', 'DDATA', 'DDEATH', 'DBIRTH'] as const;

/** One message: a topic (possibly malformed) and its bytes (possibly garbage). */
function message(g: Gen, now: number): { topic: string; payload: Buffer } {
  const type = g.pick(TYPES);
  const group = g.chance(0.85) ? 'E1' : id(g, ['E1', 'E9', '金华']);
  const node = id(g, ['F1', 'F2', 'F3']);
  const device = id(g, ['m1', 'm2', 'm3', '机床-1', `d${g.int(40)}`]);
  let topic = type.startsWith('N')
    ? `spBv1.0/${group}/${type}/${node}`
    : `spBv1.0/${group}/${type}/${node}/${device}`;
  if (g.chance(0.03)) topic = `spBv1.0/${text(g, 30)}`;
  // A wildcard in a topic name breaks MQTT itself: the broker drops the client for it.
  else if (g.chance(0.01)) topic = `${topic}/${g.pick(['+', '#', '/', 'a/+'])}`;
  if (g.chance(0.05))
    return { topic, payload: Buffer.from(Array.from({ length: g.int(64) }, () => g.int(256))) };
  const payload: Payload = {
    ...(g.chance(0.8) ? { timestamp: timestamp(g, now) ?? now } : {}),
    seq: type === 'NBIRTH' ? 0 : g.int(256),
    metrics: [
      ...(type === 'NBIRTH' || type === 'NDEATH'
        ? [{ name: 'bdSeq', datatype: DataType.Int64, value: BigInt(g.int(4)) }]
        : []),
      ...metrics(g, now, g.chance(0.1) ? 40 + g.int(20) : g.int(8)),
    ],
    ...(g.chance(0.2) ? { journal: 1 + g.int(1_000) } : {}),
  };
  try {
    return { topic, payload: Buffer.from(encodePayload(payload)) };
  } catch {
    return { topic, payload: Buffer.from(text(g, 40)) };
  }
}

describe(`random field input never moves an untouched enterprise (seed ${SEED})`, () => {
  let f: FieldHub;
  let attacker: TestEdgeNode;

  beforeAll(async () => {
    f = await startFieldHub({ maxDevicesPerGateway: 6, maxMetricsPerDevice: 30, maxStringBytes: 128 });
    attacker = await f.edge('E1', 'F1');
  }, 20_000);
  afterAll(async () => {
    await f?.close();
  });

  it('keeps the hub answering and the untouched figures fixed', async () => {
    const g = generator(SEED);
    let reconnects = 0;
    const before = await liveFigures(f);
    expect(before).toMatchObject({ code: LIVE.group });
    for (let burst = 0; burst < BURSTS; burst++) {
      for (let i = 0; i < PER_BURST; i++) {
        const m = message(g, Date.now());
        // The broker drops a client that breaks MQTT itself (a wildcard or NUL in a topic): the
        // attacker comes back, as a real one would.
        if (!attacker.client.connected) {
          attacker = await f.edge('E1', 'F1');
          reconnects++;
        }
        attacker.client.publish(m.topic, m.payload, { qos: 0 });
        await new Promise((r) => setImmediate(r));
      }
      // Responsive: the live machine's next value is stored, and the API answers.
      await f.tick(1_000 + burst);
      const health = await f.get<{ counters: { host: Record<string, number> } }>('/healthz');
      expect(health.counters.host.messages).toBeGreaterThan(0);
    }
    expect(await liveFigures(f)).toEqual(before);
    const host = f.hub.host.counters;
    expect(host.handlerErrors).toBe(0);
    // The generator really did reach each refusal.
    expect(host.timestampsRefused).toBeGreaterThan(0);
    expect(host.malformedTopics).toBeGreaterThan(0);
    expect(host.malformedPayloads).toBeGreaterThan(0);
    expect(host.oversizedValues).toBeGreaterThan(0);
    expect(host.invalidMetricNames).toBeGreaterThan(0);
    expect(host.birthsRefused).toBeGreaterThan(0);
    expect(host.devicesRefused).toBeGreaterThan(0);
    expect(reconnects).toBeGreaterThanOrEqual(0);
    const ingest = f.hub.ingest.counters as unknown as Record<string, number>;
    expect(ingest.registryErrors ?? 0).toBe(0);
    for (const m of f.hub.registry.machines({})) {
      expect(invalidIdReason(m.enterprise), m.enterprise).toBeUndefined();
      expect(invalidIdReason(m.id), m.id).toBeUndefined();
    }
    const today = localDay(Date.now(), f.hub.registry.utcOffsetMin);
    const late = rawSqliteForTests(f.hub.registry.database)
      .prepare('SELECT COUNT(*) AS n FROM machine_state_time WHERE day > ?')
      .get(today) as { n: number };
    expect(late.n).toBe(0);
    const samples = await f.hub.store.query({
      enterprise: 'E1',
      machine: 'm1',
      metric: 'State',
      limit: 10_000,
    });
    for (const p of samples)
      expect(p.ts).toBeLessThanOrEqual(Date.now() + f.hub.config.limits.maxFutureSkewMs);
  }, 30_000);
});
