/**
 * A child hub's report (docs/statistics.md, "Several hubs"): the wire format the child sends
 * (hub/stats/parent.ts) and the parent accepts, and what makes one acceptable: in itself (ids,
 * text, counts that nest within the ledgers it declares), in time (the hub's `limits`) and
 * against the scope of the sending `child-hub` token and the parent's registry. Keeping the
 * reports, reading them back and counting them is hub/stats/children.ts.
 */
import { type Static, Type } from '@sinclair/typebox';
import type { Registry } from '../registry/registry.js';
import {
  type ChildHubScope,
  ENTERPRISE_CODE_MAX,
  HUB_ID_MAX,
  idReason,
  shown,
  unsafeTextReason,
} from '../security/child-hub-scope.js';

/** Enterprises in one report: a city's worth, with room to spare. */
export const MAX_REPORT_ENTERPRISES = 50_000;
/** Any one count or ledger figure of one enterprise (no enterprise declares more machines). */
export const MAX_REPORT_COUNT = 1_000_000;
const NAME_MAX = 500;
/** Region and industry codes (as the registry's own). */
const CODE_MAX = 200;
/** The largest time a JavaScript Date holds (ms since the epoch). */
export const LATEST_DATE = 8_640_000_000_000_000;
const WINDOW_MAX = 3_650 * 86_400_000;

const Count = Type.Integer({ minimum: 0, maximum: MAX_REPORT_COUNT });
const ActivitySchema = Type.Object(
  {
    machines: Count,
    networked: Count,
    online: Count,
    poweredOn: Count,
    networkedNc: Count,
    networkedRobots: Count,
  },
  { additionalProperties: false },
);
const Window = Type.Integer({ minimum: 0, maximum: WINDOW_MAX });

/** An industrial internet platform's level (工业互联网平台: 区域级, 行业级, 企业级). */
export const PLATFORM_LEVELS = ['regional', 'industry', 'enterprise'] as const;
export type PlatformLevel = (typeof PLATFORM_LEVELS)[number];
export const PLATFORM_NAME_MAX = 200;
export const PlatformSchema = Type.Object(
  {
    name: Type.String({ minLength: 1, maxLength: PLATFORM_NAME_MAX }),
    level: Type.Union(PLATFORM_LEVELS.map((l) => Type.Literal(l))),
  },
  { additionalProperties: false },
);

export const ChildReportSchema = Type.Object(
  {
    hubId: Type.String({ minLength: 1, maxLength: HUB_ID_MAX }),
    /** ms since the epoch, the child's clock. */
    generatedAt: Type.Integer({ minimum: 0, maximum: LATEST_DATE }),
    windows: Type.Object({ networkingMs: Window, onlineMs: Window }, { additionalProperties: false }),
    enterprises: Type.Array(
      Type.Object(
        {
          code: Type.String({ minLength: 1, maxLength: ENTERPRISE_CODE_MAX }),
          name: Type.String({ maxLength: NAME_MAX }),
          regionCode: Type.String({ maxLength: CODE_MAX }),
          industryCode: Type.String({ maxLength: CODE_MAX }),
          backbone: Type.Boolean(),
          ledger: Type.Object(
            { productionEquipment: Count, ncEquipment: Count, robots: Count },
            { additionalProperties: false },
          ),
          activity: ActivitySchema,
        },
        { additionalProperties: false },
      ),
      { maxItems: MAX_REPORT_ENTERPRISES },
    ),
    unattributed: ActivitySchema,
    /**
     * The industrial internet platform this child hub is, when it is one (hub config
     * `parent.platform`): the parent counts it under its level (docs/statistics.md, "Programme
     * targets"). One per report, so a child adds at most one platform.
     */
    platform: Type.Optional(PlatformSchema),
  },
  { additionalProperties: false },
);
export type ChildReport = Static<typeof ChildReportSchema>;

/** The hub's bounds on a report's time (hub config `limits`). */
export interface ReportLimits {
  /** generatedAt may lie at most this far ahead of the parent's clock. */
  readonly maxFutureSkewMs: number;
  /** generatedAt may lie at most this far behind it; an older stored report is stale. */
  readonly maxPastMs: number;
}

export const DEFAULT_REPORT_LIMITS: ReportLimits = {
  maxFutureSkewMs: 5 * 60_000,
  maxPastMs: 31 * 86_400_000,
};

const iso = (ms: number): string => new Date(ms).toISOString();
const plural = (n: number, one: string): string => `${n} ${one}${n === 1 ? '' : 's'}`;

/**
 * What is wrong with a child's report in itself, whoever sent it; empty when nothing. These
 * are checked again on every stored row when it is read.
 */
