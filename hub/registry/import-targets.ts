/**
 * Imports programme target rows (kind, region, year, value: docs/statistics.md "Programme
 * targets") from a table, as the declaration imports do (import-recognitions.ts): a title
 * above the header and a 合计 row skipped, every row checked first and each refused one
 * reported with why (English and as codes, import-reasons.ts) and the columns at fault; then
 * all rows or none unless `partial`. Each row sets one target as PUT /api/v1/targets does
 * (ProgrammeRecords.setTarget: same checks, audited); the import is audited as `target.import`.
 */

import {
  type DeclarationImportOptions,
  type DeclarationImportReport,
  finishDeclarationImport,
} from './import-declarations.js';
import type { TableRow } from './import-file.js';
import { type ImportReason, reason } from './import-reasons.js';
import { checkRows, findHeader, norm, refuseRepeats, textReason } from './import-table.js';
import {
  ProgrammeRecords,
  TARGET_COUNT_MAX,
  TARGET_KIND_NAMES,
  type TargetInput,
  type TargetKind,
  targetProblems,
} from './programme-records.js';
import type { Registry } from './registry.js';

type Field = 'kind' | 'region' | 'year' | 'value';

/** Accepted header names per column, compared ignoring case, spaces, `_` and `-`. */
export const TARGET_COLUMNS: Readonly<Record<Field, readonly string[]>> = {
  kind: ['kind', 'target kind', 'indicator', '目标类型', '指标', '类型'],
  region: ['region', 'county', '区县', '所属区县', '区域', '范围'],
  year: ['year', '年份', '年度', '目标年份'],
  value: ['value', 'target', 'target value', '目标值', '目标', '数值'],
};
const REQUIRED: readonly Field[] = ['kind', 'value'];

/** The kinds' names as the web app shows them (web/src/i18n/targets.ts), which a person may write. */
const KIND_NAMES: Readonly<Record<TargetKind, readonly string[]>> = {
  networked: ['联网设备', '联网设备数', 'Networked machines'],
  robots: ['在役工业机器人', '工业机器人', 'Industrial robots in service'],
  robotsNewPerYear: ['每年新增工业机器人', '新增工业机器人', 'New industrial robots a year'],
  workshopsFactories: [
    '数字化车间、智能工厂',
    '数字化车间和智能工厂',
    'Digital workshops and smart factories',
  ],
  benchmarksPerYear: [
    '每年标杆智能工厂、数字车间',
    '标杆智能工厂、数字车间',
    'Benchmark factories and workshops a year',
  ],
  platformsRegional: ['区域级工业互联网平台', '区域级平台', 'Regional industrial internet platforms'],
  platformsIndustry: ['行业级工业互联网平台', '行业级平台', 'Industry-level industrial internet platforms'],
  platformsEnterprise: [
    '企业级工业互联网平台',
    '企业级平台',
    'Enterprise-level industrial internet platforms',
  ],
  backboneNcRate: ['骨干企业装备数控化率', '骨干企业数控化率', 'Backbone enterprises NC rate'],
  backboneNetworkingRate: ['骨干企业机器联网率', '骨干企业联网率', 'Backbone enterprises networking rate'],
};
const KIND_BY_WORD = new Map<string, TargetKind>(
  TARGET_KIND_NAMES.flatMap((k) => [
    [norm(k), k] as const,
    ...KIND_NAMES[k].map((n) => [norm(n), k] as const),
  ]),
);
const KIND_LIST = TARGET_KIND_NAMES.map((k) => `${KIND_NAMES[k][0]} (${k})`).join(', ');
const CITY_WORDS = ['', '全市', '市', '市级', 'city', 'citywide'];
const EVERY_YEAR_WORDS = ['', '每年', '各年', 'every', 'everyyear', 'all'];

interface Parsed {
  readonly row: number;
  readonly key: string;
  readonly input: TargetInput;
}

