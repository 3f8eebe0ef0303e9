/**
 * Imports enterprises and their ledgers from a table (import-file.ts reads CSV and XLSX).
 * Every row is checked first; the report names each refused row and why. Then, by default,
 * all rows or none: one refused row and nothing is written (fix the file, import again).
 * `partial` writes the accepted rows and still reports the refused ones. Either way the
 * writes, their history entries and their audit entries share one transaction.
 */
import type { EnterpriseDeclaration } from '../../protocol/index.js';
import { AuditLog } from '../security/audit.js';
import type { TableRow } from './import-file.js';
import { type ImportReason, reason } from './import-reasons.js';
import { type Fault, faultLists, findHeader, isTotal, type SkippedRow, textReason } from './import-table.js';
import {
  type DeclareOutcome,
  declarationProblems,
  LedgerWriter,
  LookalikeIndex,
  lookalikeKey,
  ReferenceIndex,
  toRow,
} from './ledger.js';
import type { Registry } from './registry.js';

type Field =
  | 'code'
  | 'name'
  | 'region'
  | 'industry'
  | 'backbone'
  | 'production'
  | 'nc'
  | 'robots'
  | 'declaredBy';

/** Accepted header names per column, compared ignoring case, spaces, `_` and `-`. */
export const IMPORT_COLUMNS: Readonly<Record<Field, readonly string[]>> = {
  code: ['code', 'enterprise code', 'enterprise', '企业代码', '企业编码', '代码'],
  name: ['name', 'enterprise name', '企业名称', '名称'],
  region: ['region', 'county', '区域', '区县', '所属区县', '县市区'],
  industry: ['industry', '行业', '所属行业'],
  backbone: ['backbone', '骨干企业', '是否骨干企业', '骨干'],
  production: ['production equipment', 'productionEquipment', '生产设备', '生产设备数', '生产设备总数'],
  nc: ['nc equipment', 'ncEquipment', '数控设备', '数控设备数'],
  robots: ['robots', '工业机器人', '工业机器人数', '机器人'],
  declaredBy: ['declared by', 'declaredBy', '申报人'],
};
const REQUIRED: readonly Field[] = ['code', 'name', 'region', 'industry', 'production', 'nc', 'robots'];

const YES = ['是', 'y', 'yes', 'true', '1', '骨干'];
const NO = ['否', 'n', 'no', 'false', '0', ''];

export interface RefusedRow {
  /** The row number as the spreadsheet shows it (header = 1). */
  readonly row: number;
  readonly code: string;
  /** Why, in English (as always). */
  readonly reasons: readonly string[];
  /** The same reasons as codes and parameters (import-reasons.ts), in the same order. */
  readonly details: readonly ImportReason[];
  /** The header texts of the cells at fault (empty when the row as a whole is). */
  readonly columns: readonly string[];
}

/** What an accepted row does (or would do, in a dry run) to the registry. */
export interface RowChange {
  readonly row: number;
  readonly code: string;
  readonly name: string;
  readonly outcome: 'created' | 'updated';
  /** The ledger before (updated) and after. */
  readonly before: Ledger | null;
  readonly after: Ledger;
}

interface Ledger {
  readonly productionEquipment: number;
  readonly ncEquipment: number;
  readonly robots: number;
}

export interface ImportOptions {
  /** Who imports (audited): `token:<id>`, `cli:<user>`. */
  readonly actor: string;
  /** Who declares the ledgers when a row does not say (its declared_by column); default: the actor. */
  readonly declaredBy?: string;
  readonly source?: string;
  /** The file's name, for the report and the audit log. */
  readonly file: string;
  readonly dryRun?: boolean;
  readonly partial?: boolean;
  /** How many refused rows and changes the report lists (default MAX_LISTED_REFUSALS). */
  readonly maxListed?: number;
}

export interface ImportReport {
  readonly file: string;
  readonly dryRun: boolean;
  readonly partial: boolean;
  /** Data rows read (blank rows aside). */
  readonly rows: number;
  readonly accepted: number;
  /** How many rows were refused, all of them. */
  readonly refusedRows: number;
  /** The refused rows in file order, the first MAX_LISTED_REFUSALS of them, each with why. */
  readonly refused: readonly RefusedRow[];
  /** Whether anything was written (false for a dry run or an all-or-none import with refusals). */
  readonly applied: boolean;
  /** Of the accepted rows: what they did (or would do, in a dry run). */
  readonly created: number;
  readonly updated: number;
  readonly unchanged: number;
  /** Columns the import did not use. */
  readonly ignoredColumns: readonly string[];
  /** The header row as the file has it, and its row number. */
  readonly header: { readonly row: number; readonly cells: readonly string[] };
  /** Rows left out on purpose (a title above the header, a 合计 row), each with why. */
  readonly skipped: readonly SkippedRow[];
  /** The enterprises created and the ledgers changed (or that would be), the first MAX_LISTED_REFUSALS. */
  readonly changes: readonly RowChange[];
}

