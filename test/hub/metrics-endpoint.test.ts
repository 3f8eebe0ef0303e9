/**
 * GET /metrics against a real hub (embedded broker, host, ingest, SQLite store) fed by a real
 * MQTT edge node: the exposition parses with a strict parser written here (and with
 * `promtool check metrics` where promtool is installed), the counters move by exactly what was
 * sent, a gateway's online gauge falls to 0 after its NDEATH, a malformed payload is counted,
 * and only operators and admins may read it.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connectAsync } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Hub } from '../../hub/hub.js';
import { exposition, METRICS_CONTENT_TYPE } from '../../hub/metrics/exposition.js';
import { DataType, type Metric } from '../../protocol/index.js';
import { apiToken, cncBirth, silentLogger, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

// ---- a strict parser of the text format 0.0.4 ---------------------------------------------

interface ParsedSample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

interface Parsed {
  readonly help: ReadonlyMap<string, string>;
  readonly type: ReadonlyMap<string, string>;
  readonly samples: readonly ParsedSample[];
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

function parseValue(text: string, line: number): number {
  if (text === 'NaN') return Number.NaN;
  if (text === '+Inf') return Number.POSITIVE_INFINITY;
  if (text === '-Inf') return Number.NEGATIVE_INFINITY;
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text))
    throw new Error(`line ${line}: bad value "${text}"`);
  return Number(text);
}

/** `{a="x",b="y\"z"}` after the name: the labels and where the braces end. */
function parseLabels(
  s: string,
  start: number,
  line: number,
): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = start + 1;
  for (;;) {
    if (s[i] === '}') return { labels, end: i + 1 };
    const eq = s.indexOf('=', i);
    if (eq < 0) throw new Error(`line ${line}: label without "="`);
    const name = s.slice(i, eq);
    if (!LABEL_NAME.test(name)) throw new Error(`line ${line}: bad label name "${name}"`);
    if (name in labels) throw new Error(`line ${line}: label ${name} twice`);
    if (s[eq + 1] !== '"') throw new Error(`line ${line}: label value not quoted`);
    let v = '';
    let j = eq + 2;
    for (; ; j++) {
      const c = s[j];
      if (c === undefined) throw new Error(`line ${line}: unterminated label value`);
      if (c === '"') break;
      if (c === '\n') throw new Error(`line ${line}: raw newline in a label value`);
      if (c === '\\') {
        const e = s[++j];
        if (e === '\\') v += '\\';
        else if (e === '"') v += '"';
        else if (e === 'n') v += '\n';
        else throw new Error(`line ${line}: bad escape \\${e ?? ''}`);
      } else v += c;
    }
    labels[name] = v;
    i = j + 1;
    if (s[i] === ',') i++;
    else if (s[i] !== '}') throw new Error(`line ${line}: expected "," or "}" after a label`);
  }
}

function familyOf(name: string, type: ReadonlyMap<string, string>): string {
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.slice(0, -suffix.length);
    if (name.endsWith(suffix) && ['histogram', 'summary'].includes(type.get(base) ?? '')) return base;
  }
  return name;
}

