/**
 * The statistics as tables for people (docs/statistics.md "Export"), written by export.ts as
 * CSV or XLSX: headers in the reader's language (zh-CN or en), names instead of codes (the
 * codes last, for programs), 是/否 for yes and no, rates as fractions marked `rate` (shown as
 * percentages), and a 合计 / Total row where a sum means something. The total row never
 * recomputes a figure: its counts and pooled rates are the statistics' own city figures (the
 * caller's scope), the same numbers `GET /api/v1/statistics` answers.
 */

import { MACHINE_STATE_ZH, MACHINE_STATES, type MachineState } from '../../protocol/index.js';
import type { Cell, Column, Table } from './export.js';
import type { SnapshotRow } from './snapshot.js';
import { type EnterpriseDay, enterpriseDays, type MachineDay } from './state-time.js';
import type { GroupStats, StatsReport, StatsWindows } from './stats.js';

export const EXPORT_TABLES = ['city', 'regions', 'industries', 'enterprises', 'state-time', 'trend'] as const;
export type ExportTable = (typeof EXPORT_TABLES)[number];

/** The languages of an export (the web app passes its own); Chinese by default. */
export const EXPORT_LANGS = ['zh-CN', 'en'] as const;
export type ExportLang = (typeof EXPORT_LANGS)[number];

/** A text in both languages. */
export interface Bilingual {
  readonly zh: string;
  readonly en: string;
}

const t = (zh: string, en: string): Bilingual => ({ zh, en });
export const say = (lang: ExportLang, text: Bilingual): string => (lang === 'en' ? text.en : text.zh);

const YES_NO = { true: t('是', 'Yes'), false: t('否', 'No') };
const yesNo = (lang: ExportLang, v: unknown): Cell =>
  typeof v === 'boolean' ? say(lang, v ? YES_NO.true : YES_NO.false) : null;

/** The total row's label; the registry import skips a row named so (hub/registry/import.ts). */
export const TOTAL = t('合计', 'Total');

/**
 * Every column title. The enterprise table's name, region, industry, backbone, ledger and code
 * titles are ones the registry import accepts (IMPORT_COLUMNS in hub/registry/import.ts), in
 * both languages, so an exported enterprise table imports back as it is.
 */
const TITLES = {
  enterpriseName: t('企业名称', 'Enterprise name'),
  enterpriseCode: t('企业代码', 'Enterprise code'),
  region: t('区县', 'Region'),
  regionCode: t('区县代码', 'Region code'),
  industry: t('行业', 'Industry'),
  industryCode: t('行业代码', 'Industry code'),
  scope: t('范围', 'Scope'),
  scopeCode: t('范围代码', 'Scope code'),
  population: t('统计口径', 'Enterprises counted'),
  backbone: t('骨干企业', 'Backbone'),
  enterprises: t('企业数', 'Enterprises'),
  backboneEnterprises: t('骨干企业数', 'Backbone enterprises'),
  backboneMeetingTarget: t('达标骨干企业数', 'Backbone enterprises meeting the target'),
  backboneMeetingNetworking: t('联网率达标骨干企业数', 'Backbone enterprises meeting the networking rate'),
  backboneMeetingNc: t('数控化率达标骨干企业数', 'Backbone enterprises meeting the NC rate'),
  productionEquipment: t('生产设备数', 'Production equipment'),
  ncEquipment: t('数控设备数', 'NC equipment'),
  robots: t('工业机器人数', 'Robots'),
  machines: t('已发现设备数', 'Machines seen'),
  networked: t('联网设备数', 'Networked machines'),
  networkedMeasured: t('监测联网设备数', 'Networked machines (measured)'),
  networkedUnconfirmed: t('其中未确认', 'Of which unconfirmed'),
  beyondLedger: t('超出台账设备数（未计入）', 'Beyond the ledger (not counted)'),
  enterprisesExceedingLedger: t('超出台账企业数', 'Enterprises exceeding their ledger'),
  exceedsLedger: t('超出台账', 'Exceeds its ledger'),
  online: t('在线设备数', 'Online machines'),
  poweredOn: t('开机设备数', 'Powered-on machines'),
  networkedNc: t('联网数控设备数', 'Networked NC machines'),
  networkedRobots: t('联网机器人数', 'Networked robots'),
  networkingRate: t('设备联网率', 'Networking rate'),
  ncRate: t('数控化率（申报）', 'NC rate (declared)'),
  measuredNcRate: t('联网设备数控占比（监测）', 'NC share of networked (measured)'),
  onlineRate: t('在线率', 'Online rate'),
  powerOnRate: t('开机率', 'Power-on rate'),
  networkingRateMean: t('设备联网率（企业均值）', 'Networking rate (mean of enterprises)'),
  ncRateMean: t('数控化率（企业均值）', 'NC rate (mean of enterprises)'),
  onlineRateMean: t('在线率（企业均值）', 'Online rate (mean of enterprises)'),
  powerOnRateMean: t('开机率（企业均值）', 'Power-on rate (mean of enterprises)'),
  meetsBackboneTarget: t('达到骨干企业目标', 'Meets the backbone target'),
  via: t('上报的下级平台', 'Via child hub'),
  day: t('日期', 'Day'),
  level: t('层级', 'Level'),
  name: t('名称', 'Name'),
  code: t('代码', 'Code'),
  stateMachines: t('设备数', 'Machines'),
  poweredOnHours: t('开机（小时）', 'Powered on (h)'),
  utilisation: t('稼动率', 'Utilisation'),
  powerOnTimeRate: t('开机时间率', 'Power-on time rate'),
} as const;
type TitleKey = keyof typeof TITLES;

