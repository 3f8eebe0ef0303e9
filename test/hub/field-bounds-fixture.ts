/**
 * A real hub for the field-bounds tests: embedded broker (anonymous, so a test client is any
 * gateway), HTTP API, small configured limits, a logger whose warn lines the test can read,
 * two declared enterprises: E1 (the attacker's credential) and E2 (untouched, with a live
 * machine on gateway GW-B whose figures must never move).
 */
import { pino } from 'pino';
import type { FieldLimits } from '../../hub/config.js';
import type { Hub } from '../../hub/hub.js';
import { DataType, type Metric } from '../../protocol/index.js';
import { apiToken, cncBirth, TestEdgeNode, tempDir, testHub, waitFor } from './helpers.js';

export interface LogLine {
  readonly level: number;
  readonly msg: string;
  readonly [field: string]: unknown;
}

export interface FieldHub {
  readonly hub: Hub;
  /** The untouched enterprise's gateway and machine (E2 / GW-B / b-1), born and running. */
  readonly live: TestEdgeNode;
  readonly admin: { authorization: string };
  /** GET a hub API path as admin; throws unless 200. */
  get<T>(path: string): Promise<T>;
  /** Warn-or-worse log lines so far. */
  logs(): LogLine[];
  /** A new edge node connected to the hub's broker (closed with the hub). */
  edge(group: string, edgeNode: string): Promise<TestEdgeNode>;
  /** One DDATA from the live machine: a new spindle speed; resolves when the store holds it. */
  tick(speed: number): Promise<void>;
  close(): Promise<void>;
}

export const LIVE = { group: 'E2', edgeNode: 'GW-B', machine: 'b-1' } as const;

const ledger = (code: string, name: string) => ({
  code,
  name,
  regionCode: 'yiwu',
  industryCode: 'hardware',
  backbone: false,
  ledger: { productionEquipment: 4, ncEquipment: 2, robots: 0 },
});

export async function startFieldHub(limits: Partial<FieldLimits>): Promise<FieldHub> {
  const dir = tempDir();
  const lines: string[] = [];
  const logger = pino({ level: 'warn' }, { write: (s: string) => void lines.push(s) });
  const hub = testHub(dir.path, {
    rebirthMinIntervalMs: 200,
    limits,
    logger,
  });
  await hub.start();
  hub.registry.upsertEnterprise(ledger('E1', '攻击者'), 'test');
  hub.registry.upsertEnterprise(ledger('E2', '未受影响'), 'test');
  const admin = apiToken(hub.registry);
  const base = `http://127.0.0.1:${hub.httpPort}`;
  const nodes: TestEdgeNode[] = [];
  const edge = async (group: string, edgeNode: string): Promise<TestEdgeNode> => {
    const n = new TestEdgeNode(group, edgeNode);
    await n.connect(hub.mqttUrl);
    nodes.push(n);
    return n;
  };
  const get = async <T>(path: string): Promise<T> => {
    // A generous bound: the point is that the hub answers at all while it is attacked.
    const res = await fetch(`${base}${path}`, { headers: admin, signal: AbortSignal.timeout(5_000) });
    if (res.status !== 200) throw new Error(`GET ${path}: ${res.status} ${await res.text()}`);
    return (await res.json()) as T;
  };
  const live = await edge(LIVE.group, LIVE.edgeNode);
  await live.nbirth();
  await live.dbirth(LIVE.machine, cncBirth(Date.now()));
  const tick = async (speed: number): Promise<void> => {
    const m: Metric = { alias: 6, datatype: DataType.Double, value: speed, timestamp: Date.now() };
    await live.ddata(LIVE.machine, [m]);
    await waitFor(async () => {
      const points = await hub.store.latest(LIVE.group, LIVE.machine);
      return points.some((p) => p.metric === 'Signals/spindleSpeed' && p.value === speed);
    }, `the live machine's spindle speed ${speed} in the store`);
  };
  await tick(1);
  return {
    hub,
    live,
    admin,
    get,
    edge,
    tick,
    logs: () => lines.map((l) => JSON.parse(l) as LogLine),
    close: async () => {
      for (const n of nodes.splice(0)) await n.close();
      await hub.close();
      dir.remove();
    },
  };
}

interface EnterpriseFigures {
  readonly code: string;
  readonly [figure: string]: unknown;
}

/** The untouched enterprise's figures in GET /api/v1/statistics. */
export async function liveFigures(f: FieldHub): Promise<EnterpriseFigures | undefined> {
  const stats = await f.get<{ byEnterprise: EnterpriseFigures[] }>('/api/v1/statistics');
  return stats.byEnterprise.find((e) => e.code === LIVE.group);
}
