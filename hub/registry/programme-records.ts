/**
 * What the programme's targets are measured against beyond machines (docs/statistics.md,
 * "Programme targets"): the targets themselves, digital workshops / smart factories and
 * industrial internet platforms as declared. Each change is checked here (a bad one is a
 * WANJI_E_REGISTRY_PROGRAMME naming what and the fix), written through the hub database's
 * repositories and audited in the same transaction; a refusal is audited too.
 */
import { HubError } from '../errors.js';
import { AuditLog } from '../security/audit.js';
import { HUB_ID_MAX, idReason, shown, unsafeTextReason } from '../security/child-hub-scope.js';
import { PLATFORM_LEVELS, PLATFORM_NAME_MAX, type PlatformLevel } from '../stats/child-report.js';
import type { Registry } from './registry.js';

/**
 * What a target may measure. A kind's unit and cadence say how its figure is made
 * (hub/stats/targets.ts); the values and years are data (migration 9 seeds the action plan's).
 */
export const TARGET_KINDS = {
  networked: { unit: 'count', cadence: 'total' },
  robots: { unit: 'count', cadence: 'total' },
  robotsNewPerYear: { unit: 'count', cadence: 'yearly' },
  workshopsFactories: { unit: 'count', cadence: 'total' },
  benchmarksPerYear: { unit: 'count', cadence: 'yearly' },
  platformsRegional: { unit: 'count', cadence: 'total' },
  platformsIndustry: { unit: 'count', cadence: 'total' },
  platformsEnterprise: { unit: 'count', cadence: 'total' },
  backboneNcRate: { unit: 'rate', cadence: 'total' },
  backboneNetworkingRate: { unit: 'rate', cadence: 'total' },
} as const satisfies Record<string, { unit: 'count' | 'rate'; cadence: 'total' | 'yearly' }>;
export type TargetKind = keyof typeof TARGET_KINDS;
export const TARGET_KIND_NAMES = Object.keys(TARGET_KINDS) as TargetKind[];

export const RECOGNITION_KINDS = ['workshop', 'factory'] as const;
export type RecognitionKind = (typeof RECOGNITION_KINDS)[number];
export { PLATFORM_LEVELS, type PlatformLevel };

export const YEAR_MIN = 2000;
export const YEAR_MAX = 2100;
/** The largest count a target may ask for. */
export const TARGET_COUNT_MAX = 100_000_000;
export const RECOGNITION_NAME_MAX = 200;

export interface Target {
  readonly kind: TargetKind;
  /** null = the city. */
  readonly region: string | null;
  /** The year it is due (a total) or applies to (a yearly kind); null = every year. */
  readonly year: number | null;
  readonly value: number;
  readonly updatedBy: string;
  /** ms since the epoch */
  readonly updatedAt: number;
}

export interface Recognition {
  readonly id: number;
  readonly enterprise: string;
  /** The enterprise's region ('' when it is no longer declared). */
  readonly region: string;
  readonly name: string;
  readonly kind: RecognitionKind;
  readonly benchmark: boolean;
  readonly year: number;
  readonly declaredBy: string;
  readonly declaredAt: number;
}

export interface Platform {
  readonly id: number;
  readonly name: string;
  readonly level: PlatformLevel;
  readonly operator: string;
  /** The operator's region ('' when it is no longer declared). */
  readonly region: string;
  readonly year: number;
  /** The child hub that is this platform, when one reports here. */
  readonly hubId: string | null;
  readonly declaredBy: string;
  readonly declaredAt: number;
}

export interface RecognitionInput {
  readonly enterprise: string;
  readonly name: string;
  readonly kind: string;
  readonly benchmark: boolean;
  readonly year: number;
}

export interface PlatformInput {
  readonly name: string;
  readonly level: string;
  readonly operator: string;
  readonly year: number;
  readonly hubId?: string | null;
}

export interface TargetInput {
  readonly kind: string;
  readonly region?: string | null;
  readonly year?: number | null;
  readonly value: number;
}

export interface RecordActor {
  readonly actor: string;
  readonly source?: string;
  /** Added to the audit entry (an import's file and row). */
  readonly detail?: Readonly<Record<string, unknown>>;
}