const RATES: ReadonlySet<string> = new Set([
  'networkingRate',
  'ncRate',
  'measuredNcRate',
  'onlineRate',
  'powerOnRate',
  'networkingRateMean',
  'ncRateMean',
  'onlineRateMean',
  'powerOnRateMean',
  'utilisation',
  'powerOnTimeRate',
]);
const BOOLEANS: ReadonlySet<string> = new Set(['backbone', 'exceedsLedger', 'meetsBackboneTarget']);

const column = (lang: ExportLang, key: TitleKey, title: TitleKey = key): Column => ({
  key,
  title: say(lang, TITLES[title]),
  ...(RATES.has(key) ? { rate: true } : {}),
});

/** The value of `key` in `o` as a cell: booleans as 是/否, anything but text and numbers empty. */
function cellOf(lang: ExportLang, o: object, key: string): Cell {
  const v = (o as Record<string, unknown>)[key];
  if (BOOLEANS.has(key)) return yesNo(lang, v);
  return typeof v === 'number' || typeof v === 'string' ? v : null;
}
const cells = (lang: ExportLang, o: object, keys: readonly string[]): Record<string, Cell> =>
  Object.fromEntries(keys.map((k) => [k, cellOf(lang, o, k)]));

const FIGURE_KEYS = [
  'enterprises',
  'backboneEnterprises',
  'backboneMeetingTarget',
  'backboneMeetingNetworking',
  'backboneMeetingNc',
  'productionEquipment',
  'ncEquipment',
  'robots',
  'machines',
  'networked',
  'networkedMeasured',
  'networkedUnconfirmed',
  'beyondLedger',
  'enterprisesExceedingLedger',
  'online',
  'poweredOn',
  'networkedNc',
  'networkedRobots',
  'networkingRate',
  'ncRate',
  'measuredNcRate',
  'onlineRate',
  'powerOnRate',
  'networkingRateMean',
  'ncRateMean',
  'onlineRateMean',
  'powerOnRateMean',
] as const satisfies readonly TitleKey[];

const POPULATION = { all: t('全部企业', 'All'), backbone: t('骨干企业', 'Backbone') };

const GROUPS = {
  city: { sheet: t('全市', 'City'), name: 'scope', code: 'scopeCode' },
  regions: { sheet: t('区县', 'Regions'), name: 'region', code: 'regionCode' },
  industries: { sheet: t('行业', 'Industries'), name: 'industry', code: 'industryCode' },
} as const satisfies Record<string, { sheet: Bilingual; name: TitleKey; code: TitleKey }>;

/** Each group twice (all enterprises, backbone ones); regions and industries end with the scope's total. */
function groupTable(lang: ExportLang, which: keyof typeof GROUPS, s: StatsReport): Table {
  const g = GROUPS[which];
  const groups: readonly GroupStats[] =
    which === 'city' ? [s.city] : which === 'regions' ? s.byRegion : s.byIndustry;
  const rowsOf = (name: string, code: string | null, f: GroupStats) => [
    { name, population: say(lang, POPULATION.all), ...cells(lang, f, FIGURE_KEYS), code },
    { name, population: say(lang, POPULATION.backbone), ...cells(lang, f.backbone, FIGURE_KEYS), code },
  ];
  return {
    name: say(lang, g.sheet),
    columns: [
      column(lang, 'name', g.name),
      column(lang, 'population'),
      ...FIGURE_KEYS.map((k) => column(lang, k)),
      column(lang, 'code', g.code),
    ],
    rows: groups.flatMap((x) => rowsOf(lang === 'en' ? x.nameEn : x.nameZh, x.code, x)),
    // The city is the total of its regions (every enterprise has one) and of its industries.
    ...(which === 'city' ? {} : { totals: rowsOf(say(lang, TOTAL), null, s.city) }),
  };
}