interface Checked {
  readonly row: number;
  readonly decl: EnterpriseDeclaration;
  readonly declaredBy: string;
}

/**
 * The most refused rows a report lists: a 100,000-row file of refusals would otherwise make a
 * report of tens of MB held in memory and sent whole; the count says how many there were.
 */
export const MAX_LISTED_REFUSALS = 1_000;

export function importLedgers(
  registry: Registry,
  table: readonly TableRow[],
  o: ImportOptions,
): ImportReport {
  const database = registry.database;
  const maxListed = o.maxListed ?? MAX_LISTED_REFUSALS;
  const {
    header,
    columns,
    ignored,
    rows: afterHeader,
    skipped,
  } = findHeader(table, IMPORT_COLUMNS, REQUIRED, o.file);
  const regions = ReferenceIndex.regions(database);
  const industries = ReferenceIndex.industries(database);
  const validRegions = validNames(database.reference.regions());
  const validIndustries = validNames(database.reference.industries());
  const current = new Map(database.enterprises.list().map((r) => [r.code, r]));
  const currentBackbone = new Map([...current.values()].map((r) => [r.code, r.backbone !== 0]));
  const headerText = (f: Field): string => header.cells[columns.get(f) ?? -1] ?? f;
  const data: TableRow[] = [];
  for (const r of afterHeader) {
    // A row whose code, name or first cell says 合计 is an export's total, not an enterprise.
    const at = (i: number | undefined): string => (i === undefined ? '' : (r.cells[i] ?? ''));
    if ([at(columns.get('code')), at(columns.get('name')), at(0)].some(isTotal)) {
      skipped.push({ row: r.n, kind: 'total', reason: TOTAL_REASON });
    } else data.push(r);
  }
  const lookalikes = LookalikeIndex.of(database);
  const refused: RefusedRow[] = [];
  const checked: Checked[] = [];
  const rowsByCode = new Map<string, number[]>();
  /** Codes of the file by lookalikeKey: two that pass for each other are both refused. */
  const codesByKey = new Map<string, Set<string>>();
  for (const r of data) {
    const cell = (f: Field): string => {
      const i = columns.get(f);
      return i === undefined ? '' : (r.cells[i] ?? '').trim();
    };
    const faults: Fault[] = [];
    const bad = new Set<Field>();
    const fault = (f: Field, message: string, why: ImportReason): void => {
      bad.add(f);
      faults.push({ message, reason: why });
    };
    const code = cell('code');
    const region = regions.find(cell('region'));
    if (cell('region') === '') fault('region', 'region is empty', reason('empty', { field: 'region' }));
    else if (region === undefined)
      fault(
        'region',
        `unknown region "${cell('region')}"; valid regions: ${validRegions}`,
        reason('regionUnknown', { value: cell('region'), valid: validRegions }),
      );
    const industry = industries.find(cell('industry'));
    if (cell('industry') === '')
      fault('industry', 'industry is empty', reason('empty', { field: 'industry' }));
    else if (industry === undefined)
      fault(
        'industry',
        `unknown industry "${cell('industry')}"; valid industries: ${validIndustries} (an admin may add an alias: docs/api.md "Imports")`,
        reason('industryUnknown', { value: cell('industry'), valid: validIndustries }),
      );
    // Without a backbone column the file says nothing about it: an enterprise keeps its flag.
    const backbone = columns.has('backbone') ? yesNo(cell('backbone')) : (currentBackbone.get(code) ?? false);
    if (backbone === undefined)
      fault(
        'backbone',
        `backbone "${cell('backbone')}" is neither yes (是) nor no (否)`,
        reason('notYesNo', { field: 'backbone', value: cell('backbone') }),
      );
    const count = (f: Field, what: string): number => {
      const text = cell(f).replace(/(?<=\d),(?=\d{3}\b)/g, '');
      if (text === '') {
        fault(f, `${what} is empty`, reason('empty', { field: f }));
        return 0;
      }
      const n = /^\d+(\.0+)?$/.test(text) ? Number(text) : Number.NaN;
      if (!Number.isSafeInteger(n))
        fault(
          f,
          `${what} "${cell(f)}" is not a whole number ≥ 0`,
          reason('notWholeNumber', { field: f, value: cell(f) }),
        );
      return n;
    };
    const ledger = {
      productionEquipment: count('production', 'production equipment'),
      ncEquipment: count('nc', 'NC equipment'),
      robots: count('robots', 'robots'),
    };
    const decl: EnterpriseDeclaration = {
      code,
      name: cell('name'),
      regionCode: region ?? '',
      industryCode: industry ?? '',
      backbone: backbone ?? false,
      ledger,
    };
    const numbersOk = Object.values(ledger).every(Number.isSafeInteger);
    for (const p of declarationProblems(decl)) {
      // A count that did not parse was reported above in the file's own words.
      if (!numbersOk && p.includes('whole number')) continue;
      const f: Field = p.startsWith('code ')
        ? 'code'
        : p.startsWith('name ')
          ? 'name'
          : p.startsWith('ledger.ncEquipment')
            ? 'nc'
            : p.startsWith('ledger.robots')
              ? 'robots'
              : 'production';
      if (f === 'code' && code === '') fault('code', 'code is empty', reason('empty', { field: 'code' }));
      else {
        const message = p
          .replace('ledger.ncEquipment', 'NC equipment')
          .replace('ledger.productionEquipment', 'production equipment')
          .replace('ledger.robots', 'robots');
        fault(
          f,
          message,
          p.includes(' exceeds ')
            ? reason('ncExceedsProduction', {
                nc: ledger.ncEquipment,
                production: ledger.productionEquipment,
              })
            : p.includes('whole number')
              ? reason('notWholeNumber', { field: f, value: cell(f) })
              : textReason(f, f === 'code' ? code : cell('name'), message),
        );
      }
    }
    const lookalike = code === '' ? undefined : lookalikes.problem(code);
    if (lookalike !== undefined)
      fault(
        'code',
        lookalike,
        reason('looksLikeRegistered', {
          value: code,
          existing: /registered enterprise "(.*)" \(same letters/.exec(lookalike)?.[1] ?? '',
        }),
      );
    if (code !== '') {
      // In place: a file of one code repeated must not cost rows² (issue 9).
      const rows = rowsByCode.get(code);
      if (rows === undefined) rowsByCode.set(code, [r.n]);
      else rows.push(r.n);
      const k = lookalikeKey(code);
      codesByKey.set(k, (codesByKey.get(k) ?? new Set()).add(code));
    }
    if (faults.length > 0)
      refused.push({ row: r.n, code, ...faultLists(faults), columns: [...bad].map(headerText) });
    else checked.push({ row: r.n, decl, declaredBy: cell('declaredBy') || o.declaredBy || o.actor });
  }
  // A code twice in one file: which row is right is the user's call, so both are refused.
  const dup = new Set([...rowsByCode].filter(([, rows]) => rows.length > 1).map(([c]) => c));
  // Two codes of the file that pass for each other (E001, e001): which is meant is the user's call.
  // Each code maps to its whole group (shared), so thousands of look-alikes cost no more than their count.
  const alike = new Map<string, ReadonlySet<string>>();
  for (const codes of codesByKey.values()) {
    if (codes.size < 2) continue;
    for (const c of codes) alike.set(c, codes);
  }
  const accepted = checked.filter((c) => !dup.has(c.decl.code) && !alike.has(c.decl.code));
  for (const c of checked)
    if (dup.has(c.decl.code) || alike.has(c.decl.code))
      refused.push({
        row: c.row,
        code: c.decl.code,
        reasons: [],
        details: [],
        columns: [headerText('code')],
      });
  const rowList = (rows: readonly number[]): string => firstFew(rows, rows.length, String);
  const othersOf = function* (code: string) {
    for (const o of alike.get(code)!) if (o !== code) yield o;
  };
  const alikeReason = (code: string): string => {
    const group = alike.get(code)!;
    const named = firstFew(
      othersOf(code),
      group.size - 1,
      (o) => `"${o}" (row ${rowList(rowsByCode.get(o)!)})`,
    );
    return `code "${code}" looks like ${named} in the same file (same letters ignoring case and full-width forms): keep one`;
  };
  const dupDetail = (code: string): ImportReason => {
    const rows = rowsByCode.get(code)!;
    const shown = rows.slice(0, FEW).join(', ');
    return rows.length > FEW
      ? reason('codeRepeatedMore', { value: code, rows: shown, more: rows.length - FEW })
      : reason('codeRepeated', { value: code, rows: shown });
  };
  const alikeDetail = (code: string): ImportReason => {
    const others = [...othersOf(code)];
    const shown = others.slice(0, FEW).map((o) => `"${o}"`);
    return reason('looksLikeInFile', {
      value: code,
      others: others.length > FEW ? `${shown.join(', ')} …` : shown.join(', '),
    });
  };
  const report = (applied: boolean, outcomes: DeclareOutcome[]): ImportReport => ({
    file: o.file,
    dryRun: o.dryRun === true,
    partial: o.partial === true,
    rows: data.length,
    accepted: accepted.length,
    refusedRows: refused.length,
    refused: [...refused]
      .sort((a, b) => a.row - b.row)
      .slice(0, maxListed)
      .map((r) => ({
        ...r,
        reasons: [
          ...r.reasons,
          ...(dup.has(r.code)
            ? [`code "${r.code}" appears in rows ${rowList(rowsByCode.get(r.code)!)}: keep one`]
            : []),
          ...(alike.has(r.code) ? [alikeReason(r.code)] : []),
        ],
        details: [
          ...r.details,
          ...(dup.has(r.code) ? [dupDetail(r.code)] : []),
          ...(alike.has(r.code) ? [alikeDetail(r.code)] : []),
        ],
      })),
    applied,
    created: outcomes.filter((x) => x === 'created').length,
    updated: outcomes.filter((x) => x === 'updated').length,
    unchanged: outcomes.filter((x) => x === 'unchanged').length,
    ignoredColumns: ignored,
    header: { row: header.n, cells: header.cells },
    skipped: [...skipped].sort((a, b) => a.row - b.row),
    changes: changesOf(outcomes),
  });
  const changesOf = (outcomes: readonly DeclareOutcome[]): RowChange[] => {
    const out: RowChange[] = [];
    outcomes.forEach((x, i) => {
      const c = accepted[i];
      if (c === undefined || x === 'unchanged' || out.length >= maxListed) return;
      const was = current.get(c.decl.code);
      out.push({
        row: c.row,
        code: c.decl.code,
        name: c.decl.name,
        outcome: x === 'created' ? 'created' : 'updated',
        before:
          was === undefined
            ? null
            : {
                productionEquipment: was.production_equipment,
                ncEquipment: was.nc_equipment,
                robots: was.robots,
              },
        after: c.decl.ledger,
      });
    });
    return out;
  };

  const now = registry.now();
  const writer = new LedgerWriter(database, () => now);
  const audit = new AuditLog(database, () => now);
  const write = (dryRun: boolean): DeclareOutcome[] =>
    database.transaction(() => {
      const outcomes = accepted.map((c) =>
        writer.declare(toRow(c.decl, c.declaredBy, now), {
          actor: o.actor,
          ...(o.source === undefined ? {} : { source: o.source }),
          detail: { import: o.file, row: c.row },
        }),
      );
      // A dry run learns what would change by doing it and rolling it back.
      if (dryRun) throw new DryRunDone(outcomes);
      return outcomes;
    });
  const summary = (r: ImportReport) => ({
    rows: r.rows,
    accepted: r.accepted,
    refused: r.refusedRows,
    created: r.created,
    updated: r.updated,
    unchanged: r.unchanged,
    partial: r.partial,
    firstRefusals: r.refused.slice(0, 20),
  });
  const allOrNone = o.partial !== true && refused.length > 0;
  if (o.dryRun === true || allOrNone) {
    let outcomes: DeclareOutcome[] = [];
    try {
      write(true);
    } catch (err) {
      if (!(err instanceof DryRunDone)) throw err;
      outcomes = err.outcomes;
    }
    const r = report(false, outcomes);
    if (allOrNone && o.dryRun !== true) {
      audit.record({
        actor: o.actor,
        action: 'enterprise.import',
        target: o.file,
        outcome: 'refused',
        ...(o.source === undefined ? {} : { source: o.source }),
        detail: { reason: 'rows refused; nothing imported', ...summary(r) },
      });
    }
    return r;
  }
  let r: ImportReport | undefined;
  database.transaction(() => {
    r = report(true, write(false));
    audit.record({
      actor: o.actor,
      action: 'enterprise.import',
      target: o.file,
      outcome: 'ok',
      ...(o.source === undefined ? {} : { source: o.source }),
      detail: summary(r),
    });
  });
  return r!;
}

class DryRunDone extends Error {
  readonly outcomes: DeclareOutcome[];
  constructor(outcomes: DeclareOutcome[]) {
    super('dry run');
    this.outcomes = outcomes;
  }
}

/** "越城区 (yuecheng), 柯桥区 (keqiao), …": what a person may write instead. */
function validNames(rows: readonly { code: string; name_zh: string; name_en: string }[]): string {
  return rows.map((r) => `${r.name_zh} / ${r.name_en} (${r.code})`).join(', ');
}

function yesNo(text: string): boolean | undefined {
  const t = text.trim().toLowerCase();
  if (YES.includes(t)) return true;
  if (NO.includes(t)) return false;
  return undefined;
}

const TOTAL_REASON = 'a total (合计) row: not an enterprise, skipped';

/** How many rows or codes one reason names before "and N more". */
const FEW = 10;

/**
 * The first few of a list and how many more: one refused row's reason stays short however
 * many rows share its code (a file of 100,000 copies would otherwise cost rows²).
 */
function firstFew<T>(xs: Iterable<T>, total: number, show: (x: T) => string, max = FEW): string {
  const out: string[] = [];
  for (const x of xs) {
    if (out.length === max) break;
    out.push(show(x));
  }
  return total > out.length ? `${out.join(', ')} and ${total - out.length} more` : out.join(', ');
}