function parseExposition(text: string): Parsed {
  const help = new Map<string, string>();
  const type = new Map<string, string>();
  const samples: ParsedSample[] = [];
  const seenSeries = new Set<string>();
  if (!text.endsWith('\n')) throw new Error('the exposition does not end with a newline');
  const lines = text.slice(0, -1).split('\n');
  lines.forEach((l, idx) => {
    const n = idx + 1;
    if (l === '') return;
    if (l.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(l);
      if (m === null) return; // another comment
      const [, kind, name = '', rest = ''] = m;
      if (!NAME.test(name)) throw new Error(`line ${n}: bad metric name "${name}"`);
      if (kind === 'HELP') {
        if (help.has(name)) throw new Error(`line ${n}: second HELP for ${name}`);
        help.set(name, rest);
      } else {
        if (type.has(name)) throw new Error(`line ${n}: second TYPE for ${name}`);
        if (!TYPES.has(rest)) throw new Error(`line ${n}: bad type "${rest}"`);
        if (samples.some((s) => familyOf(s.name, type) === name)) {
          throw new Error(`line ${n}: TYPE of ${name} after its samples`);
        }
        type.set(name, rest);
      }
      return;
    }
    const nm = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(l);
    if (nm === null) throw new Error(`line ${n}: not a comment, blank or sample: ${l}`);
    const name = nm[0];
    let rest = l.slice(name.length);
    let labels: Record<string, string> = {};
    if (rest.startsWith('{')) {
      const p = parseLabels(l, name.length, n);
      labels = p.labels;
      rest = l.slice(p.end);
    }
    const vm = /^ (\S+)( -?\d+)?$/.exec(rest);
    if (vm === null) throw new Error(`line ${n}: no value: ${l}`);
    const series = `${name}${JSON.stringify(Object.entries(labels).sort())}`;
    if (seenSeries.has(series)) throw new Error(`line ${n}: series repeated: ${series}`);
    seenSeries.add(series);
    samples.push({ name, labels, value: parseValue(vm[1] ?? '', n) });
  });
  for (const s of samples) {
    const f = familyOf(s.name, type);
    if (!help.has(f)) throw new Error(`${s.name}: its family ${f} has no HELP`);
    if (!type.has(f)) throw new Error(`${s.name}: its family ${f} has no TYPE`);
  }
  return { help, type, samples };
}

/** The value of the one sample with exactly these labels; undefined when there is none. */
function sampleValue(p: Parsed, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return p.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)
    ?.value;
}

const PROMTOOL = spawnSync('sh', ['-c', 'command -v promtool'], { encoding: 'utf8' }).stdout.trim();

describe('the exposition writer', () => {
  it('escapes backslash, double quote and newline in label values, and newline in HELP', () => {
    const value = 'a\\b "c"\nd';
    const text = exposition([
      { name: 'x_total', type: 'counter', help: 'one\ntwo', samples: [{ labels: { v: value }, value: 1 }] },
    ]);
    expect(text).toBe(
      '# HELP x_total one\\ntwo\n# TYPE x_total counter\nx_total{v="a\\\\b \\"c\\"\\nd"} 1\n',
    );
    expect(parseExposition(text).samples[0]?.labels.v).toBe(value);
  });

  it('refuses a bad metric name, a bad label name and a family written twice', () => {
    expect(() => exposition([{ name: '1x', type: 'gauge', help: '', samples: [] }])).toThrow(/metric name/);
    expect(() =>
      exposition([{ name: 'x', type: 'gauge', help: '', samples: [{ labels: { 'a-b': '' }, value: 1 }] }]),
    ).toThrow(/label name/);
    const f = { name: 'x', type: 'gauge' as const, help: '', samples: [] };
    expect(() => exposition([f, f])).toThrow(/twice/);
  });
});

// ---- the hub --------------------------------------------------------------------------------

