/**
 * The spreadsheets people use around a ledger import (docs/api.md, "Imports"): a template to
 * start from (the header row in the chosen language, an example row, and in XLSX a second
 * sheet of the valid region and industry names), and the uploaded rows annotated with why
 * each refused one was refused (an added 错误/Error column, the cells at fault marked).
 * Every text is written as a text cell, never as a formula, whatever it starts with.
 */
import ExcelJS from 'exceljs';
import type { RegionRow } from '../database/registry/reference.js';
import { csvField } from '../stats/export.js';
import type { ImportReport } from './import.js';
import type { TableRow } from './import-file.js';
import { reason, reasonText } from './import-reasons.js';

export type SheetLanguage = 'zh-CN' | 'en';

/** The template's columns, in the words import.ts's IMPORT_COLUMNS accepts for each language. */
const TEMPLATE_HEADERS: Readonly<Record<SheetLanguage, readonly string[]>> = {
  'zh-CN': [
    '企业代码',
    '企业名称',
    '所属区县',
    '所属行业',
    '是否骨干企业',
    '生产设备总数',
    '数控设备数',
    '工业机器人数',
    '申报人',
  ],
  en: [
    'enterprise code',
    'enterprise name',
    'region',
    'industry',
    'backbone',
    'production equipment',
    'nc equipment',
    'robots',
    'declared by',
  ],
};

const WORDS = {
  'zh-CN': {
    sheet: '台账',
    reference: '区县与行业',
    kind: '类别',
    code: '代码',
    nameZh: '中文名称',
    nameEn: '英文名称',
    aliases: '别名',
    region: '区县',
    industry: '行业',
    exampleName: '示例机械有限公司（替换或删除本行）',
    yes: '是',
    declarant: '张三',
    error: '错误',
    annotated: '错误标注',
  },
  en: {
    sheet: 'Ledgers',
    reference: 'Regions and industries',
    kind: 'Kind',
    code: 'Code',
    nameZh: 'Chinese name',
    nameEn: 'English name',
    aliases: 'Aliases',
    region: 'region',
    industry: 'industry',
    exampleName: 'Example Machinery Co. (replace or delete this row)',
    yes: 'yes',
    declarant: 'Zhang San',
    error: 'Error',
    annotated: 'Annotated',
  },
} as const;

const HEADER_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFDDEBF7' } };
const BAD_FILL: ExcelJS.Fill = { type: 'pattern', pattern: 'solid', fgColor: { argb: 'FFFFC7CE' } };
const BAD_FONT: Partial<ExcelJS.Font> = { color: { argb: 'FF9C0006' }, bold: true };

function aliasesOf(r: RegionRow): string {
  try {
    const a: unknown = JSON.parse(r.aliases);
    return Array.isArray(a) ? a.filter((x) => typeof x === 'string').join('、') : '';
  } catch {
    return '';
  }
}

function exampleRow(lang: SheetLanguage, regions: readonly RegionRow[], industries: readonly RegionRow[]) {
  const w = WORDS[lang];
  const name = (r: RegionRow | undefined) =>
    r === undefined ? '' : lang === 'zh-CN' ? r.name_zh : r.name_en;
  return [
    'EXAMPLE-001',
    w.exampleName,
    name(regions[0]),
    name(industries[0]),
    w.yes,
    120,
    80,
    6,
    w.declarant,
  ];
}

export async function templateXlsx(
  lang: SheetLanguage,
  regions: readonly RegionRow[],
  industries: readonly RegionRow[],
): Promise<Buffer> {
  const w = WORDS[lang];
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Wanji';
  const sheet = wb.addWorksheet(w.sheet);
  sheet.addRow([...TEMPLATE_HEADERS[lang]]);
  sheet.addRow(exampleRow(lang, regions, industries));
  styleHeader(sheet, TEMPLATE_HEADERS[lang].length);
  sheet.columns.forEach((c) => {
    c.width = 18;
  });
  const ref = wb.addWorksheet(w.reference);
  ref.addRow([w.kind, w.code, w.nameZh, w.nameEn, w.aliases]);
  for (const r of regions) ref.addRow([w.region, r.code, r.name_zh, r.name_en, aliasesOf(r)]);
  for (const i of industries) ref.addRow([w.industry, i.code, i.name_zh, i.name_en, aliasesOf(i)]);
  styleHeader(ref, 5);
  ref.columns.forEach((c) => {
    c.width = 24;
  });
  return Buffer.from(await wb.xlsx.writeBuffer());
}