const refused = (message: string): HubError => new HubError('WANJI_E_REGISTRY_PROGRAMME', message);

/** Whether the city has only one row of `kind` left. */
const lastCityRow = (rows: readonly { kind: string; region: string }[], kind: string): boolean =>
  rows.filter((r) => r.kind === kind && r.region === '').length <= 1;

const isKind = (k: string): k is TargetKind => Object.hasOwn(TARGET_KINDS, k);
export const isRecognitionKind = (k: string): k is RecognitionKind =>
  (RECOGNITION_KINDS as readonly string[]).includes(k);
export const isPlatformLevel = (l: string): l is PlatformLevel =>
  (PLATFORM_LEVELS as readonly string[]).includes(l);

function yearProblem(what: string, year: number): string | undefined {
  return Number.isInteger(year) && year >= YEAR_MIN && year <= YEAR_MAX
    ? undefined
    : `${what} ${String(year)} is not a year from ${YEAR_MIN} to ${YEAR_MAX}`;
}

function nameProblem(what: string, name: string, max: number): string | undefined {
  if (name.trim() === '') return `${what} is empty`;
  const r = unsafeTextReason(name, max);
  return r === undefined ? undefined : `${what} "${shown(name)}" ${r}`;
}

/** What is wrong with a target; empty when nothing. */
export function targetProblems(registry: Registry, t: TargetInput): string[] {
  const p: string[] = [];
  if (!isKind(t.kind)) {
    p.push(`unknown target kind "${shown(t.kind)}"; kinds: ${TARGET_KIND_NAMES.join(', ')}`);
    return p;
  }
  const region = t.region ?? null;
  if (region !== null && !registry.regions().some((r) => r.code === region)) {
    p.push(
      `unknown region "${shown(region)}"; regions: ${registry
        .regions()
        .map((r) => r.code)
        .join(', ')} (leave it out for the city)`,
    );
  }
  const year = t.year ?? null;
  if (year !== null && year !== 0) {
    const y = yearProblem('year', year);
    if (y !== undefined) p.push(`${y} (0 or none: every year, or no deadline)`);
  }
  const kind = TARGET_KINDS[t.kind];
  if (kind.unit === 'rate' && region !== null)
    p.push(
      `${t.kind} is a threshold every backbone enterprise is judged by, city-wide: leave the region out`,
    );
  if (kind.unit === 'rate') {
    if (!(Number.isFinite(t.value) && t.value > 0 && t.value <= 1))
      p.push(`a ${t.kind} target is a rate above 0 and at most 1 (0.7 for 70 %), not ${String(t.value)}`);
  } else if (!(Number.isInteger(t.value) && t.value >= 1 && t.value <= TARGET_COUNT_MAX)) {
    p.push(`a ${t.kind} target is a whole number from 1 to ${TARGET_COUNT_MAX}, not ${String(t.value)}`);
  }
  return p;
}

/** What is wrong with a workshop / factory declaration; empty when nothing. */
export function recognitionProblems(registry: Registry, r: RecognitionInput): string[] {
  const p: string[] = [];
  if (registry.enterprise(r.enterprise) === undefined)
    p.push(`no enterprise "${shown(r.enterprise)}" in this hub's registry (declare its ledger first)`);
  const n = nameProblem('name', r.name, RECOGNITION_NAME_MAX);
  if (n !== undefined) p.push(n);
  if (!isRecognitionKind(r.kind))
    p.push(`kind "${shown(r.kind)}" is neither workshop (数字化车间) nor factory (智能工厂)`);
  const y = yearProblem('year', r.year);
  if (y !== undefined) p.push(y);
  return p;
}

/** What is wrong with a platform declaration; empty when nothing. */
export function platformProblems(registry: Registry, d: PlatformInput): string[] {
  const p: string[] = [];
  const n = nameProblem('name', d.name, PLATFORM_NAME_MAX);
  if (n !== undefined) p.push(n);
  if (!isPlatformLevel(d.level))
    p.push(
      `level "${shown(d.level)}" is not one of regional (区域级), industry (行业级), enterprise (企业级)`,
    );
  if (registry.enterprise(d.operator) === undefined)
    p.push(
      `no enterprise "${shown(d.operator)}" in this hub's registry to operate it (declare its ledger first)`,
    );
  const y = yearProblem('year', d.year);
  if (y !== undefined) p.push(y);
  if (d.hubId !== undefined && d.hubId !== null) {
    const h = idReason(d.hubId, HUB_ID_MAX);
    if (h !== undefined) p.push(`hubId ${h}`);
  }
  return p;
}

