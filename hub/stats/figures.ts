/**
 * The programme's figures for a set of enterprises (DOMAIN.md): declared (申报) ledger totals
 * and measured (监测) machine counts side by side, rates pooled (Σ numerators ÷ Σ
 * denominators) and as the mean of the enterprises' own rates, and backbone compliance.
 */
import {
  BACKBONE_NC_RATE_TARGET,
  BACKBONE_NETWORKING_RATE_TARGET,
  type Ledger,
} from '../../protocol/index.js';

/** Measured machine counts of one enterprise (or one child hub's enterprise). */
export interface Activity {
  readonly machines: number;
  readonly networked: number;
  readonly online: number;
  readonly poweredOn: number;
  readonly networkedNc: number;
  readonly networkedRobots: number;
}

export const NO_ACTIVITY: Activity = {
  machines: 0,
  networked: 0,
  online: 0,
  poweredOn: 0,
  networkedNc: 0,
  networkedRobots: 0,
};

/** One declared enterprise with what the hub (or a child hub) measured of it. */
export interface EnterpriseInput {
  readonly code: string;
  readonly name: string;
  readonly regionCode: string;
  readonly industryCode: string;
  readonly backbone: boolean;
  readonly ledger: Ledger;
  readonly activity: Activity;
  /** The child hub that reported it; undefined for this hub's own registry. */
  readonly via?: string;
}

export type Population = 'all' | 'backbone';

export interface Figures {
  /** Which enterprises these figures cover. */
  readonly population: Population;
  readonly enterprises: number;
  readonly backboneEnterprises: number;
  /** Backbone enterprises with networking rate ≥ 50 % and NC rate ≥ 70 %. */
  readonly backboneMeetingTarget: number;
  /** Measured: machines the hub has seen, networked (networking window), online (online window). */
  readonly machines: number;
  readonly networked: number;
  readonly online: number;
  readonly poweredOn: number;
  /** Measured: networked machines announcing themselves NC equipment / industrial robots. */
  readonly networkedNc: number;
  readonly networkedRobots: number;
  /** Declared ledger totals. */
  readonly productionEquipment: number;
  readonly ncEquipment: number;
  readonly robots: number;
  /** Pooled rates, 0–1; null without a denominator. */
  readonly networkingRate: number | null;
  readonly ncRate: number | null;
  readonly onlineRate: number | null;
  readonly powerOnRate: number | null;
  /** Measured NC share: networked NC machines ÷ networked machines. */
  readonly measuredNcRate: number | null;
  /** Mean of the enterprises' own rates (those with a denominator). */
  readonly networkingRateMean: number | null;
  readonly ncRateMean: number | null;
  readonly onlineRateMean: number | null;
  readonly powerOnRateMean: number | null;
}

export const ratio = (num: number, den: number): number | null => (den > 0 ? num / den : null);

export function mean(values: readonly (number | null)[]): number | null {
  const xs = values.filter((v): v is number => v !== null);
  return xs.length === 0 ? null : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** An enterprise's own rates. */
export function enterpriseRates(e: EnterpriseInput) {
  const p = e.ledger.productionEquipment;
  const a = e.activity;
  const networkingRate = ratio(a.networked, p);
  const ncRate = ratio(e.ledger.ncEquipment, p);
  return {
    networkingRate,
    ncRate,
    onlineRate: ratio(a.online, a.networked),
    powerOnRate: ratio(a.poweredOn, a.networked),
    measuredNcRate: ratio(a.networkedNc, a.networked),
    meetsBackboneTarget: meetsTarget(networkingRate, ncRate),
  };
}

export function meetsTarget(networkingRate: number | null, ncRate: number | null): boolean {
  return (
    networkingRate !== null &&
    ncRate !== null &&
    networkingRate >= BACKBONE_NETWORKING_RATE_TARGET &&
    ncRate >= BACKBONE_NC_RATE_TARGET
  );
}

export function figures(rows: readonly EnterpriseInput[], population: Population): Figures {
  const sum = (f: (r: EnterpriseInput) => number): number => rows.reduce((acc, r) => acc + f(r), 0);
  const rates = rows.map((r) => ({ ...enterpriseRates(r), backbone: r.backbone }));
  const p = sum((r) => r.ledger.productionEquipment);
  const nc = sum((r) => r.ledger.ncEquipment);
  const networked = sum((r) => r.activity.networked);
  const online = sum((r) => r.activity.online);
  const poweredOn = sum((r) => r.activity.poweredOn);
  const networkedNc = sum((r) => r.activity.networkedNc);
  const backbone = rates.filter((r) => r.backbone);
  return {
    population,
    enterprises: rows.length,
    backboneEnterprises: backbone.length,
    backboneMeetingTarget: backbone.filter((r) => r.meetsBackboneTarget).length,
    machines: sum((r) => r.activity.machines),
    networked,
    online,
    poweredOn,
    networkedNc,
    networkedRobots: sum((r) => r.activity.networkedRobots),
    productionEquipment: p,
    ncEquipment: nc,
    robots: sum((r) => r.ledger.robots),
    networkingRate: ratio(networked, p),
    ncRate: ratio(nc, p),
    onlineRate: ratio(online, networked),
    powerOnRate: ratio(poweredOn, networked),
    measuredNcRate: ratio(networkedNc, networked),
    networkingRateMean: mean(rates.map((r) => r.networkingRate)),
    ncRateMean: mean(rates.map((r) => r.ncRate)),
    onlineRateMean: mean(rates.map((r) => r.onlineRate)),
    powerOnRateMean: mean(rates.map((r) => r.powerOnRate)),
  };
}