/** Region and industry names by code, in one language. */
export interface Names {
  readonly region: (code: string) => string;
  readonly industry: (code: string) => string;
}

const ENTERPRISE_FIGURES = [
  'productionEquipment',
  'ncEquipment',
  'robots',
  'machines',
  'networked',
  'networkedMeasured',
  'networkedUnconfirmed',
  'beyondLedger',
  'exceedsLedger',
  'online',
  'poweredOn',
  'networkedNc',
  'networkedRobots',
  'networkingRate',
  'ncRate',
  'measuredNcRate',
  'onlineRate',
  'powerOnRate',
  'meetsBackboneTarget',
  'via',
] as const satisfies readonly TitleKey[];

/** The figures of the enterprise table a total means something for: sums, and the pooled rates. */
const ENTERPRISE_TOTALS = ENTERPRISE_FIGURES.filter(
  (k) => k !== 'exceedsLedger' && k !== 'meetsBackboneTarget' && k !== 'via',
);

function enterpriseTable(lang: ExportLang, s: StatsReport, names: Names): Table {
  return {
    name: say(lang, t('企业', 'Enterprises')),
    columns: [
      column(lang, 'name', 'enterpriseName'),
      column(lang, 'region'),
      column(lang, 'industry'),
      column(lang, 'backbone'),
      ...ENTERPRISE_FIGURES.map((k) => column(lang, k)),
      column(lang, 'code', 'enterpriseCode'),
      column(lang, 'regionCode'),
      column(lang, 'industryCode'),
    ],
    rows: s.byEnterprise.map((e) => ({
      name: e.name,
      region: names.region(e.region),
      industry: names.industry(e.industry),
      backbone: yesNo(lang, e.backbone),
      ...cells(lang, e, ENTERPRISE_FIGURES),
      code: e.code,
      regionCode: e.region,
      industryCode: e.industry,
    })),
    totals: [{ name: say(lang, TOTAL), ...cells(lang, s.city, ENTERPRISE_TOTALS) }],
  };
}

export function statsTable(
  lang: ExportLang,
  which: 'city' | 'regions' | 'industries' | 'enterprises',
  s: StatsReport,
  names: Names,
): Table {
  return which === 'enterprises' ? enterpriseTable(lang, s, names) : groupTable(lang, which, s);
}

const STATE_NAMES: Readonly<Record<MachineState, Bilingual>> = Object.fromEntries(
  MACHINE_STATES.map((st) => [
    st,
    t(MACHINE_STATE_ZH[st], `${st[0]!.toUpperCase()}${st.slice(1).replace('_', ' ')}`),
  ]),
) as Record<MachineState, Bilingual>;

const hours = (ms: number): number => Math.round((ms / 3_600_000) * 1000) / 1000;

function stateTimeRow(d: EnterpriseDay): Record<string, Cell> {
  return {
    day: d.day,
    stateMachines: d.machines,
    ...Object.fromEntries(MACHINE_STATES.map((st) => [st, hours(d.ms[st] ?? 0)])),
    poweredOnHours: hours(d.poweredOnMs),
    utilisation: d.utilisation,
    powerOnTimeRate: d.powerOnTimeRate,
  };
}

/**
 * Per enterprise for one day (what the aggregate level may see; per machine is fleet data).
 * The total pools every machine of the scope the way each enterprise's row pools its own
 * (state-time.ts enterpriseDays): Σ running ÷ Σ powered-on time.
 */
export function stateTimeTable(
  lang: ExportLang,
  machines: readonly MachineDay[],
  enterpriseName: (code: string) => string,
): Table {
  const total = enterpriseDays(machines.map((m) => ({ ...m, enterprise: '' })))[0];
  return {
    name: say(lang, t('设备状态时间', 'State time')),
    columns: [
      column(lang, 'day'),
      column(lang, 'name', 'enterpriseName'),
      column(lang, 'stateMachines'),
      ...MACHINE_STATES.map((st) => ({
        key: st,
        title: say(lang, t(`${STATE_NAMES[st].zh}（小时）`, `${STATE_NAMES[st].en} (h)`)),
      })),
      column(lang, 'poweredOnHours'),
      column(lang, 'utilisation'),
      column(lang, 'powerOnTimeRate'),
      column(lang, 'code', 'enterpriseCode'),
    ],
    rows: enterpriseDays(machines).map((d) => ({
      ...stateTimeRow(d),
      name: enterpriseName(d.enterprise),
      code: d.enterprise,
    })),
    ...(total === undefined ? {} : { totals: [{ ...stateTimeRow(total), name: say(lang, TOTAL) }] }),
  };
}

