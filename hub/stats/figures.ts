/**
 * The programme's figures for a set of enterprises (docs/domain.md): declared (申报) ledger totals
 * and measured (监测) machine counts side by side, rates pooled (Σ numerators ÷ Σ
 * denominators) and as the mean of the enterprises' own rates, and backbone compliance.
 *
 * What is counted (docs/statistics.md): each enterprise's measured counts are capped by its
 * own ledger before anything is summed or divided (officialCount), for this hub's enterprises
 * and for those a child hub reports alike, so no gateway credential can raise an enterprise,
 * a region, an industry or the city above what the enterprises declared, and no rate above 1.
 */
import type { Ledger } from '../../protocol/index.js';
import type { Activity } from '../registry/types.js';
import type { BackboneThresholds } from './programme.js';

/** The registry's word for measured counts, re-exported where the figures are made of it. */
export type { Activity };

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
  /** Measured: what its gateways announced, before the ledger cap. */
  readonly activity: Activity;
  /**
   * Networked machines no operator of this hub confirmed; undefined (a child hub's
   * enterprise, whose report carries no confirmations): all its networked machines.
   */
  readonly networkedUnconfirmed?: number;
  /** The child hub that reported it; undefined for this hub's own registry. */
  readonly via?: string;
}

/**
 * What the programme counts of one enterprise: its measured counts capped by its ledger
 * (networked ≤ declared production equipment, networked NC ≤ declared NC equipment, networked
 * robots ≤ declared robots, online ≤ networked, powered on ≤ online), beside the measured
 * figure and the excess, so nothing is hidden.
 */
export interface OfficialCount extends Activity {
  /** Networked machines as measured (not retired), before the cap. */
  readonly networkedMeasured: number;
  /** Of those, the ones no operator confirmed. */
  readonly networkedUnconfirmed: number;
  /** networkedMeasured − networked: measured but beyond the ledger, not counted. */
  readonly beyondLedger: number;
  /**
   * More machines (not retired) than declared production equipment, or more networked NC
   * machines or robots than declared: the ledger is out of date, or machines were invented.
   */
  readonly exceedsLedger: boolean;
}

/** A count from the registry or a child's report: a whole number ≥ 0, anything else 0. */
const count = (n: number | undefined): number =>
  n !== undefined && Number.isSafeInteger(n) && n > 0 ? n : 0;

export function officialCount(ledger: Ledger, activity: Activity, unconfirmed?: number): OfficialCount {
  const p = count(ledger.productionEquipment);
  const a = {
    machines: count(activity.machines),
    networked: count(activity.networked),
    online: count(activity.online),
    poweredOn: count(activity.poweredOn),
    networkedNc: count(activity.networkedNc),
    networkedRobots: count(activity.networkedRobots),
  };
  const networked = Math.min(a.networked, p);
  const online = Math.min(a.online, networked);
  return {
    machines: a.machines,
    networked,
    online,
    poweredOn: Math.min(a.poweredOn, online),
    networkedNc: Math.min(a.networkedNc, count(ledger.ncEquipment), networked),
    networkedRobots: Math.min(a.networkedRobots, count(ledger.robots), networked),
    networkedMeasured: a.networked,
    networkedUnconfirmed: Math.min(unconfirmed === undefined ? a.networked : count(unconfirmed), a.networked),
    beyondLedger: a.networked - networked,
    exceedsLedger:
      a.machines > p || a.networkedNc > count(ledger.ncEquipment) || a.networkedRobots > count(ledger.robots),
  };
}

export const officialCountOf = (e: EnterpriseInput): OfficialCount =>
  officialCount(e.ledger, e.activity, e.networkedUnconfirmed);

export type Population = 'all' | 'backbone';

