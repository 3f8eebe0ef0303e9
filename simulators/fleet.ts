/**
 * Generates a city's worth of simulated enterprises and machines from a seed: who declares what
 * (the ledger), which machines are networked, over which protocol, at which data depth.
 * Pure and deterministic: the same options give the same plan.
 */
import { type EnterpriseDeclaration, INDUSTRY_SEEDS, REGION_SEEDS } from '../protocol/domain.js';
import type { DataDepth } from '../protocol/machine.js';
import { companyName, kindMix } from './fleet-names.js';
import { MAX_UNIT_ID } from './modbus/register-map.js';
import type { SimKind } from './profiles/index.js';
import { hashString, mixSeed, Random } from './random.js';

export type SimProtocol = 'opcua' | 'modbus';

export interface FleetMachine {
  /** Unique city-wide and a valid Sparkplug id: "E001-CNC-003". */
  readonly id: string;
  readonly enterpriseCode: string;
  readonly kind: SimKind;
  readonly protocol: SimProtocol;
  /** Counts as NC (数控) equipment. */
  readonly nc: boolean;
  /** Counts as an industrial robot. */
  readonly robot: boolean;
  readonly dataDepth: DataDepth;
  /** Modbus only: which of the enterprise's Modbus servers (0-based; ≤ 247 units each). */
  readonly modbusServer?: number;
  /** Modbus only: unit id on that server, 1..247. */
  readonly unitId?: number;
  readonly seed: number;
}

export interface FleetPlan {
  readonly seed: number;
  readonly enterprises: readonly EnterpriseDeclaration[];
  readonly machines: readonly FleetMachine[];
}

export interface FleetOptions {
  /** Networked machines to simulate; default 100. */
  readonly machines?: number;
  readonly seed?: number;
  /** Default: one per ~50 machines, at least 3 (when there are machines enough for two each). */
  readonly enterprises?: number;
}

export const DEFAULT_FLEET_MACHINES = 100;
export const MAX_FLEET_MACHINES = 100_000;

const ID_TAG: Readonly<Record<SimKind, string>> = {
  cnc: 'CNC',
  injection: 'IMM',
  press: 'PRS',
  loom: 'LOOM',
  robot: 'RBT',
};

/** Share of each kind reached over OPC UA (the rest is Modbus). */
const OPCUA_SHARE: Readonly<Record<SimKind, number>> = {
  cnc: 0.6,
  injection: 0.7,
  robot: 0.5,
  press: 0.25,
  loom: 0.3,
};
/** Share of each kind that counts as NC equipment. */
const NC_SHARE: Readonly<Record<SimKind, number>> = {
  cnc: 1,
  robot: 1,
  injection: 0.85,
  loom: 0.6,
  press: 0.4,
};
/** Data depth mix per kind: [state, state+count, full]. */
const DEPTH_MIX: Readonly<Record<SimKind, readonly [number, number, number]>> = {
  cnc: [0.1, 0.3, 0.6],
  injection: [0.1, 0.3, 0.6],
  robot: [0.1, 0.2, 0.7],
  press: [0.3, 0.4, 0.3],
  loom: [0.3, 0.4, 0.3],
};

export function defaultEnterpriseCount(machines: number): number {
  if (machines < 2) return Math.max(1, machines);
  return Math.min(Math.floor(machines / 2), Math.max(3, Math.round(machines / 50)));
}