const LEVELS = {
  city: t('全市', 'City'),
  region: t('区县', 'Region'),
  industry: t('行业', 'Industry'),
  enterprise: t('企业', 'Enterprise'),
};

const TREND_FIGURES = [
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
  'networkingRate',
  'ncRate',
  'onlineRate',
  'powerOnRate',
  'networkingRateMean',
  'ncRateMean',
  'utilisation',
] as const satisfies readonly TitleKey[];

/** The daily snapshots, oldest first: a series over days, so no total row. */
export function trendTable(lang: ExportLang, rows: readonly SnapshotRow[]): Table {
  const nameOf = (r: SnapshotRow): string => {
    const f = r.figures;
    const n = r.level === 'enterprise' ? f.name : lang === 'en' ? f.nameEn : f.nameZh;
    return typeof n === 'string' ? n : r.code;
  };
  return {
    name: say(lang, t('趋势', 'Trend')),
    columns: [
      column(lang, 'day'),
      column(lang, 'level'),
      column(lang, 'name'),
      ...TREND_FIGURES.map((k) => column(lang, k)),
      column(lang, 'code'),
    ],
    rows: rows.map((r) => ({
      day: r.day,
      level: say(lang, LEVELS[r.level]),
      name: nameOf(r),
      ...cells(lang, r.figures, TREND_FIGURES),
      code: r.code,
    })),
  };
}

/** Whose figures an export holds: the caller's scope (api/access.ts scopeOf), in names. */
export type ExportScope =
  | { readonly kind: 'city' }
  | { readonly kind: 'regions'; readonly names: readonly string[] }
  | { readonly kind: 'enterprise'; readonly names: readonly string[] };

/** What the 说明 / About sheet states. */
export interface AboutFacts {
  readonly table: ExportTable;
  /** When it was made, ms; written in hub time at `utcOffsetMin`. */
  readonly now: number;
  readonly utcOffsetMin: number;
  readonly windows: StatsWindows;
  readonly scope: ExportScope;
  /** The hub's id (config `hostId`). */
  readonly hubId: string;
  /** Statistics tables: the scope's target of networked machines (0: none) and the backbone thresholds. */
  readonly programme?: { readonly target: number; readonly networkingRate: number; readonly ncRate: number };
  /** state-time: the day; trend: what was asked. */
  readonly day?: string;
  readonly trend?: {
    readonly level: string;
    readonly code?: string;
    readonly from?: string;
    readonly to?: string;
  };
}

/** "2026-12-06 15:14:56 (UTC+08:00)": the hub's local time and its offset. */
export function hubTime(ms: number, offsetMin: number): string {
  const local = new Date(ms + offsetMin * 60_000).toISOString();
  const a = Math.abs(offsetMin);
  const zone = `UTC${offsetMin < 0 ? '-' : '+'}${String(Math.floor(a / 60)).padStart(2, '0')}:${String(a % 60).padStart(2, '0')}`;
  return `${local.slice(0, 10)} ${local.slice(11, 19)} (${zone})`;
}

/** 7 天 / 7 days, 5 分钟 / 5 minutes: a window in the largest whole unit. */
export function duration(lang: ExportLang, ms: number): string {
  const units: [number, Bilingual, Bilingual][] = [
    [86_400_000, t('天', 'day'), t('天', 'days')],
    [3_600_000, t('小时', 'hour'), t('小时', 'hours')],
    [60_000, t('分钟', 'minute'), t('分钟', 'minutes')],
    [1_000, t('秒', 'second'), t('秒', 'seconds')],
  ];
  for (const [size, one, many] of units) {
    if (ms >= size && ms % size === 0) {
      const n = ms / size;
      return `${n} ${say(lang, n === 1 ? one : many)}`;
    }
  }
  return `${ms} ms`;
}

const pct = (rate: number): string => `${Number((rate * 100).toPrecision(12))}%`;