export function targets(registry: Registry): Target[] {
  return registry.database.targets.list().flatMap((r) =>
    isKind(r.kind)
      ? [
          {
            kind: r.kind,
            region: r.region === '' ? null : r.region,
            year: r.year === 0 ? null : r.year,
            value: r.value,
            updatedBy: r.updated_by,
            updatedAt: r.updated_at,
          },
        ]
      : [],
  );
}

export function recognitions(registry: Registry): Recognition[] {
  return registry.database.recognitions.list().map((r) => ({
    id: r.id,
    enterprise: r.enterprise_code,
    region: r.region_code,
    name: r.name,
    kind: r.kind === 'factory' ? 'factory' : 'workshop',
    benchmark: r.benchmark !== 0,
    year: r.year,
    declaredBy: r.declared_by,
    declaredAt: r.declared_at,
  }));
}

export function platforms(registry: Registry): Platform[] {
  return registry.database.platforms.list().flatMap((r) =>
    isPlatformLevel(r.level)
      ? [
          {
            id: r.id,
            name: r.name,
            level: r.level,
            operator: r.operator_code,
            region: r.region_code,
            year: r.year,
            hubId: r.hub_id,
            declaredBy: r.declared_by,
            declaredAt: r.declared_at,
          },
        ]
      : [],
  );
}

/** Writes and audits each change of the programme's records; refuses (audited) what cannot be stored. */
export class ProgrammeRecords {
  readonly #registry: Registry;

  constructor(registry: Registry) {
    this.#registry = registry;
  }

