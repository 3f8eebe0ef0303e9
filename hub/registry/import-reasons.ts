/**
 * Why an import refused a row or a whole file, as a stable code and its parameters (docs/api.md
 * "Imports"), beside the English sentence the report has always carried (`reasons`, `message`).
 * One catalogue of the wording in both languages: the hub writes the annotated error
 * spreadsheet with it (import-sheets.ts) and the web app renders the same codes through
 * vue-i18n (web/src/i18n/imports.ts builds its messages from this file). No imports: the web
 * app bundles it.
 *
 * Templates use `{name}` placeholders. Two parameters name a word rather than carry one: `field`
 * (a column: FIELD_WORDS) and `kind` (a kind of character: CHARACTER_WORDS); a renderer puts the
 * word of its language in their place. A number parameter is a count, written as the language
 * writes numbers (12,000); row numbers and years are strings, shown as they are.
 */

export type ReasonParams = Readonly<Record<string, string | number>>;

/** One reason: the code, what it is about, and the English sentence. */
export interface ImportReason {
  readonly code: ImportReasonCode;
  readonly params: ReasonParams;
}

export type ImportLanguage = 'zh-CN' | 'en';

const EN = {
  // A row of the file.
  empty: '{field} is empty',
  regionUnknown: 'unknown region "{value}"; valid regions: {valid}',
  industryUnknown:
    'unknown industry "{value}"; valid industries: {valid} (an admin may add an alias on the ledger upload page)',
  notYesNo: '{field} "{value}" is neither yes (是) nor no (否)',
  notWholeNumber: '{field} "{value}" is not a whole number ≥ 0',
  mqttCharacters:
    '{field} "{value}" contains one of the MQTT characters + # / (it becomes part of MQTT topics: an enterprise code is the gateways\' Sparkplug group id)',
  unsafeCharacter: '{field} "{value}" contains {kind} ({char})',
  tooLong: '{field} is longer than {max} characters ("{value}")',
  notPlainForm: '{field} "{value}" is not in its plain (NFKC) form: write it as "{plain}"',
  ncExceedsProduction: 'NC equipment ({nc}) exceeds production equipment ({production})',
  looksLikeRegistered:
    'code "{value}" looks like the registered enterprise "{existing}" (same letters ignoring case and full-width forms): use "{existing}" to declare for it, or a code that differs',
  codeRepeated: 'code "{value}" appears in rows {rows}: keep one',
  codeRepeatedMore: 'code "{value}" appears in rows {rows} and {more} more: keep one',
  looksLikeInFile:
    'code "{value}" looks like {others} in the same file (same letters ignoring case and full-width forms): keep one',
  yearInvalid: 'year "{value}" is not a year such as 2022',
  yearOutOfRange: 'year {value} is not a year from {min} to {max}',
  kindUnknown: 'kind "{value}" is neither 数字化车间 (workshop) nor 智能工厂 (factory)',
  levelUnknown: 'level "{value}" is not one of 区域级 (regional), 行业级 (industry), 企业级 (enterprise)',
  enterpriseUnknown: 'no enterprise "{value}" in this hub\'s registry (declare its ledger first)',
  operatorUnknown: 'no enterprise "{value}" in this hub\'s registry to operate it (declare its ledger first)',
  recognitionRepeated: 'the same workshop or factory appears in rows {rows}: keep one',
  platformRepeated: 'the same platform appears in rows {rows}: keep one',
  targetKindUnknown: 'unknown target kind "{value}"; kinds: {kinds}',
  targetValueInvalid: 'value "{value}" is not a number (a rate may be written 70% or 0.7)',
  rateCityWide: 'a backbone threshold is the same for the whole city: leave the region empty',
  rateOutOfRange: 'a rate target is above 0 and at most 100% (0.7 or 70%), not {value}',
  countOutOfRange: 'a count target is a whole number from 1 to {max}, not {value}',
  targetRepeated: 'the same target (kind, region, year) appears in rows {rows}: keep one',
  // Rows left out on purpose.
  skippedTitle: 'above the header row (a title): skipped',
  skippedTotal: 'a total (合计) row: not a record, skipped',
  // The whole file.
  fileEmpty: 'the file is empty (no header row)',
  columnMissing: 'no {field} column (one of: {names})',
  columnRepeated: 'column "{column}" repeats the {field} column',
  tooLarge:
    'larger than {maxBytes} bytes, the most one import takes; split the file (at most {maxRows} rows each)',
  tooManyRows: 'more than {max} rows after the header (blank rows count too): split the file',
  tooManyCells: 'more than {max} cells: delete the columns the import does not need, or split the file',
  beyondColumn:
    'row {row} has a value in column {column}; an import reads at most {max} columns: delete the cells to the right',
  cellTooLong:
    'row {row}, column {column} holds more than {max} characters (the most a spreadsheet cell holds)',
  notSpreadsheet: 'send the file as CSV (text/csv) or Excel XLSX',
  fileUnreadable: 'the file cannot be read: {detail}',
  // A reason the catalogue has no words for yet: its English sentence.
  other: '{text}',
} as const;