export function importTargets(
  registry: Registry,
  table: readonly TableRow[],
  o: DeclarationImportOptions,
): DeclarationImportReport {
  const found = findHeader(table, TARGET_COLUMNS, REQUIRED, o.file);
  const { header, skipped } = found;
  const validRegions = registry
    .regions()
    .map((r) => `${r.nameZh} (${r.code})`)
    .join(', ');
  const parsed: Parsed[] = [];
  const { refused, dataRows, headerText } = checkRows(found, 'kind', (r) => {
    const cell = (f: Field): string => r.cell(f);
    const fault = (f: Field, message: string, why: ImportReason): void => r.fault(f, message, why);
    const kind = KIND_BY_WORD.get(norm(cell('kind')));
    if (cell('kind') === '') fault('kind', 'kind is empty', reason('empty', { field: 'kind' }));
    else if (kind === undefined)
      fault(
        'kind',
        `unknown target kind "${cell('kind')}"; kinds: ${KIND_LIST}`,
        reason('targetKindUnknown', { value: cell('kind'), kinds: KIND_LIST }),
      );
    const regionText = cell('region');
    const city = CITY_WORDS.includes(norm(regionText));
    const region = city ? null : registry.resolveRegion(regionText);
    if (region === undefined)
      fault(
        'region',
        `unknown region "${regionText}"; valid regions: ${validRegions} (empty: the city)`,
        reason('regionUnknown', { value: regionText, valid: validRegions }),
      );
    const yearText = cell('year').replace(/年$/, '');
    const year = EVERY_YEAR_WORDS.includes(norm(yearText))
      ? null
      : /^\d{4}$/.test(yearText)
        ? Number(yearText)
        : undefined;
    if (year === undefined)
      fault(
        'year',
        `year "${cell('year')}" is not a year such as 2027 (empty: every year)`,
        reason('yearInvalid', { value: cell('year') }),
      );
    const valueText = cell('value').replace(/(?<=\d),(?=\d{3}\b)/g, '');
    const percent = /^(\d+(\.\d+)?)\s*[%％]$/.exec(valueText);
    const value =
      percent !== null
        ? Number(percent[1]) / 100
        : /^\d+(\.\d+)?$/.test(valueText)
          ? Number(valueText)
          : Number.NaN;
    if (valueText === '') fault('value', 'value is empty', reason('empty', { field: 'value' }));
    else if (Number.isNaN(value))
      fault(
        'value',
        `value "${cell('value')}" is not a number (a rate may be written 70% or 0.7)`,
        reason('targetValueInvalid', { value: cell('value') }),
      );
    if (r.faults.length === 0 && kind !== undefined && region !== undefined && year !== undefined) {
      const input: TargetInput = { kind, region, year, value };
      // The checks PUT /api/v1/targets makes (programme-records.ts), mapped to columns and codes.
      for (const p of targetProblems(registry, input)) {
        if (p.includes('city-wide')) fault('region', p, reason('rateCityWide'));
        else if (p.includes('is a rate above 0'))
          fault('value', p, reason('rateOutOfRange', { value: cell('value') }));
        else if (p.includes('is a whole number from 1'))
          fault('value', p, reason('countOutOfRange', { value: cell('value'), max: TARGET_COUNT_MAX }));
        else if (p.startsWith('year')) {
          const y = /^year (\S+) is not a year from (\d+) to (\d+)/.exec(p);
          fault(
            'year',
            p,
            y === null
              ? textReason('year', cell('year'), p)
              : reason('yearOutOfRange', { value: y[1]!, min: y[2]!, max: y[3]! }),
          );
        } else fault('kind', p, reason('other', { text: p }));
      }
      if (r.faults.length === 0)
        parsed.push({ row: r.row.n, key: `${kind}\u0000${region ?? ''}\u0000${year ?? 0}`, input });
    }
  });
  // The same target twice in one file: which value is right is the user's call.
  const accepted = refuseRepeats(parsed, refused, (rows) => ({
    reasons: [`the same target (kind, region, year) appears in rows ${rows}: keep one`],
    details: [reason('targetRepeated', { rows })],
    columns: [headerText('kind')],
  }));
  const db = registry.database;
  const records = new ProgrammeRecords(registry);
  return finishDeclarationImport(registry, o, {
    what: 'targets',
    action: 'target.import',
    dataRows,
    accepted,
    refused,
    header,
    skipped,
    exists: (p) => db.targets.get(p.input.kind, p.input.region ?? '', p.input.year ?? 0) !== undefined,
    write: (p, by) => records.setTarget(p.input, by),
  });
}
