/** The statistics as flat tables, for export (export.ts) in CSV or XLSX. */

import type { Cell, Column, Table } from './export.js';
import type { SnapshotRow } from './snapshot.js';
import type { EnterpriseDay } from './state-time.js';
import type { GroupStats, StatsReport } from './stats.js';

const FIGURE_COLUMNS: readonly Column[] = [
  { key: 'enterprises', title: 'enterprises' },
  { key: 'backboneEnterprises', title: 'backbone enterprises' },
  { key: 'backboneMeetingTarget', title: 'backbone meeting target' },
  { key: 'productionEquipment', title: 'declared production equipment' },
  { key: 'ncEquipment', title: 'declared NC equipment' },
  { key: 'robots', title: 'declared robots' },
  { key: 'machines', title: 'machines seen' },
  { key: 'networked', title: 'networked' },
  { key: 'networkedMeasured', title: 'networked (measured)' },
  { key: 'networkedUnconfirmed', title: 'networked unconfirmed' },
  { key: 'beyondLedger', title: 'beyond the ledger (not counted)' },
  { key: 'enterprisesExceedingLedger', title: 'enterprises exceeding their ledger' },
  { key: 'online', title: 'online' },
  { key: 'poweredOn', title: 'powered on' },
  { key: 'networkedNc', title: 'networked NC' },
  { key: 'networkedRobots', title: 'networked robots' },
  { key: 'networkingRate', title: 'networking rate (pooled)', rate: true },
  { key: 'ncRate', title: 'NC rate (pooled, declared)', rate: true },
  { key: 'measuredNcRate', title: 'NC share of networked (measured)', rate: true },
  { key: 'onlineRate', title: 'online rate (pooled)', rate: true },
  { key: 'powerOnRate', title: 'power-on rate (pooled)', rate: true },
  { key: 'networkingRateMean', title: 'networking rate (mean of enterprises)', rate: true },
  { key: 'ncRateMean', title: 'NC rate (mean of enterprises)', rate: true },
  { key: 'onlineRateMean', title: 'online rate (mean of enterprises)', rate: true },
  { key: 'powerOnRateMean', title: 'power-on rate (mean of enterprises)', rate: true },
];

const pick = (o: object, keys: readonly string[]): Record<string, Cell> => {
  const rec = o as Record<string, unknown>;
  return Object.fromEntries(keys.map((k) => [k, (rec[k] ?? null) as Cell]));
};

function groupTable(name: string, groups: readonly GroupStats[]): Table {
  const keys = FIGURE_COLUMNS.map((c) => c.key);
  return {
    name,
    columns: [
      { key: 'code', title: 'code' },
      { key: 'nameZh', title: '名称' },
      { key: 'nameEn', title: 'name' },
      { key: 'population', title: 'population' },
      ...FIGURE_COLUMNS,
    ],
    rows: groups.flatMap((g) => [
      { code: g.code, nameZh: g.nameZh, nameEn: g.nameEn, population: 'all', ...pick(g, keys) },
      { code: g.code, nameZh: g.nameZh, nameEn: g.nameEn, population: 'backbone', ...pick(g.backbone, keys) },
    ]),
  };
}

export const EXPORT_TABLES = ['city', 'regions', 'industries', 'enterprises', 'state-time', 'trend'] as const;
export type ExportTable = (typeof EXPORT_TABLES)[number];

export function statsTable(which: 'city' | 'regions' | 'industries' | 'enterprises', s: StatsReport): Table {
  if (which === 'city') return groupTable('city', [s.city]);
  if (which === 'regions') return groupTable('regions', s.byRegion);
  if (which === 'industries') return groupTable('industries', s.byIndustry);
  const columns: Column[] = [
    { key: 'code', title: 'code' },
    { key: 'name', title: 'name' },
    { key: 'region', title: 'region' },
    { key: 'industry', title: 'industry' },
    { key: 'backbone', title: 'backbone' },
    { key: 'productionEquipment', title: 'declared production equipment' },
    { key: 'ncEquipment', title: 'declared NC equipment' },
    { key: 'robots', title: 'declared robots' },
    { key: 'machines', title: 'machines seen' },
    { key: 'networked', title: 'networked' },
    { key: 'networkedMeasured', title: 'networked (measured)' },
    { key: 'networkedUnconfirmed', title: 'networked unconfirmed' },
    { key: 'beyondLedger', title: 'beyond the ledger (not counted)' },
    { key: 'exceedsLedger', title: 'exceeds its ledger' },
    { key: 'online', title: 'online' },
    { key: 'poweredOn', title: 'powered on' },
    { key: 'networkedNc', title: 'networked NC' },
    { key: 'networkedRobots', title: 'networked robots' },
    { key: 'networkingRate', title: 'networking rate', rate: true },
    { key: 'ncRate', title: 'NC rate (declared)', rate: true },
    { key: 'measuredNcRate', title: 'NC share of networked (measured)', rate: true },
    { key: 'onlineRate', title: 'online rate', rate: true },
    { key: 'powerOnRate', title: 'power-on rate', rate: true },
    { key: 'meetsBackboneTarget', title: 'meets backbone target' },
    { key: 'via', title: 'via child hub' },
  ];
  return {
    name: 'enterprises',
    columns,
    rows: s.byEnterprise.map((e) =>
      pick(
        e,
        columns.map((c) => c.key),
      ),
    ),
  };
}

const h = (ms: number): number => Math.round((ms / 3_600_000) * 1000) / 1000;

/** Per enterprise and day (what the aggregate level may see; per machine is fleet data). */
export function stateTimeTable(days: readonly EnterpriseDay[]): Table {
  const states = ['running', 'idle', 'alarm', 'stopped', 'powered_off', 'offline'];
  return {
    name: 'state-time',
    columns: [
      { key: 'day', title: 'day' },
      { key: 'enterprise', title: 'enterprise' },
      { key: 'machines', title: 'machines' },
      ...states.map((s) => ({ key: s, title: `${s} (h)` })),
      { key: 'poweredOn', title: 'powered on (h)' },
      { key: 'utilisation', title: 'utilisation', rate: true },
      { key: 'powerOnTimeRate', title: 'power-on time rate', rate: true },
    ],
    rows: days.map((d) => ({
      day: d.day,
      enterprise: d.enterprise,
      machines: d.machines,
      ...Object.fromEntries(states.map((s) => [s, h(d.ms[s] ?? 0)])),
      poweredOn: h(d.poweredOnMs),
      utilisation: d.utilisation,
      powerOnTimeRate: d.powerOnTimeRate,
    })),
  };
}

export function trendTable(rows: readonly SnapshotRow[]): Table {
  const keys = [
    'networked',
    'networkedMeasured',
    'beyondLedger',
    'exceedsLedger',
    'enterprisesExceedingLedger',
    'online',
    'poweredOn',
    'productionEquipment',
    'ncEquipment',
    'robots',
  ];
  const rates = [
    'networkingRate',
    'ncRate',
    'onlineRate',
    'powerOnRate',
    'networkingRateMean',
    'ncRateMean',
    'utilisation',
  ];
  return {
    name: 'trend',
    columns: [
      { key: 'day', title: 'day' },
      { key: 'level', title: 'level' },
      { key: 'code', title: 'code' },
      ...keys.map((k) => ({ key: k, title: k })),
      ...rates.map((k) => ({ key: k, title: k, rate: true })),
    ],
    rows: rows.map((r) => ({
      day: r.day,
      level: r.level,
      code: r.code,
      ...pick(r.figures, [...keys, ...rates]),
    })),
  };
}
