/**
 * An enterprise's ledger against what its gateways announced: the machines discovered from
 * births (kind, NC, robot, data depth from `Properties/*`), counted beside the declaration.
 * Retired machines are counted apart (`discovered.retired`), never in the other figures.
 */
import type { Ledger } from '../../protocol/index.js';
import { NO_ACTIVITY, officialCount } from '../stats/figures.js';
import type { Registry } from './registry.js';

export interface DiscoveredGroup {
  readonly kind: string | null;
  readonly nc: boolean | null;
  readonly robot: boolean | null;
  readonly dataDepth: string | null;
  readonly machines: number;
  readonly networked: number;
}

export interface MachineLedger {
  readonly enterprise: string;
  /** The current declaration; null when the group is no declared enterprise. */
  readonly declared: Ledger | null;
  readonly discovered: {
    /** Not retired. */
    readonly machines: number;
    readonly networked: number;
    /** By status (docs/statistics.md, "What is counted"); retired ones are in no other figure. */
    readonly confirmed: number;
    readonly unconfirmed: number;
    readonly retired: number;
    /** Networked machines that no operator confirmed. */
    readonly networkedUnconfirmed: number;
    /** Machines that announced NC / robot = true; unknown = announced neither way. */
    readonly nc: number;
    readonly robots: number;
    readonly unknownNc: number;
    readonly unknownRobot: number;
  };
  /** Discovered ÷ declared: how much of the ledger the hub has seen (null without a denominator). */
  readonly coverage: {
    readonly production: number | null;
    readonly nc: number | null;
    readonly robots: number | null;
  };
  /** What the statistics count: networked capped by the declared production equipment (0 undeclared). */
  readonly counted: { readonly networked: number; readonly beyondLedger: number };
  /**
   * More machines than declared production equipment, or more networked NC machines or robots
   * than declared: the ledger may be out of date, or machines were invented. The statistics'
   * flag of the same name.
   */
  readonly exceedsLedger: boolean;
  readonly byKind: readonly DiscoveredGroup[];
}

export function machineLedger(registry: Registry, enterprise: string, networkedSince: number): MachineLedger {
  const repository = registry.database.machines;
  const rows = repository.kindsOf(enterprise, networkedSince);
  const status = repository.statusCounts(enterprise, networkedSince);
  const byKind = rows.map((r) => ({
    kind: r.kind,
    nc: r.nc === null ? null : r.nc !== 0,
    robot: r.robot === null ? null : r.robot !== 0,
    dataDepth: r.data_depth,
    machines: r.machines,
    networked: r.networked,
  }));
  const sum = (f: (g: DiscoveredGroup) => number): number => byKind.reduce((a, g) => a + f(g), 0);
  const machines = sum((g) => g.machines);
  const confirmed = status?.confirmed ?? 0;
  const discovered = {
    machines,
    networked: sum((g) => g.networked),
    confirmed,
    unconfirmed: machines - confirmed,
    retired: status?.retired ?? 0,
    networkedUnconfirmed: status?.networked_unconfirmed ?? 0,
    nc: sum((g) => (g.nc === true ? g.machines : 0)),
    robots: sum((g) => (g.robot === true ? g.machines : 0)),
    unknownNc: sum((g) => (g.nc === null ? g.machines : 0)),
    unknownRobot: sum((g) => (g.robot === null ? g.machines : 0)),
  };
  const declared = registry.enterprise(enterprise)?.ledger ?? null;
  const counted = officialCount(declared ?? { productionEquipment: 0, ncEquipment: 0, robots: 0 }, {
    ...NO_ACTIVITY,
    machines,
    networked: discovered.networked,
    networkedNc: sum((g) => (g.nc === true ? g.networked : 0)),
    networkedRobots: sum((g) => (g.robot === true ? g.networked : 0)),
  });
  const cover = (n: number, d: number | undefined): number | null =>
    d === undefined || d === 0 ? null : n / d;
  return {
    enterprise,
    declared,
    discovered,
    coverage: {
      production: cover(discovered.machines, declared?.productionEquipment),
      nc: cover(discovered.nc, declared?.ncEquipment),
      robots: cover(discovered.robots, declared?.robots),
    },
    counted: { networked: counted.networked, beyondLedger: counted.beyondLedger },
    exceedsLedger: declared !== null && counted.exceedsLedger,
    byKind,
  };
}
