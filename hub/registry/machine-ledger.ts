/**
 * An enterprise's ledger against what its gateways announced: the machines discovered from
 * births (kind, NC, robot, data depth from `Properties/*`), counted beside the declaration.
 */
import type { Ledger } from '../../protocol/index.js';
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
    readonly machines: number;
    readonly networked: number;
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
  /** Discovered beyond the declaration: the ledger may be out of date. */
  readonly exceedsLedger: boolean;
  readonly byKind: readonly DiscoveredGroup[];
}

export function machineLedger(registry: Registry, enterprise: string, networkedSince: number): MachineLedger {
  const rows = registry.database
    .prepare<
      [{ enterprise: string; since: number }],
      {
        kind: string | null;
        nc: number | null;
        robot: number | null;
        data_depth: string | null;
        machines: number;
        networked: number;
      }
    >(
      `SELECT kind, nc, robot, data_depth, count(*) AS machines,
         coalesce(sum(coalesce(last_sample_at, 0) >= @since), 0) AS networked
       FROM machines WHERE enterprise = @enterprise
       GROUP BY kind, nc, robot, data_depth ORDER BY kind, nc, robot, data_depth`,
    )
    .all({ enterprise, since: networkedSince });
  const byKind = rows.map((r) => ({
    kind: r.kind,
    nc: r.nc === null ? null : r.nc !== 0,
    robot: r.robot === null ? null : r.robot !== 0,
    dataDepth: r.data_depth,
    machines: r.machines,
    networked: r.networked,
  }));
  const sum = (f: (g: DiscoveredGroup) => number): number => byKind.reduce((a, g) => a + f(g), 0);
  const discovered = {
    machines: sum((g) => g.machines),
    networked: sum((g) => g.networked),
    nc: sum((g) => (g.nc === true ? g.machines : 0)),
    robots: sum((g) => (g.robot === true ? g.machines : 0)),
    unknownNc: sum((g) => (g.nc === null ? g.machines : 0)),
    unknownRobot: sum((g) => (g.robot === null ? g.machines : 0)),
  };
  const declared = registry.enterprise(enterprise)?.ledger ?? null;
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
    exceedsLedger:
      declared !== null &&
      (discovered.machines > declared.productionEquipment ||
        discovered.nc > declared.ncEquipment ||
        discovered.robots > declared.robots),
    byKind,
  };
}