  #audit(by: RecordActor, action: string, target: string, outcome: 'ok' | 'refused', detail: object): void {
    new AuditLog(this.#registry.database, () => this.#registry.now()).record({
      actor: by.actor,
      action,
      target: target.slice(0, 200),
      outcome,
      ...(by.source === undefined ? {} : { source: by.source }),
      detail: { ...by.detail, ...detail },
    });
  }

  #refuse(by: RecordActor, action: string, target: string, problems: readonly string[]): never {
    const reason = problems.join('; ');
    this.#audit(by, action, target, 'refused', { reason: reason.slice(0, 2_000) });
    throw refused(reason);
  }

  setTarget(t: TargetInput, by: RecordActor): Target {
    const what = `${t.kind}${t.region ? `/${t.region}` : ''}${t.year ? `/${t.year}` : ''}`;
    const p = targetProblems(this.#registry, t);
    if (p.length > 0) this.#refuse(by, 'target.set', what, p);
    const db = this.#registry.database;
    const now = this.#registry.now();
    const region = t.region ?? '';
    const year = t.year ?? 0;
    return db.transaction(() => {
      const before = db.targets.get(t.kind, region, year);
      db.targets.put({ kind: t.kind, region, year, value: t.value, updated_by: by.actor, updated_at: now });
      this.#audit(by, 'target.set', what, 'ok', { value: t.value, before: before?.value ?? null });
      return {
        kind: t.kind as TargetKind,
        region: region === '' ? null : region,
        year: year === 0 ? null : year,
        value: t.value,
        updatedBy: by.actor,
        updatedAt: now,
      };
    });
  }

  deleteTarget(kind: string, region: string | null, year: number | null, by: RecordActor): void {
    const what = `${kind}${region ? `/${region}` : ''}${year ? `/${year}` : ''}`;
    const db = this.#registry.database;
    if (
      isKind(kind) &&
      TARGET_KINDS[kind].unit === 'rate' &&
      db.targets.get(kind, region ?? '', year ?? 0) !== undefined &&
      lastCityRow(db.targets.list(), kind)
    ) {
      this.#refuse(by, 'target.delete', what, [
        `the statistics judge every backbone enterprise by the city's ${kind}: set another value (or add one for another year first) instead of deleting the last one`,
      ]);
    }
    const gone = db.transaction(() => {
      const before = db.targets.get(kind, region ?? '', year ?? 0);
      if (before === undefined) return false;
      db.targets.delete(kind, region ?? '', year ?? 0);
      this.#audit(by, 'target.delete', what, 'ok', { value: before.value });
      return true;
    });
    if (!gone) {
      this.#audit(by, 'target.delete', what, 'refused', { reason: 'no such target' });
      throw new HubError(
        'WANJI_E_API_NOT_FOUND',
        `no ${shown(kind)} target for ${region ?? 'the city'}, year ${year ?? 'every year'}`,
      );
    }
  }

  /** Declares (or re-declares: same enterprise, kind and name) a workshop or factory. */
  declareRecognition(r: RecognitionInput, by: RecordActor): { recognition: Recognition; created: boolean } {
    const p = recognitionProblems(this.#registry, r);
    if (p.length > 0) this.#refuse(by, 'recognition.declare', `${r.enterprise}/${r.name}`, p);
    const db = this.#registry.database;
    const now = this.#registry.now();
    return db.transaction(() => {
      const before = db.recognitions.find(r.enterprise, r.kind, r.name);
      const id = db.recognitions.upsert({
        enterprise_code: r.enterprise,
        name: r.name,
        kind: r.kind,
        benchmark: r.benchmark ? 1 : 0,
        year: r.year,
        declared_by: by.actor,
        declared_at: now,
      });
      this.#audit(by, 'recognition.declare', `${r.enterprise}/${r.name}`, 'ok', {
        id,
        kind: r.kind,
        benchmark: r.benchmark,
        year: r.year,
        ...(before === undefined ? {} : { before: { benchmark: before.benchmark !== 0, year: before.year } }),
      });
      return {
        recognition: recognitions(this.#registry).find((x) => x.id === id)!,
        created: before === undefined,
      };
    });
  }

  deleteRecognition(id: number, by: RecordActor): Recognition {
    const db = this.#registry.database;
    const found = recognitions(this.#registry).find((x) => x.id === id);
    if (found === undefined) {
      this.#audit(by, 'recognition.delete', String(id), 'refused', { reason: 'no such declaration' });
      throw new HubError('WANJI_E_API_NOT_FOUND', `no workshop or factory declaration ${id}`);
    }
    db.transaction(() => {
      db.recognitions.delete(id);
      this.#audit(by, 'recognition.delete', `${found.enterprise}/${found.name}`, 'ok', { id });
    });
    return found;
  }

  /** Declares (or re-declares, by name) an industrial internet platform. */
  declarePlatform(d: PlatformInput, by: RecordActor): { platform: Platform; created: boolean } {
    const p = platformProblems(this.#registry, d);
    if (p.length > 0) this.#refuse(by, 'platform.declare', d.name, p);
    const db = this.#registry.database;
    const now = this.#registry.now();
    return db.transaction(() => {
      const before = db.platforms.byName(d.name);
      const id = db.platforms.upsert({
        name: d.name,
        level: d.level,
        operator_code: d.operator,
        year: d.year,
        hub_id: d.hubId ?? null,
        declared_by: by.actor,
        declared_at: now,
      });
      this.#audit(by, 'platform.declare', d.name, 'ok', {
        id,
        level: d.level,
        operator: d.operator,
        year: d.year,
        hubId: d.hubId ?? null,
        ...(before === undefined ? {} : { before: { level: before.level, year: before.year } }),
      });
      return { platform: platforms(this.#registry).find((x) => x.id === id)!, created: before === undefined };
    });
  }

  deletePlatform(id: number, by: RecordActor): Platform {
    const db = this.#registry.database;
    const found = platforms(this.#registry).find((x) => x.id === id);
    if (found === undefined) {
      this.#audit(by, 'platform.delete', String(id), 'refused', { reason: 'no such declaration' });
      throw new HubError('WANJI_E_API_NOT_FOUND', `no platform declaration ${id}`);
    }
    db.transaction(() => {
      db.platforms.delete(id);
      this.#audit(by, 'platform.delete', found.name, 'ok', { id });
    });
    return found;
  }
}