export type ImportReasonCode = keyof typeof EN;

const ZH: Readonly<Record<ImportReasonCode, string>> = {
  empty: '{field}为空',
  regionUnknown: '未知的区县“{value}”；可填写的区县：{valid}',
  industryUnknown: '未知的行业“{value}”；可填写的行业：{valid}（管理员可在台账导入页添加行业别名）',
  notYesNo: '{field}“{value}”应为“是”或“否”',
  notWholeNumber: '{field}“{value}”不是大于或等于 0 的整数',
  mqttCharacters:
    '{field}“{value}”含有 MQTT 保留字符 + # /（它会成为 MQTT 主题的一部分：企业代码即网关的 Sparkplug 组 ID）',
  unsafeCharacter: '{field}“{value}”含有{kind}（{char}）',
  tooLong: '{field}超过 {max} 个字符（“{value}”）',
  notPlainForm: '{field}“{value}”含全角或兼容字符：请写作“{plain}”',
  ncExceedsProduction: '数控设备数（{nc}）大于生产设备总数（{production}）',
  looksLikeRegistered:
    '企业代码“{value}”与已登记企业“{existing}”仅大小写或全角/半角不同：为该企业申报请写“{existing}”，否则请换一个不同的代码',
  codeRepeated: '企业代码“{value}”在第 {rows} 行重复出现：请只保留一行',
  codeRepeatedMore: '企业代码“{value}”在第 {rows} 行及另外 {more} 行重复出现：请只保留一行',
  looksLikeInFile: '企业代码“{value}”与同一文件中的 {others} 仅大小写或全角/半角不同：请只保留一个',
  yearInvalid: '年份“{value}”不是有效年份（如 2022）',
  yearOutOfRange: '年份 {value} 不在 {min} 至 {max} 之间',
  kindUnknown: '类型“{value}”应为“数字化车间”或“智能工厂”',
  levelUnknown: '级别“{value}”应为“区域级”“行业级”或“企业级”',
  enterpriseUnknown: '本平台登记中没有企业“{value}”（请先申报其台账）',
  operatorUnknown: '本平台登记中没有运营企业“{value}”（请先申报其台账）',
  recognitionRepeated: '同一车间或工厂在第 {rows} 行重复出现：请只保留一行',
  platformRepeated: '同一平台在第 {rows} 行重复出现：请只保留一行',
  targetKindUnknown: '未知的目标类型“{value}”；可填写：{kinds}',
  targetValueInvalid: '目标值“{value}”不是数字（比率可写作 70% 或 0.7）',
  rateCityWide: '骨干企业的比率目标全市统一：区县请留空',
  rateOutOfRange: '比率目标应大于 0 且不超过 100%（0.7 或 70%），而不是 {value}',
  countOutOfRange: '数量目标应为 1 至 {max} 的整数，而不是 {value}',
  targetRepeated: '同一目标（类型、区县、年份）在第 {rows} 行重复出现：请只保留一行',
  skippedTitle: '表头上方的标题行：已跳过',
  skippedTotal: '合计行：不是记录，已跳过',
  fileEmpty: '文件为空（没有表头行）',
  columnMissing: '缺少“{field}”列（可用列名：{names}）',
  columnRepeated: '“{column}”列与另一“{field}”列重复',
  tooLarge: '文件超过 {maxBytes} 字节，超出单次导入上限：请拆分文件（每个最多 {maxRows} 行）',
  tooManyRows: '表头以下超过 {max} 行（空行也计入）：请拆分文件',
  tooManyCells: '单元格超过 {max} 个：请删除导入不需要的列，或拆分文件',
  beyondColumn: '第 {row} 行第 {column} 列有内容；导入最多读取 {max} 列：请删除右侧的单元格',
  cellTooLong: '第 {row} 行第 {column} 列超过 {max} 个字符（单元格的上限）',
  notSpreadsheet: '请以 CSV（text/csv）或 Excel XLSX 文件上传',
  fileUnreadable: '无法读取文件：{detail}',
  other: '{text}',
};