function scopeText(lang: ExportLang, s: ExportScope): string {
  if (s.kind === 'city') return say(lang, t('全市', 'the whole city'));
  const list = s.names.join(lang === 'en' ? ', ' : '、');
  if (s.kind === 'regions') return `${say(lang, t('区县：', 'Regions: '))}${list}`;
  return s.names.length === 0
    ? say(lang, t('无企业', 'no enterprise'))
    : `${say(lang, t('企业：', 'Enterprise: '))}${list}`;
}

/** The 说明 / About sheet: when, over which windows, for whom, from where, and how to read it. */
export function aboutSheet(lang: ExportLang, f: AboutFacts, table: Table): NonNullable<Table['about']> {
  const l = (zh: string, en: string, value: string): readonly [string, string] => [
    say(lang, t(zh, en)),
    value,
  ];
  const lines: (readonly [string, string])[] = [
    l('表格', 'Table', table.name),
    l('生成时间（平台时间）', 'Made at (hub time)', hubTime(f.now, f.utcOffsetMin)),
    l(
      '联网窗口',
      'Networked window',
      say(
        lang,
        t(
          `${duration(lang, f.windows.networkingMs)}：此期间内有有效数据的设备计为联网设备`,
          `${duration(lang, f.windows.networkingMs)}: a machine with a valid sample within it is networked`,
        ),
      ),
    ),
    l(
      '在线窗口',
      'Online window',
      say(
        lang,
        t(
          `${duration(lang, f.windows.onlineMs)}：此期间内有上报且未断开的设备计为在线设备`,
          `${duration(lang, f.windows.onlineMs)}: a machine heard from within it, and not dead, is online`,
        ),
      ),
    ),
    l('范围', 'Scope', scopeText(lang, f.scope)),
    l('数据来源', 'Source', say(lang, t(`万机平台 ${f.hubId}`, `Wanji hub ${f.hubId}`))),
  ];
  if (f.programme !== undefined) {
    const p = f.programme;
    lines.push(
      l(
        '联网设备目标',
        'Networked machines target',
        p.target > 0 ? String(p.target) : say(lang, t('本范围未设定', 'none set for this scope')),
      ),
      l(
        '骨干企业目标',
        'Backbone target',
        say(
          lang,
          t(
            `设备联网率 ≥ ${pct(p.networkingRate)} 且数控化率 ≥ ${pct(p.ncRate)}`,
            `networking rate ≥ ${pct(p.networkingRate)} and NC rate ≥ ${pct(p.ncRate)}`,
          ),
        ),
      ),
    );
  }
  if (f.day !== undefined) lines.push(l('日期', 'Day', f.day));
  if (f.trend !== undefined) {
    const q = f.trend;
    const level = LEVELS[q.level as keyof typeof LEVELS];
    lines.push(l('层级', 'Level', level === undefined ? q.level : say(lang, level)));
    if (q.code !== undefined) lines.push(l('代码', 'Code', q.code));
    if (q.from !== undefined) lines.push(l('起始日期', 'From', q.from));
    if (q.to !== undefined) lines.push(l('截止日期', 'To', q.to));
  }
  lines.push(
    l(
      '口径',
      'How to read it',
      say(
        lang,
        t(
          '生产设备数、数控设备数、工业机器人数和数控化率为企业申报的台账（申报）；其余为平台监测（监测），联网设备按企业台账封顶计入。比率为合计口径（分子之和 ÷ 分母之和），“企业均值”为各企业比率的平均；百分比保留一位小数显示，单元格内为原值。合计行（如有）取平台统计的本范围数值，其比率不是各行百分比的平均。',
          'Production equipment, NC equipment, robots and the NC rate are what the enterprises declared in their ledgers; the rest is measured by the hub, networked machines counted up to each ledger. Rates are pooled (sum of numerators ÷ sum of denominators); "mean of enterprises" is the mean of the enterprises\' own rates; percentages show one decimal, the cells keep the exact value. The total row, where there is one, holds the hub\'s own figures for this scope: its rates are not averages of the rows.',
        ),
      ),
    ),
  );
  if (f.table === 'enterprises') {
    lines.push(
      l(
        '导入',
        'Import',
        say(
          lang,
          t(
            '本表第一页可原样导入台账（wanji registry import 或 POST /api/v1/registry/import）：按企业代码匹配，合计行跳过，其他统计列忽略。',
            'The first sheet imports back as ledgers as it is (wanji registry import or POST /api/v1/registry/import): matched by enterprise code, the total row skipped, the other figures ignored.',
          ),
        ),
      ),
    );
  }
  return { name: say(lang, t('说明', 'About')), lines };
}