export function generateFleet(options: FleetOptions = {}): FleetPlan {
  const total = options.machines ?? DEFAULT_FLEET_MACHINES;
  const seed = (options.seed ?? 1) >>> 0;
  if (!Number.isInteger(total) || total < 1 || total > MAX_FLEET_MACHINES) {
    throw new RangeError(`machines must be an integer 1..${MAX_FLEET_MACHINES}; got ${total}`);
  }
  const count = options.enterprises ?? defaultEnterpriseCount(total);
  if (!Number.isInteger(count) || count < 1 || count > total) {
    throw new RangeError(
      `enterprises must be an integer 1..${total} (one machine each at least); got ${count}`,
    );
  }
  const rng = new Random(mixSeed(seed, 0x666c6565));
  const sizes = splitSizes(rng, total, count);
  const codeWidth = Math.max(3, String(count).length);
  const regions = spread(rng, REGION_SEEDS, count, 3);
  const industries = spread(rng, INDUSTRY_SEEDS, count, 2);
  const names = new Set<string>();
  // The biggest ~30 % of enterprises are backbone (骨干) enterprises.
  const bySize = sizes.map((n, i) => [n, i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  const backbone = new Set(bySize.slice(0, Math.max(1, Math.round(count * 0.3))).map(([, i]) => i));

  const enterprises: EnterpriseDeclaration[] = [];
  const machines: FleetMachine[] = [];
  for (let e = 0; e < count; e++) {
    const code = `E${String(e + 1).padStart(codeWidth, '0')}`;
    const region = regions[e]!;
    const industry = industries[e]!;
    const own = planMachines(rng, seed, code, industry.code, sizes[e]!);
    machines.push(...own);
    enterprises.push({
      code,
      name: companyName(rng, region, industry.code, names),
      regionCode: region.code,
      industryCode: industry.code,
      backbone: backbone.has(e),
      ledger: declareLedger(rng, own, backbone.has(e)),
    });
  }
  return { seed, enterprises, machines };
}

/** Splits total into count uneven sizes (a few big enterprises, many small), each ≥ 2 when possible. */
function splitSizes(rng: Random, total: number, count: number): number[] {
  const floor = total >= 2 * count ? 2 : 1;
  const weights = Array.from({ length: count }, () => Math.exp(rng.normal(0, 0.8)));
  const sum = weights.reduce((a, b) => a + b, 0);
  const spare = total - floor * count;
  const exact = weights.map((w) => (w / sum) * spare);
  const sizes = exact.map((x) => floor + Math.floor(x));
  let left = total - sizes.reduce((a, b) => a + b, 0);
  // Largest remainder, ties by index: deterministic.
  const order = exact
    .map((x, i) => [x - Math.floor(x), i] as const)
    .sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left <= 0) break;
    sizes[i]!++;
    left--;
  }
  return sizes;
}

/** count picks from items: the first `distinct` all different, the rest at random. */
function spread<T>(rng: Random, items: readonly T[], count: number, distinct: number): T[] {
  const shuffled = [...items];
  for (let i = shuffled.length - 1; i > 0; i--) {
    const j = rng.int(0, i);
    [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
  }
  return Array.from({ length: count }, (_, i) =>
    i < Math.min(distinct, shuffled.length) ? shuffled[i]! : rng.pick(items),
  );
}

function planMachines(
  rng: Random,
  seed: number,
  code: string,
  industryCode: string,
  n: number,
): FleetMachine[] {
  const mix = kindMix(industryCode);
  const kinds = Array.from({ length: n }, () => rng.weighted(mix));
  const protocols: SimProtocol[] = kinds.map((k) => (rng.chance(OPCUA_SHARE[k]) ? 'opcua' : 'modbus'));
  // Every enterprise with two machines or more speaks both protocols.
  if (n >= 2 && new Set(protocols).size === 1) {
    const i = rng.int(0, n - 1);
    protocols[i] = protocols[i] === 'opcua' ? 'modbus' : 'opcua';
  }
  const perKind = new Map<SimKind, number>();
  const width = Math.max(3, String(n).length);
  let modbusCount = 0;
  return kinds.map((kind, i) => {
    const number = (perKind.get(kind) ?? 0) + 1;
    perKind.set(kind, number);
    const id = `${code}-${ID_TAG[kind]}-${String(number).padStart(width, '0')}`;
    const [pState, pCount] = DEPTH_MIX[kind];
    const r = rng.next();
    const dataDepth: DataDepth = r < pState ? 'state' : r < pState + pCount ? 'state+count' : 'full';
    const protocol = protocols[i]!;
    const base = {
      id,
      enterpriseCode: code,
      kind,
      protocol,
      nc: rng.chance(NC_SHARE[kind]),
      robot: kind === 'robot',
      dataDepth,
      seed: mixSeed(seed, hashString(id)),
    };
    if (protocol === 'opcua') return base;
    const slot = modbusCount++;
    return { ...base, modbusServer: Math.floor(slot / MAX_UNIT_ID), unitId: (slot % MAX_UNIT_ID) + 1 };
  });
}

/**
 * What the enterprise declares. Not every machine it owns is networked, so the ledger counts
 * more production equipment than the fleet simulates; NC and robot counts cover at least the
 * simulated ones. Backbone enterprises network a larger share on average.
 */
function declareLedger(
  rng: Random,
  own: readonly FleetMachine[],
  backbone: boolean,
): EnterpriseDeclaration['ledger'] {
  const networkedShare = backbone ? rng.range(0.35, 0.95) : rng.range(0.15, 0.8);
  const productionEquipment = Math.max(own.length, Math.ceil(own.length / networkedShare));
  const unnetworked = productionEquipment - own.length;
  const ncSimulated = own.filter((m) => m.nc).length;
  const ncEquipment = Math.min(
    productionEquipment,
    ncSimulated + Math.round(unnetworked * rng.range(0.2, 0.8)),
  );
  const robotsSimulated = own.filter((m) => m.robot).length;
  const robots = Math.min(productionEquipment, robotsSimulated + Math.round(unnetworked * rng.range(0, 0.1)));
  return { productionEquipment, ncEquipment, robots };
}