/** CSV has one sheet: the header row and the example row (UTF-8 with a BOM for spreadsheet programs). */
export function templateCsv(
  lang: SheetLanguage,
  regions: readonly RegionRow[],
  industries: readonly RegionRow[],
): string {
  const lines = [TEMPLATE_HEADERS[lang], exampleRow(lang, regions, industries)].map((r) =>
    r.map((c) => csvField(c)).join(','),
  );
  return `\uFEFF${lines.join('\r\n')}\r\n`;
}

/**
 * The uploaded rows at their own row numbers, with an added 错误/Error column: each refused
 * row's reasons, each skipped row's (title, 合计), in `lang` (import-reasons.ts words the
 * codes in Chinese; in English the report's own sentences); the cells at fault filled red.
 * `report` must list every refused row (importLedgers with maxListed: Infinity).
 */
export async function annotatedXlsx(
  table: readonly TableRow[],
  report: ImportReport,
  lang: SheetLanguage,
): Promise<Buffer> {
  const w = WORDS[lang];
  const wb = new ExcelJS.Workbook();
  wb.creator = 'Wanji';
  const sheet = wb.addWorksheet(w.annotated);
  const width = Math.max(report.header.cells.length, ...table.map((r) => r.cells.length));
  const errorCol = width + 1;
  const refused = new Map(report.refused.map((r) => [r.row, r]));
  const skipped = new Map(
    report.skipped.map((s) => [
      s.row,
      lang === 'en'
        ? s.reason
        : reasonText(reason(s.kind === 'title' ? 'skippedTitle' : 'skippedTotal'), lang),
    ]),
  );
  const columnOf = new Map(report.header.cells.map((c, i) => [c, i + 1]));
  for (const r of table) {
    const row = sheet.getRow(r.n);
    r.cells.forEach((c, i) => {
      // Plain whole numbers stay numbers; everything else is text, never a formula.
      row.getCell(i + 1).value = /^(0|[1-9]\d{0,14})$/.test(c) ? Number(c) : c;
    });
    const bad = refused.get(r.n);
    if (bad !== undefined) {
      row.getCell(errorCol).value =
        lang === 'en' ? bad.reasons.join('; ') : bad.details.map((d) => reasonText(d, lang)).join('；');
      row.getCell(errorCol).font = BAD_FONT;
      for (const h of bad.columns) {
        const col = columnOf.get(h);
        if (col === undefined) continue;
        row.getCell(col).fill = BAD_FILL;
        row.getCell(col).font = BAD_FONT;
      }
    } else if (skipped.has(r.n)) {
      row.getCell(errorCol).value = skipped.get(r.n)!;
    }
    row.commit();
  }
  const header = sheet.getRow(report.header.row);
  header.getCell(errorCol).value = w.error;
  header.font = { bold: true };
  header.eachCell({ includeEmpty: false }, (c) => {
    c.fill = HEADER_FILL;
  });
  sheet.getColumn(errorCol).width = 60;
  sheet.views = [{ state: 'frozen', ySplit: report.header.row }];
  return Buffer.from(await wb.xlsx.writeBuffer());
}

function styleHeader(sheet: ExcelJS.Worksheet, columns: number): void {
  const row = sheet.getRow(1);
  row.font = { bold: true };
  for (let c = 1; c <= columns; c++) row.getCell(c).fill = HEADER_FILL;
  sheet.views = [{ state: 'frozen', ySplit: 1 }];
}
