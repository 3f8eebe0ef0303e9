/**
 * Plausible enterprise names and per-industry machine mixes for generated fleets.
 * Names are made up from common trade-name characters; any match with a real company is chance.
 */
import type { RegionSeed } from '../protocol/domain.js';
import type { SimKind } from './profiles/index.js';
import type { Random } from './random.js';

const FIRST = [
  '宏',
  '恒',
  '华',
  '金',
  '鑫',
  '永',
  '博',
  '天',
  '瑞',
  '嘉',
  '东',
  '国',
  '振',
  '立',
  '新',
  '海',
  '富',
  '联',
  '昌',
  '益',
  '正',
  '明',
  '德',
  '兴',
];
const SECOND = [
  '达',
  '通',
  '美',
  '盛',
  '源',
  '远',
  '成',
  '丰',
  '禾',
  '升',
  '强',
  '信',
  '宇',
  '诚',
  '泰',
  '创',
  '隆',
  '发',
  '利',
  '安',
];

/** What a company in an industry calls its trade in its name. */
const TRADE: Readonly<Record<string, readonly string[]>> = {
  nev: ['新能源汽车部件', '汽车零部件', '动力科技'],
  'smart-door': ['门业', '智能锁业', '安防科技'],
  flask: ['杯业', '不锈钢制品', '日用品'],
  magnetic: ['磁业', '磁性材料', '新材料科技'],
  'power-tools': ['电动工具', '园林工具', '电器'],
  optoelectronics: ['光电科技', '照明电器', '电子科技'],
  biomedicine: ['生物医药', '医疗器械', '药业'],
  'smart-home': ['智能家居', '家居用品', '电器科技'],
  textiles: ['纺织', '织造', '服饰'],
  'high-end-equipment': ['机械', '精密机械', '装备制造'],
  'energy-saving': ['环保科技', '节能设备', '环境工程'],
  'culture-tourism': ['文体用品', '工艺品', '休闲用品'],
  hardware: ['五金制品', '工贸', '金属制品'],
  'auto-moto-parts': ['汽摩配件', '机车部件', '车业'],
  knitting: ['针织', '袜业', '织造'],
};

const FORM = ['有限公司', '有限公司', '有限公司', '股份有限公司'];

/** Districts and zones of the prefecture city register companies under the city's name. */
const CITY_DISTRICTS = new Set(['wucheng', 'jindong', 'jinhua-dev', 'jinyi']);

/** Where a company name starts: 金华市 for a city district, else the county or county-level city. */
function placePrefix(region: RegionSeed): string {
  return CITY_DISTRICTS.has(region.code) ? '金华市' : region.nameZh;
}

/** A company name; `taken` avoids duplicates within a fleet. */
export function companyName(
  rng: Random,
  region: RegionSeed,
  industryCode: string,
  taken: Set<string>,
): string {
  const trades = TRADE[industryCode] ?? ['工贸'];
  for (let attempt = 0; ; attempt++) {
    // Two-character trade names run out in huge fleets; three characters then, a number at last.
    const brand = rng.pick(FIRST) + rng.pick(SECOND) + (attempt < 20 ? '' : rng.pick(SECOND));
    const branch = attempt < 1000 ? '' : String(attempt);
    const prefix = rng.chance(0.2) ? '浙江' : placePrefix(region);
    const name = `${prefix}${brand}${rng.pick(trades)}${branch}${rng.pick(FORM)}`;
    if (!taken.has(name)) {
      taken.add(name);
      return name;
    }
  }
}

/** Machine kind weights by industry: looms in textiles, presses and CNCs in hardware, … */
const KIND_MIX: Readonly<Record<string, readonly (readonly [SimKind, number])[]>> = {
  nev: [
    ['cnc', 5],
    ['press', 3],
    ['robot', 3],
    ['injection', 2],
  ],
  'smart-door': [
    ['cnc', 4],
    ['press', 4],
    ['robot', 1],
    ['injection', 1],
  ],
  flask: [
    ['press', 4],
    ['cnc', 3],
    ['robot', 2],
    ['injection', 2],
  ],
  magnetic: [
    ['press', 5],
    ['cnc', 3],
    ['robot', 1],
  ],
  'power-tools': [
    ['cnc', 4],
    ['injection', 4],
    ['press', 2],
    ['robot', 2],
  ],
  optoelectronics: [
    ['injection', 4],
    ['cnc', 3],
    ['robot', 2],
  ],
  biomedicine: [
    ['injection', 5],
    ['robot', 2],
    ['cnc', 1],
  ],
  'smart-home': [
    ['injection', 5],
    ['cnc', 2],
    ['robot', 2],
    ['press', 1],
  ],
  textiles: [
    ['loom', 9],
    ['robot', 1],
  ],
  'high-end-equipment': [
    ['cnc', 6],
    ['robot', 3],
    ['press', 1],
  ],
  'energy-saving': [
    ['cnc', 4],
    ['press', 3],
    ['injection', 2],
  ],
  'culture-tourism': [
    ['injection', 4],
    ['cnc', 2],
    ['loom', 2],
  ],
  hardware: [
    ['press', 5],
    ['cnc', 4],
    ['robot', 1],
  ],
  'auto-moto-parts': [
    ['cnc', 5],
    ['press', 3],
    ['robot', 2],
    ['injection', 1],
  ],
  knitting: [
    ['loom', 9],
    ['injection', 1],
  ],
};

const DEFAULT_MIX: readonly (readonly [SimKind, number])[] = [
  ['cnc', 3],
  ['injection', 2],
  ['press', 2],
  ['loom', 1],
  ['robot', 1],
];

export function kindMix(industryCode: string): readonly (readonly [SimKind, number])[] {
  return KIND_MIX[industryCode] ?? DEFAULT_MIX;
}