export function childReportProblems(r: ChildReport): string[] {
  const problems: string[] = [];
  const hubReason = idReason(r.hubId, HUB_ID_MAX);
  if (hubReason !== undefined) problems.push(`hubId ${hubReason}`);
  const platformReason =
    r.platform === undefined ? undefined : unsafeTextReason(r.platform.name, PLATFORM_NAME_MAX);
  if (platformReason !== undefined) problems.push(`platform.name ${platformReason}`);
  const seen = new Set<string>();
  let equipment = 0;
  let machines = r.unattributed.machines;
  for (const e of r.enterprises) {
    const what = `enterprise "${shown(e.code)}"`;
    const codeReason = idReason(e.code, ENTERPRISE_CODE_MAX);
    if (codeReason !== undefined) problems.push(`enterprise code ${codeReason}`);
    for (const [field, text, max] of [
      ['name', e.name, NAME_MAX],
      ['regionCode', e.regionCode, CODE_MAX],
      ['industryCode', e.industryCode, CODE_MAX],
    ] as const) {
      const reason = unsafeTextReason(text, max);
      if (reason !== undefined) problems.push(`${what}: ${field} ${reason}`);
    }
    if (seen.has(e.code)) problems.push(`${what} appears twice`);
    seen.add(e.code);
    if (e.ledger.ncEquipment > e.ledger.productionEquipment) {
      problems.push(`${what}: NC equipment exceeds production equipment`);
    }
    // Networked, online and powered-on machines nest within `machines` (checked below).
    if (e.activity.machines > e.ledger.productionEquipment) {
      problems.push(
        `${what}: ${plural(e.activity.machines, 'machine')} reported, more than its declared production equipment (${e.ledger.productionEquipment})`,
      );
    }
    equipment += e.ledger.productionEquipment;
    machines += e.activity.machines;
  }
  if (machines > equipment) {
    problems.push(
      `${plural(machines, 'machine')} in all (unattributed included), more than the production equipment the report declares (${equipment})`,
    );
  }
  for (const [what, a] of [
    ...r.enterprises.map((e) => [`enterprise "${shown(e.code)}"`, e.activity] as const),
    ['unattributed', r.unattributed] as const,
  ]) {
    if (a.networked > a.machines || a.online > a.machines || a.poweredOn > a.online) {
      problems.push(`${what}: counts do not nest (poweredOn ≤ online ≤ machines, networked ≤ machines)`);
    }
    if (a.networkedNc > a.networked || a.networkedRobots > a.networked) {
      problems.push(`${what}: networked NC machines and robots cannot exceed networked machines`);
    }
    if (problems.length >= 20) break;
  }
  return problems.slice(0, 20);
}

/** Why the report's time is unusable at `now`; undefined when it is within the limits. */
function timeProblem(generatedAt: number, now: number, limits: ReportLimits): string | undefined {
  if (generatedAt > now + limits.maxFutureSkewMs) {
    return `generatedAt ${iso(generatedAt)} is more than ${limits.maxFutureSkewMs} ms ahead of this hub's clock (${iso(now)}, limits.maxFutureSkewMs); check the child's clock`;
  }
  if (generatedAt < now - limits.maxPastMs) {
    return `generatedAt ${iso(generatedAt)} is older than limits.maxPastMs (${limits.maxPastMs} ms) before this hub's clock (${iso(now)})`;
  }
  return undefined;
}

/**
 * What in the report lies outside the token's scope or contradicts this hub's registry: the
 * hub id, each enterprise's region (one this hub knows, and the region this hub has it in) and,
 * for an enterprise this hub declares itself, its counts within this hub's ledger.
 */
function scopeProblems(registry: Registry, r: ChildReport, scope: ChildHubScope): string[] {
  const problems: string[] = [];
  if (r.hubId !== scope.hubId) {
    problems.push(`hubId "${shown(r.hubId)}" is not this token's hub id ("${shown(scope.hubId)}")`);
  }
  const regions = new Set(registry.regions().map((x) => x.code));
  const own = new Map(registry.enterprises().map((e) => [e.code, e]));
  const codes = new Set(scope.enterprises);
  const allowed = [
    ...(scope.regions.length > 0 ? [`regions ${scope.regions.join(', ')}`] : []),
    ...(codes.size > 0 ? [`${plural(codes.size, 'listed enterprise')}`] : []),
  ].join(' and ');
  for (const e of r.enterprises) {
    if (problems.length >= 20) break;
    const what = `enterprise "${shown(e.code)}"`;
    const mine = own.get(e.code);
    if (!regions.has(e.regionCode)) {
      problems.push(`${what}: region "${shown(e.regionCode)}" is not a region of this hub`);
      continue;
    }
    if (mine !== undefined && mine.regionCode !== e.regionCode) {
      problems.push(`${what} is in region ${mine.regionCode} in this hub's registry, not ${e.regionCode}`);
      continue;
    }
    if (!codes.has(e.code) && !scope.regions.includes(e.regionCode)) {
      problems.push(`${what} (region ${e.regionCode}) is outside this token's scope (${allowed})`);
      continue;
    }
    if (mine !== undefined && e.activity.machines > mine.ledger.productionEquipment) {
      problems.push(
        `${what}: ${plural(e.activity.machines, 'machine')} reported, more than the production equipment this hub's ledger declares (${mine.ledger.productionEquipment})`,
      );
    }
  }
  return problems.slice(0, 20);
}

/**
 * Everything that refuses a new report at `now` from a token of `scope`: its scope and
 * registry, its time and its content; empty when it is acceptable.
 */
export function acceptanceProblems(
  registry: Registry,
  r: ChildReport,
  scope: ChildHubScope,
  now: number,
  limits: ReportLimits,
): string[] {
  const time = timeProblem(r.generatedAt, now, limits);
  return [
    ...scopeProblems(registry, r, scope),
    ...(time === undefined ? [] : [time]),
    ...childReportProblems(r),
  ];
}
