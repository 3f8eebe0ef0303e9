/**
 * Reporting units and ledgers (docs/domain.md). Regions and industries are data, not enums:
 * these lists only seed the hub's registry, which may add, rename or retire entries.
 */

export interface RegionSeed {
  /** Stable code used in APIs and Sparkplug-free references. */
  readonly code: string;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly aliases: readonly string[];
}

export interface IndustrySeed {
  readonly code: string;
  readonly nameZh: string;
  readonly nameEn: string;
  readonly aliases: readonly string[];
  /** One of the plan's eight key sub-industries ("8"), or one of the "N". */
  readonly keySubIndustry: boolean;
}

export const REGION_SEEDS: readonly RegionSeed[] = [
  { code: 'wucheng', nameZh: '婺城区', nameEn: 'Wucheng District', aliases: ['婺城'] },
  { code: 'jindong', nameZh: '金东区', nameEn: 'Jindong District', aliases: ['金东'] },
  { code: 'lanxi', nameZh: '兰溪市', nameEn: 'Lanxi City', aliases: ['兰溪'] },
  { code: 'dongyang', nameZh: '东阳市', nameEn: 'Dongyang City', aliases: ['东阳'] },
  { code: 'yiwu', nameZh: '义乌市', nameEn: 'Yiwu City', aliases: ['义乌'] },
  { code: 'yongkang', nameZh: '永康市', nameEn: 'Yongkang City', aliases: ['永康'] },
  { code: 'pujiang', nameZh: '浦江县', nameEn: 'Pujiang County', aliases: ['浦江'] },
  { code: 'wuyi', nameZh: '武义县', nameEn: 'Wuyi County', aliases: ['武义'] },
  { code: 'panan', nameZh: '磐安县', nameEn: "Pan'an County", aliases: ['磐安'] },
  {
    code: 'jinhua-dev',
    nameZh: '金华开发区',
    nameEn: 'Jinhua Development Zone',
    aliases: ['开发区', '金华经济技术开发区'],
  },
  { code: 'jinyi', nameZh: '金义新区', nameEn: 'Jinyi New Area', aliases: ['金义都市新区'] },
];

export const INDUSTRY_SEEDS: readonly IndustrySeed[] = [
  {
    code: 'nev',
    nameZh: '新能源汽车及配件',
    nameEn: 'NEV and parts',
    aliases: ['新能源汽车'],
    keySubIndustry: true,
  },
  {
    code: 'smart-door',
    nameZh: '智能门(锁)',
    nameEn: 'Smart doors and locks',
    aliases: ['智能门锁', '门业'],
    keySubIndustry: true,
  },
  { code: 'flask', nameZh: '保温杯(壶)', nameEn: 'Vacuum flasks', aliases: ['保温杯'], keySubIndustry: true },
  {
    code: 'magnetic',
    nameZh: '磁性和石墨烯材料',
    nameEn: 'Magnetic and graphene materials',
    aliases: ['磁性材料'],
    keySubIndustry: true,
  },
  {
    code: 'power-tools',
    nameZh: '电动(园林)工具',
    nameEn: 'Power and garden tools',
    aliases: ['电动工具'],
    keySubIndustry: true,
  },
  { code: 'optoelectronics', nameZh: '光电', nameEn: 'Optoelectronics', aliases: [], keySubIndustry: true },
  { code: 'biomedicine', nameZh: '生物医药', nameEn: 'Biomedicine', aliases: [], keySubIndustry: true },
  { code: 'smart-home', nameZh: '智能家居', nameEn: 'Smart home', aliases: [], keySubIndustry: true },
  { code: 'textiles', nameZh: '时尚纺织', nameEn: 'Textiles', aliases: ['纺织'], keySubIndustry: false },
  {
    code: 'high-end-equipment',
    nameZh: '高端装备',
    nameEn: 'High-end equipment',
    aliases: [],
    keySubIndustry: false,
  },
  {
    code: 'energy-saving',
    nameZh: '节能环保',
    nameEn: 'Energy saving and environmental',
    aliases: [],
    keySubIndustry: false,
  },
  {
    code: 'culture-tourism',
    nameZh: '文旅休闲',
    nameEn: 'Culture, tourism and leisure',
    aliases: [],
    keySubIndustry: false,
  },
  { code: 'hardware', nameZh: '五金', nameEn: 'Hardware', aliases: [], keySubIndustry: false },
  {
    code: 'auto-moto-parts',
    nameZh: '汽摩配',
    nameEn: 'Auto and motorcycle parts',
    aliases: ['汽摩配件'],
    keySubIndustry: false,
  },
  { code: 'knitting', nameZh: '针织', nameEn: 'Knitting', aliases: [], keySubIndustry: false },
];

/** What an enterprise declares (设备台账): the denominators of every rate. */
export interface Ledger {
  /** Production equipment total (生产设备). */
  readonly productionEquipment: number;
  /** NC equipment (数控设备), a subset of production equipment. */
  readonly ncEquipment: number;
  /** Industrial robots in service (工业机器人). */
  readonly robots: number;
}

/** An enterprise as a fleet plan or an import declares it. */
export interface EnterpriseDeclaration {
  /** Stable code; also the Sparkplug group id of the enterprise's gateways. */
  readonly code: string;
  readonly name: string;
  readonly regionCode: string;
  readonly industryCode: string;
  /** 骨干企业: judged against networking rate ≥ 50 % and NC rate ≥ 70 %. */
  readonly backbone: boolean;
  readonly ledger: Ledger;
}

// The programme's targets (万机联网: 10,000 networked machines; backbone 机器联网率 ≥ 50 %,
// 装备数控化率 ≥ 70 %) are registry data, not constants: migration 9 seeds the action plan's
// and the bureau edits them (docs/statistics.md, "Targets and thresholds").