describe('GET /metrics', () => {
  const dir = tempDir();
  const hub = testHub(dir.path);
  const node = new TestEdgeNode('E001', 'GW-M', 3);
  let operator: { authorization: string };

  const get = (headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${hub.httpPort}/metrics`, { headers });
  const scrape = async (): Promise<Parsed> => {
    const r = await get(operator);
    expect(r.status).toBe(200);
    return parseExposition(await r.text());
  };
  const gw = { enterprise: 'E001', gateway: 'GW-M' };
  const ts = Date.now();
  /** A connection id with characters a label value must escape (a newline is refused as a metric name). */
  const oddConnection = 'plc "east"\\2';
  const nodeMetrics: Metric[] = [
    { name: 'Gateway/Samples', datatype: DataType.UInt64, value: 42, timestamp: ts },
    { name: 'Gateway/Queued', datatype: DataType.UInt64, value: 5, timestamp: ts },
    { name: 'Connections/plc/reads', datatype: DataType.UInt64, value: 7, timestamp: ts },
    // A journal: the hub tracks its backlog (no positions are sent, so nothing is acknowledged).
    { name: 'Journal/Id', datatype: DataType.String, value: 'j-metrics', timestamp: ts },
    { name: 'Journal/Start', datatype: DataType.UInt64, value: 1, timestamp: ts },
    { name: 'Journal/Backlog', datatype: DataType.UInt64, value: 4, timestamp: ts },
    { name: `Connections/${oddConnection}/errors`, datatype: DataType.UInt64, value: 2, timestamp: ts },
  ];

  beforeAll(async () => {
    await hub.start();
    operator = apiToken(hub.registry, 'operator');
    await node.connect(hub.mqttUrl);
    await node.nbirth(nodeMetrics);
    await node.dbirth('M1', cncBirth(ts));
    await waitFor(
      () => hub.registry.machine('E001', 'M1') !== undefined && hub.ingest.pendingSamples === 0,
      'the machine in the registry',
    );
  });

  afterAll(async () => {
    await node.close();
    await hub.close();
    dir.remove();
  });

  it('answers the text format 0.0.4 that a strict parser reads, every family with HELP and TYPE', async () => {
    const r = await get(operator);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe(METRICS_CONTENT_TYPE);
    const text = await r.text();
    const p = parseExposition(text);
    // Counters end in _total; every family named in the docs' sections is there.
    for (const [name, type] of p.type) {
      if (type === 'counter') expect(name, name).toMatch(/_total$/);
    }
    for (const name of [
      'wanji_build_info',
      'process_cpu_seconds_total',
      'process_resident_memory_bytes',
      'process_start_time_seconds',
      'nodejs_heap_size_used_bytes',
      'nodejs_eventloop_active_seconds_total',
      'wanji_mqtt_clients',
      'wanji_mqtt_messages_received_total',
      'wanji_mqtt_received_bytes_total',
      'wanji_mqtt_logins_refused_total',
      'wanji_sparkplug_messages_total',
      'wanji_host_malformed_payloads_total',
      'wanji_host_sequence_gaps_total',
      'wanji_ingest_samples_stored_total',
      'wanji_ingest_pending_samples',
      'wanji_ingest_store_write_duration_seconds',
      'wanji_registry_row_errors_total',
      'wanji_store_up',
      'wanji_health_degraded',
      'wanji_machines_networked',
      'wanji_enterprises',
      'wanji_gateway_online',
    ]) {
      expect(p.type.has(name), name).toBe(true);
    }
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(sampleValue(p, 'wanji_build_info', { version: pkg.version })).toBe(1);
    expect(sampleValue(p, 'wanji_store_up')).toBe(1);
    expect(sampleValue(p, 'wanji_health_degraded', { reason: 'store' })).toBe(0);
    expect(sampleValue(p, 'wanji_component_status', { component: 'host', status: 'up' })).toBe(1);
    // The host and the edge node.
    expect(sampleValue(p, 'wanji_mqtt_clients')).toBe(2);
    // The histogram's buckets are cumulative and end at +Inf = _count.
    const buckets = p.samples.filter((s) => s.name === 'wanji_ingest_store_write_duration_seconds_bucket');
    const counts = buckets.map((b) => b.value);
    expect(counts).toEqual([...counts].sort((a, b) => a - b));
    expect(buckets.at(-1)?.labels.le).toBe('+Inf');
    expect(buckets.at(-1)?.value).toBe(sampleValue(p, 'wanji_ingest_store_write_duration_seconds_count'));
    expect(sampleValue(p, 'wanji_ingest_store_write_duration_seconds_count')).toBeGreaterThan(0);

    if (PROMTOOL !== '') {
      // promtool reads the exposition from stdin and exits non-zero on a problem.
      execFileSync(PROMTOOL, ['check', 'metrics'], { input: text });
    }
  });

  it('lists in docs/metrics.md exactly the metric families it serves', async () => {
    const doc = readFileSync(new URL('../../docs/metrics.md', import.meta.url), 'utf8');
    const documented = new Set(
      [...doc.matchAll(/^\| `([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^`]*\})?` \|/gm)].map((m) => m[1] ?? ''),
    );
    const served = new Set((await scrape()).type.keys());
    expect(
      [...served].filter((n) => !documented.has(n)),
      'served, not documented',
    ).toEqual([]);
    expect(
      [...documented].filter((n) => !served.has(n)),
      'documented, not served',
    ).toEqual([]);
  });

  it('reports each gateway by enterprise and id, with its counters as it reports them, label values escaped', async () => {
    const p = await scrape();
    expect(sampleValue(p, 'wanji_gateway_online', gw)).toBe(1);
    expect(sampleValue(p, 'wanji_gateway_last_seen_timestamp_seconds', gw)).toBeGreaterThan(ts / 1000 - 60);
    expect(sampleValue(p, 'wanji_gateway_samples_total', gw)).toBe(42);
    expect(sampleValue(p, 'wanji_gateway_queued_messages', gw)).toBe(5);
    expect(
      sampleValue(p, 'wanji_gateway_connection_events_total', { ...gw, connection: 'plc', counter: 'reads' }),
    ).toBe(7);
    expect(
      sampleValue(p, 'wanji_gateway_connection_events_total', {
        ...gw,
        connection: oddConnection,
        counter: 'errors',
      }),
    ).toBe(2);
    expect(sampleValue(p, 'wanji_gateways', { state: 'online' })).toBe(1);
    expect(sampleValue(p, 'wanji_gateway_journal_backlog_messages', gw)).toBe(4);
    expect(sampleValue(p, 'wanji_gateway_journal_stalled', gw)).toBe(0);
    // Machines are never labels.
    expect(p.samples.some((s) => Object.values(s.labels).includes('M1'))).toBe(false);
  });

  it('moves the counters by exactly what was sent', async () => {
    const before = await scrape();
    const counter = (p: Parsed, name: string, labels: Record<string, string> = {}) =>
      sampleValue(p, name, labels) ?? 0;
    const ddata = (p: Parsed) => counter(p, 'wanji_sparkplug_messages_total', { type: 'DDATA' });
    const stored = (p: Parsed) => counter(p, 'wanji_ingest_samples_stored_total');
    for (let i = 1; i <= 3; i++) {
      await node.ddata('M1', [
        { alias: 6, datatype: DataType.Double, value: 100 * i, timestamp: Date.now() },
        { alias: 7, datatype: DataType.UInt32, value: 10 + i, timestamp: Date.now() },
      ]);
    }
    const after = await waitFor(async () => {
      const p = await scrape();
      return ddata(p) === ddata(before) + 3 && stored(p) === stored(before) + 6 ? p : undefined;
    }, 'three DDATA messages and their six samples stored');
    const delta = (name: string, labels: Record<string, string> = {}) =>
      counter(after, name, labels) - counter(before, name, labels);
    expect(delta('wanji_sparkplug_messages_total', { type: 'DDATA' })).toBe(3);
    expect(delta('wanji_sparkplug_messages_total', { type: 'DBIRTH' })).toBe(0);
    expect(delta('wanji_host_messages_total')).toBe(3);
    expect(delta('wanji_host_samples_total')).toBe(6);
    expect(delta('wanji_ingest_samples_stored_total')).toBe(6);
    expect(delta('wanji_ingest_samples_refused_total')).toBe(0);
    // Through the broker: three publishes in, each forwarded once (to the host).
    expect(delta('wanji_mqtt_messages_received_total')).toBe(3);
    expect(delta('wanji_mqtt_messages_sent_total')).toBe(3);
    expect(delta('wanji_mqtt_received_bytes_total')).toBeGreaterThan(3 * 20);
    expect(delta('wanji_mqtt_sent_bytes_total')).toBeGreaterThan(3 * 20);
    expect(delta('wanji_host_malformed_payloads_total')).toBe(0);
    // Reading did not reset anything: a second scrape reads the same counters.
    const again = await scrape();
    expect(counter(again, 'wanji_ingest_samples_stored_total')).toBe(stored(after));
    expect(ddata(again)).toBe(ddata(after));
  });

  it('counts a malformed payload', async () => {
    const malformed = (p: Parsed) => sampleValue(p, 'wanji_host_malformed_payloads_total') ?? 0;
    const before = malformed(await scrape());
    await node.publishRaw('spBv1.0/E001/DDATA/GW-M/M1', Buffer.from([0x12, 0xff, 0xff, 0xff, 0x0f, 0x01]));
    const after = await waitFor(async () => {
      const p = await scrape();
      return malformed(p) > before ? p : undefined;
    }, 'the malformed payload counted');
    expect(malformed(after)).toBe(before + 1);
  });

  it('admits operators and admins only: 403 for bureau and enterprise tokens, 401 without a token', async () => {
    expect((await get(apiToken(hub.registry, 'admin'))).status).toBe(200);
    const bureau = await get(apiToken(hub.registry, 'bureau'));
    expect(bureau.status).toBe(403);
    expect(await bureau.text()).not.toContain('wanji_');
    const enterprise = await get(apiToken(hub.registry, 'enterprise', { enterprise: 'E001' }));
    expect(enterprise.status).toBe(403);
    expect(await enterprise.text()).not.toContain('wanji_gateway');
    const none = await get();
    expect(none.status).toBe(401);
    expect(await none.text()).not.toContain('wanji_gateway');
  });

  it("turns the gateway's online gauge to 0 after its NDEATH", async () => {
    await node.ndeath(3);
    const p = await waitFor(async () => {
      const s = await scrape();
      return sampleValue(s, 'wanji_gateway_online', gw) === 0 ? s : undefined;
    }, "the gateway's NDEATH in /metrics");
    expect(sampleValue(p, 'wanji_gateways', { state: 'offline' })).toBe(1);
    expect(sampleValue(p, 'wanji_sparkplug_messages_total', { type: 'NDEATH' })).toBe(1);
    // Its machines count as offline now, whatever they last reported.
    expect(sampleValue(p, 'wanji_gateway_machines', { ...gw, health: 'online' })).toBe(0);
  });
});