export const REASON_TEMPLATES: Readonly<Record<ImportLanguage, Readonly<Record<ImportReasonCode, string>>>> =
  {
    'zh-CN': ZH,
    en: EN,
  };

/** The columns of the imports, by the field ids the reasons use. */
export const FIELD_WORDS: Readonly<Record<ImportLanguage, Readonly<Record<string, string>>>> = {
  'zh-CN': {
    code: '企业代码',
    name: '名称',
    region: '区县',
    industry: '行业',
    backbone: '是否骨干企业',
    production: '生产设备总数',
    nc: '数控设备数',
    robots: '工业机器人数',
    declaredBy: '申报人',
    enterprise: '企业代码',
    kind: '类型',
    benchmark: '是否标杆',
    year: '年份',
    level: '级别',
    operator: '运营企业',
    hubId: '下级平台 ID',
    value: '目标值',
  },
  en: {
    code: 'code',
    name: 'name',
    region: 'region',
    industry: 'industry',
    backbone: 'backbone',
    production: 'production equipment',
    nc: 'NC equipment',
    robots: 'robots',
    declaredBy: 'declared by',
    enterprise: 'enterprise',
    kind: 'kind',
    benchmark: 'benchmark',
    year: 'year',
    level: 'level',
    operator: 'operator',
    hubId: 'hub id',
    value: 'value',
  },
};

/** The kinds of character a name may not hold (protocol/sparkplug/names.ts). */
export const CHARACTER_WORDS: Readonly<Record<ImportLanguage, Readonly<Record<string, string>>>> = {
  'zh-CN': {
    control: '控制字符',
    bidi: '双向文本控制字符',
    lineSeparator: '行分隔符',
    invisible: '不可见字符',
  },
  en: {
    control: 'a control character',
    bidi: 'a bidirectional control character',
    lineSeparator: 'a line separator',
    invisible: 'an invisible character',
  },
};

/** A reason. */
export const reason = (code: ImportReasonCode, params: ReasonParams = {}): ImportReason => ({ code, params });

/** The parameters with `field` and `kind` replaced by the words of `lang`. */
export function reasonParams(r: ImportReason, lang: ImportLanguage): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(r.params)) {
    const s = String(v);
    out[k] =
      k === 'field'
        ? (FIELD_WORDS[lang][s] ?? s)
        : k === 'kind'
          ? (CHARACTER_WORDS[lang][s] ?? s)
          : typeof v === 'number'
            ? v.toLocaleString(lang === 'zh-CN' ? 'zh-CN' : 'en-US')
            : s;
  }
  return out;
}

/** The reason in words of `lang`; an unknown code or parameter is shown as it is. */
export function reasonText(r: ImportReason, lang: ImportLanguage): string {
  const template = REASON_TEMPLATES[lang][r.code] ?? r.code;
  const params = reasonParams(r, lang);
  return template.replace(/\{(\w+)\}/g, (m, k: string) => params[k] ?? m);
}