export interface Figures {
  /** Which enterprises these figures cover. */
  readonly population: Population;
  readonly enterprises: number;
  readonly backboneEnterprises: number;
  /** Backbone enterprises with networking rate ≥ 50 % and NC rate ≥ 70 % (the registry's target rows, programme.ts). */
  readonly backboneMeetingTarget: number;
  /** Backbone enterprises meeting each threshold on its own: networking rate ≥ 50 %; NC rate ≥ 70 %. */
  readonly backboneMeetingNetworking: number;
  readonly backboneMeetingNc: number;
  /** Measured: machines the hub has seen and not retired. */
  readonly machines: number;
  /**
   * Counted: networked (networking window), online (online window), powered on, each
   * enterprise's capped by its ledger (OfficialCount) and then summed.
   */
  readonly networked: number;
  readonly online: number;
  readonly poweredOn: number;
  /** Counted: networked machines announcing themselves NC equipment / industrial robots. */
  readonly networkedNc: number;
  readonly networkedRobots: number;
  /** Measured networked machines before the cap; of those, unconfirmed ones; beyond the ledgers. */
  readonly networkedMeasured: number;
  readonly networkedUnconfirmed: number;
  readonly beyondLedger: number;
  /** Enterprises whose machines exceed their ledger (OfficialCount.exceedsLedger). */
  readonly enterprisesExceedingLedger: number;
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

/** An enterprise's own rates, of what is counted (never above 1). */
export function enterpriseRates(e: EnterpriseInput, t: BackboneThresholds) {
  const p = e.ledger.productionEquipment;
  const a = officialCountOf(e);
  const networkingRate = ratio(a.networked, p);
  const ncRate = ratio(e.ledger.ncEquipment, p);
  return {
    networkingRate,
    ncRate,
    onlineRate: ratio(a.online, a.networked),
    powerOnRate: ratio(a.poweredOn, a.networked),
    measuredNcRate: ratio(a.networkedNc, a.networked),
    meetsBackboneTarget: meetsTarget(networkingRate, ncRate, t),
  };
}

const atLeast = (rate: number | null, threshold: number): boolean => rate !== null && rate >= threshold;

export function meetsTarget(
  networkingRate: number | null,
  ncRate: number | null,
  t: BackboneThresholds,
): boolean {
  return atLeast(networkingRate, t.backboneNetworkingRate) && atLeast(ncRate, t.backboneNcRate);
}

export function figures(
  rows: readonly EnterpriseInput[],
  population: Population,
  /** The backbone thresholds in force (Registry.programmeAt: the registry's target rows). */
  t: BackboneThresholds,
): Figures {
  const counted = rows.map(officialCountOf);
  const sum = (f: (c: OfficialCount) => number): number => counted.reduce((acc, c) => acc + f(c), 0);
  const rates = rows.map((r) => ({ ...enterpriseRates(r, t), backbone: r.backbone }));
  const p = rows.reduce((acc, r) => acc + r.ledger.productionEquipment, 0);
  const nc = rows.reduce((acc, r) => acc + r.ledger.ncEquipment, 0);
  const networked = sum((c) => c.networked);
  const online = sum((c) => c.online);
  const poweredOn = sum((c) => c.poweredOn);
  const networkedNc = sum((c) => c.networkedNc);
  const backbone = rates.filter((r) => r.backbone);
  return {
    population,
    enterprises: rows.length,
    backboneEnterprises: backbone.length,
    backboneMeetingTarget: backbone.filter((r) => r.meetsBackboneTarget).length,
    backboneMeetingNetworking: backbone.filter((r) => atLeast(r.networkingRate, t.backboneNetworkingRate))
      .length,
    backboneMeetingNc: backbone.filter((r) => atLeast(r.ncRate, t.backboneNcRate)).length,
    machines: sum((c) => c.machines),
    networked,
    online,
    poweredOn,
    networkedNc,
    networkedRobots: sum((c) => c.networkedRobots),
    networkedMeasured: sum((c) => c.networkedMeasured),
    networkedUnconfirmed: sum((c) => c.networkedUnconfirmed),
    beyondLedger: sum((c) => c.beyondLedger),
    enterprisesExceedingLedger: counted.filter((c) => c.exceedsLedger).length,
    productionEquipment: p,
    ncEquipment: nc,
    robots: rows.reduce((acc, r) => acc + r.ledger.robots, 0),
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
