/**
 * Imports digital workshop / smart factory declarations and industrial internet platform
 * declarations from a table (import-file.ts reads CSV and XLSX), as the ledger import does
 * (import.ts): a title above the header and a 合计 row are skipped and said so, every row is
 * checked first and each refused row is reported with why and the columns at fault; then all
 * rows or none unless `partial`. Writes and their audit entries share one transaction.
 */

import {
  type DeclarationImportOptions,
  type DeclarationImportReport,
  type DeclarationKind,
  finishDeclarationImport,
} from './import-declarations.js';
import type { TableRow } from './import-file.js';
import { type ImportReason, reason } from './import-reasons.js';
import { checkRows, findHeader, norm, refuseRepeats, textReason } from './import-table.js';
import { importTargets } from './import-targets.js';
import {
  type PlatformInput,
  ProgrammeRecords,
  platformProblems,
  type RecognitionInput,
  recognitionProblems,
} from './programme-records.js';
import type { Registry } from './registry.js';

/** What a declarations file holds; `targets`: programme target rows (import-targets.ts). */

type RecognitionField = 'enterprise' | 'name' | 'kind' | 'benchmark' | 'year';
type PlatformField = 'name' | 'level' | 'operator' | 'year' | 'hubId';

/** Accepted header names per column, compared ignoring case, spaces, `_` and `-`. */
export const RECOGNITION_COLUMNS: Readonly<Record<RecognitionField, readonly string[]>> = {
  enterprise: ['enterprise', 'enterprise code', 'code', '企业代码', '企业编码'],
  name: ['name', 'workshop', 'factory', '名称', '车间/工厂名称', '车间名称', '工厂名称'],
  kind: ['kind', 'type', '类型', '类别'],
  benchmark: ['benchmark', '标杆', '是否标杆'],
  year: ['year', 'year recognised', 'year recognized', '年份', '认定年份'],
};
export const PLATFORM_COLUMNS: Readonly<Record<PlatformField, readonly string[]>> = {
  name: ['name', 'platform', '平台名称', '名称'],
  level: ['level', '级别', '平台级别', '层级'],
  operator: ['operator', 'operator enterprise', 'enterprise', '运营企业', '运营企业代码', '企业代码'],
  year: ['year', 'year built', '年份', '建成年份'],
  hubId: ['hub id', 'hubId', 'child hub', '下级平台', '下级平台ID'],
};
const RECOGNITION_REQUIRED: readonly RecognitionField[] = ['enterprise', 'name', 'kind', 'year'];
const PLATFORM_REQUIRED: readonly PlatformField[] = ['name', 'level', 'operator', 'year'];

const KIND_WORDS: Readonly<Record<string, 'workshop' | 'factory'>> = {
  workshop: 'workshop',
  digitalworkshop: 'workshop',
  数字化车间: 'workshop',
  车间: 'workshop',
  factory: 'factory',
  smartfactory: 'factory',
  智能工厂: 'factory',
  工厂: 'factory',
};
const LEVEL_WORDS: Readonly<Record<string, 'regional' | 'industry' | 'enterprise'>> = {
  regional: 'regional',
  region: 'regional',
  区域级: 'regional',
  industry: 'industry',
  行业级: 'industry',
  enterprise: 'enterprise',
  企业级: 'enterprise',
};
const YES = ['是', 'y', 'yes', 'true', '1', '标杆'];
const NO = ['否', 'n', 'no', 'false', '0', ''];

type Parsed =
  | {
      readonly what: 'recognitions';
      readonly row: number;
      readonly key: string;
      readonly input: RecognitionInput;
    }
  | { readonly what: 'platforms'; readonly row: number; readonly key: string; readonly input: PlatformInput };