describe('GET /metrics: refused MQTT logins', () => {
  const dir = tempDir();
  const hub = new Hub({ dataDir: dir.path, mqtt: { port: 0 }, http: { port: 0 }, logger: silentLogger() });

  beforeAll(async () => {
    await hub.start();
  });
  afterAll(async () => {
    await hub.close();
    dir.remove();
  });

  it('are counted by reason', async () => {
    const refused = async (opts: { username?: string; password?: string }): Promise<void> => {
      await expect(
        connectAsync(hub.mqttUrl, { ...opts, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5_000 }),
      ).rejects.toThrow();
    };
    await refused({});
    await refused({ username: 'nobody', password: 'wrong' });
    await refused({ username: 'nobody', password: 'wrong' });
    const r = await fetch(`http://127.0.0.1:${hub.httpPort}/metrics`, {
      headers: apiToken(hub.registry, 'admin'),
    });
    const p = parseExposition(await r.text());
    expect(sampleValue(p, 'wanji_mqtt_logins_refused_total', { reason: 'anonymous' })).toBe(1);
    expect(sampleValue(p, 'wanji_mqtt_logins_refused_total', { reason: 'unknown_user' })).toBe(2);
    expect(sampleValue(p, 'wanji_mqtt_logins_refused_total', { reason: 'bad_password' })).toBe(0);
  });
});