export function importDeclarations(
  registry: Registry,
  what: DeclarationKind,
  table: readonly TableRow[],
  o: DeclarationImportOptions,
): DeclarationImportReport {
  if (what === 'targets') return importTargets(registry, table, o);
  const spec: Readonly<Record<string, readonly string[]>> =
    what === 'recognitions' ? RECOGNITION_COLUMNS : PLATFORM_COLUMNS;
  const required: readonly string[] = what === 'recognitions' ? RECOGNITION_REQUIRED : PLATFORM_REQUIRED;
  const found = findHeader(table, spec, required, o.file);
  const { header, skipped } = found;
  const parsed: Parsed[] = [];
  const { refused, dataRows, headerText } = checkRows(found, 'name', (r) => {
    const cell = (f: string): string => r.cell(f);
    const fault = (f: string, message: string, why: ImportReason): void => r.fault(f, message, why);
    const yearText = cell('year').replace(/年$/, '');
    const year = /^\d{4}$/.test(yearText) ? Number(yearText) : Number.NaN;
    if (Number.isNaN(year))
      fault(
        'year',
        `year "${cell('year')}" is not a year such as 2022`,
        reason('yearInvalid', { value: cell('year') }),
      );
    // The checks shared with the API (programme-records.ts), mapped back to their columns and codes.
    const assign = (problems: readonly string[], fields: readonly string[]): void => {
      for (const p of problems) {
        if (p.startsWith('year') && Number.isNaN(year)) continue;
        const f = fields.find((x) => p.toLowerCase().includes(x.toLowerCase())) ?? fields[0]!;
        fault(f, p, sharedReason(f, cell(f), p));
      }
    };
    if (what === 'recognitions') {
      const kind = KIND_WORDS[norm(cell('kind'))];
      if (kind === undefined)
        fault(
          'kind',
          `kind "${cell('kind')}" is neither 数字化车间 (workshop) nor 智能工厂 (factory)`,
          reason('kindUnknown', { value: cell('kind') }),
        );
      const b = norm(cell('benchmark'));
      const benchmark = YES.includes(b) ? true : NO.includes(b) ? false : undefined;
      if (benchmark === undefined)
        fault(
          'benchmark',
          `benchmark "${cell('benchmark')}" is neither 是 (yes) nor 否 (no)`,
          reason('notYesNo', { field: 'benchmark', value: cell('benchmark') }),
        );
      const input: RecognitionInput = {
        enterprise: cell('enterprise'),
        name: cell('name'),
        kind: kind ?? 'workshop',
        benchmark: benchmark ?? false,
        year: Number.isNaN(year) ? 0 : year,
      };
      const problems = recognitionProblems(registry, input).filter((p) => !p.startsWith('kind'));
      assign(
        problems.map((p) => (p.startsWith('no enterprise') ? `enterprise: ${p}` : p)),
        ['enterprise', 'name', 'year'],
      );
      if (r.faults.length === 0)
        parsed.push({
          what,
          row: r.row.n,
          key: `${input.enterprise}\u0000${input.kind}\u0000${input.name}`,
          input,
        });
    } else {
      const level = LEVEL_WORDS[norm(cell('level'))];
      if (level === undefined)
        fault(
          'level',
          `level "${cell('level')}" is not one of 区域级 (regional), 行业级 (industry), 企业级 (enterprise)`,
          reason('levelUnknown', { value: cell('level') }),
        );
      const hub = cell('hubId');
      const input: PlatformInput = {
        name: cell('name'),
        level: level ?? 'enterprise',
        operator: cell('operator'),
        year: Number.isNaN(year) ? 0 : year,
        hubId: hub === '' ? null : hub,
      };
      const problems = platformProblems(registry, input).filter((p) => !p.startsWith('level'));
      assign(
        problems.map((p) => (p.startsWith('no enterprise') ? `operator: ${p}` : p)),
        ['operator', 'name', 'year', 'hubId'],
      );
      if (r.faults.length === 0) parsed.push({ what, row: r.row.n, key: input.name, input });
    }
  });
  // The same declaration twice in one file: which row is right is the user's call.
  const accepted = refuseRepeats(parsed, refused, (rows) => ({
    reasons: [
      `the same ${what === 'platforms' ? 'platform' : 'workshop or factory'} appears in rows ${rows}: keep one`,
    ],
    details: [reason(what === 'platforms' ? 'platformRepeated' : 'recognitionRepeated', { rows })],
    columns: [headerText('name')],
  }));
  const db = registry.database;
  const records = new ProgrammeRecords(registry);
  return finishDeclarationImport(registry, o, {
    what,
    action: `${what === 'platforms' ? 'platform' : 'recognition'}.import`,
    dataRows,
    accepted,
    refused,
    header,
    skipped,
    exists: (p) =>
      p.what === 'recognitions'
        ? db.recognitions.find(p.input.enterprise, p.input.kind, p.input.name) !== undefined
        : db.platforms.byName(p.input.name) !== undefined,
    write: (p, by) => {
      if (p.what === 'recognitions') records.declareRecognition(p.input, by);
      else records.declarePlatform(p.input, by);
    },
  });
}

/** The code of a problem programme-records.ts gave in English about column `field` holding `value`. */
function sharedReason(field: string, value: string, english: string): ImportReason {
  if (english.includes('no enterprise "'))
    return reason(field === 'operator' ? 'operatorUnknown' : 'enterpriseUnknown', { value });
  const year = /^year (\S+) is not a year from (\d+) to (\d+)/.exec(english);
  if (year !== null) return reason('yearOutOfRange', { value: year[1]!, min: year[2]!, max: year[3]! });
  return textReason(field, value, english);
}
