/**
 * Multi-level platforms (docs/statistics.md, "Several hubs"): a hub forwards its aggregates, per-enterprise counts and
 * ledgers but never raw telemetry, to a parent hub, whose statistics then sum its children.
 * This file is the parent's keeping of its children's reports: accepting one (checked by
 * child-report.ts) as the child's latest (in the registry file, audited in the same
 * transaction), reading them back so that no stored row, however it got there, can take the
 * statistics down, listing and deleting them, and merging their enterprises.
 */
import { Value } from '@sinclair/typebox/value';
import type { Logger } from 'pino';
import type { ChildReportRow } from '../database/child-reports.js';
import { HubError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { AuditLog } from '../security/audit.js';
import { type ChildHubScope, HUB_ID_MAX, shown } from '../security/child-hub-scope.js';
import {
  acceptanceProblems,
  type ChildReport,
  ChildReportSchema,
  childReportProblems,
  DEFAULT_REPORT_LIMITS,
  LATEST_DATE,
  type ReportLimits,
} from './child-report.js';
import type { EnterpriseInput } from './figures.js';

/**
 * The largest `limits.maxFutureSkewMs` a hub may be configured with (hub/config.ts): a stored
 * report dated further ahead of its arrival than this cannot have been accepted by any hub.
 */
const MAX_SKEW_BOUND = 86_400_000;

export interface StoredChildReport {
  readonly hubId: string;
  readonly receivedAt: number;
  readonly report: ChildReport;
}

export interface ChildSummary {
  readonly hubId: string;
  /** ISO 8601 */
  readonly receivedAt: string;
  readonly generatedAt: string;
  readonly enterprises: number;
}

/** A refused report: 400 (unusable), or 409 (older than the report held). */
export class ChildReportRefused extends HubError {
  readonly status: 400 | 409;
  constructor(status: 400 | 409, reason: string) {
    super('WANJI_E_STATS_CHILD_REPORT', `child report refused: ${reason}`);
    this.name = 'ChildReportRefused';
    this.status = status;
  }
}

const iso = (ms: number): string => new Date(ms).toISOString();

export interface AcceptContext {
  readonly actor: string;
  readonly source?: string;
  /** The sending token's scope (access.ts role child-hub). */
  readonly scope: ChildHubScope;
  /** Default: DEFAULT_REPORT_LIMITS. */
  readonly limits?: ReportLimits;
}

type Row = ChildReportRow;

/** A stored row checked as it is read: the report, or why it cannot be used. */
type Checked = { readonly ok: StoredChildReport } | { readonly refused: string };

/**
 * Keeps `input` as the child's latest report, replacing the one held. A report that fails a
 * check is refused (ChildReportRefused, 400) and one older than the report held (a delayed
 * retry must not roll the figures back) too (409); a refusal is audited, never stored.
 */
export function acceptChildReport(registry: Registry, input: unknown, ctx: AcceptContext): StoredChildReport {
  const db = registry.database;
  const now = registry.now();
  const audit = new AuditLog(db, () => now);
  const limits = ctx.limits ?? DEFAULT_REPORT_LIMITS;
  const refuse = (status: 400 | 409, hubId: string | undefined, reason: string): never => {
    audit.record({
      actor: ctx.actor,
      action: 'statistics.child-report',
      target: (hubId ?? ctx.scope.hubId).slice(0, HUB_ID_MAX),
      outcome: 'refused',
      ...(ctx.source === undefined ? {} : { source: ctx.source }),
      detail: { reason: reason.slice(0, 2_000), status },
    });
    throw new ChildReportRefused(status, reason);
  };
  if (!Value.Check(ChildReportSchema, input)) {
    const first: string[] = [];
    for (const e of Value.Errors(ChildReportSchema, input)) {
      first.push(`${e.path || '/'}: ${e.message}`);
      if (first.length === 5) break;
    }
    return refuse(400, undefined, first.join('; '));
  }
  const report = input;
  const problems = acceptanceProblems(registry, report, ctx.scope, now, limits);
  if (problems.length > 0) return refuse(400, report.hubId, problems.slice(0, 20).join('; '));
  // A refusal is audited outside the transaction, which it would otherwise roll back.
  const stored = db.transaction((): StoredChildReport | { heldAt: number } => {
    const held = db.childReports.get(report.hubId);
    const previous = held === undefined ? undefined : checkRow(held);
    if (previous !== undefined && 'ok' in previous && previous.ok.report.generatedAt > report.generatedAt) {
      return { heldAt: previous.ok.report.generatedAt };
    }
    db.childReports.put({
      hub_id: report.hubId,
      received_at: now,
      generated_at: report.generatedAt,
      report: JSON.stringify(report),
    });
    audit.record({
      actor: ctx.actor,
      action: 'statistics.child-report',
      target: report.hubId,
      outcome: 'ok',
      ...(ctx.source === undefined ? {} : { source: ctx.source }),
      detail: {
        enterprises: report.enterprises.length,
        generatedAt: iso(report.generatedAt),
        ...(previous === undefined
          ? {}
          : 'ok' in previous
            ? { replaced: iso(previous.ok.report.generatedAt) }
            : { replacedUnusable: previous.refused.slice(0, 500) }),
      },
    });
    return { hubId: report.hubId, receivedAt: now, report };
  });
  if ('heldAt' in stored) {
    return refuse(
      409,
      report.hubId,
      `older (${iso(report.generatedAt)}) than the report held (${iso(stored.heldAt)})`,
    );
  }
  return stored;
}

const isDate = (ms: unknown): ms is number =>
  Number.isSafeInteger(ms) && (ms as number) >= 0 && (ms as number) <= LATEST_DATE;

/** Checks a stored row as today's hub would check a new report (its scope aside). */
function checkRow(row: Row): Checked {
  if (!isDate(row.received_at)) return { refused: 'received_at is not a time' };
  let report: unknown;
  try {
    report = JSON.parse(row.report);
  } catch {
    return { refused: 'the stored report is not JSON' };
  }
  if (!Value.Check(ChildReportSchema, report)) {
    const e = Value.Errors(ChildReportSchema, report).First();
    return {
      refused: `the stored report fails its schema${e === undefined ? '' : ` at ${e.path || '/'}: ${e.message}`}`,
    };
  }
  if (report.hubId !== row.hub_id) return { refused: `the stored report names hub "${shown(report.hubId)}"` };
  if (report.generatedAt !== row.generated_at) return { refused: 'generated_at disagrees with the report' };
  if (report.generatedAt > row.received_at + MAX_SKEW_BOUND) {
    return {
      refused: `generatedAt ${iso(report.generatedAt)} lies after its arrival (${iso(row.received_at)})`,
    };
  }
  const problems = childReportProblems(report);
  if (problems.length > 0) return { refused: problems.slice(0, 5).join('; ') };
  return { ok: { hubId: row.hub_id, receivedAt: row.received_at, report } };
}

/** Where each registry's unusable rows are reported, and which were already (once per row). */
const WATCH = new WeakMap<Registry, { logger: Logger; warned: Set<string> }>();

/**
 * Logs each unusable stored report of `registry` to `logger` (once per row) from now on;
 * the API does this as it is built, so every reader (statistics, snapshots, the parent
 * forwarder) shares one log without passing a logger through each.
 */
export function logUnusableChildReports(registry: Registry, logger: Logger): void {
  WATCH.set(registry, { logger: logger.child({ component: 'child-reports' }), warned: new Set() });
}

function readRows(registry: Registry): Array<{ row: Row; checked: Checked }> {
  const rows = registry.database.childReports.list();
  const watch = WATCH.get(registry);
  return rows.map((row) => {
    const checked = checkRow(row);
    if ('refused' in checked && watch !== undefined) {
      const key = `${row.hub_id}\u0000${String(row.received_at)}\u0000${String(row.report).length}`;
      if (!watch.warned.has(key)) {
        if (watch.warned.size > 10_000) watch.warned.clear();
        watch.warned.add(key);
        watch.logger.warn(
          { code: 'WANJI_E_STATS_CHILD_REPORT', hubId: shown(String(row.hub_id)), reason: checked.refused },
          'stored child report unusable: left out of the statistics (replace it with a new report, or delete it)',
        );
      }
    }
    return { row, checked };
  });
}

/**
 * The latest usable report of every child, by hub id. A row that fails today's checks (bad
 * JSON, an impossible time, counts that do not hold: written by an older version or by hand)
 * is left out and logged, never thrown: it must not take the statistics down.
 */
export function childReports(registry: Registry): StoredChildReport[] {
  return readRows(registry).flatMap(({ checked }) => ('ok' in checked ? [checked.ok] : []));
}

export type ChildReportStatus = 'counted' | 'stale' | 'unusable';

export interface ChildReportListing {
  readonly hubId: string;
  /** ISO 8601; null when the row holds no usable time. */
  readonly receivedAt: string | null;
  readonly generatedAt: string | null;
  readonly enterprises: number | null;
  /**
   * counted: in the figures; stale: in the figures, but generated longer than
   * `limits.maxPastMs` ago (the child stopped reporting?); unusable: left out (`reason`).
   */
  readonly status: ChildReportStatus;
  readonly reason?: string;
}

function listing(row: Row, checked: Checked, now: number, limits: ReportLimits): ChildReportListing {
  if ('refused' in checked) {
    return {
      hubId: String(row.hub_id),
      receivedAt: isDate(row.received_at) ? iso(row.received_at) : null,
      generatedAt: null,
      enterprises: null,
      status: 'unusable',
      reason: checked.refused,
    };
  }
  const r = checked.ok;
  const stale = r.report.generatedAt < now - limits.maxPastMs;
  return {
    hubId: r.hubId,
    receivedAt: iso(r.receivedAt),
    generatedAt: iso(r.report.generatedAt),
    enterprises: r.report.enterprises.length,
    status: stale ? 'stale' : 'counted',
    ...(stale ? { reason: `generated more than limits.maxPastMs (${limits.maxPastMs} ms) ago` } : {}),
  };
}

/** Every stored report, usable or not, for the operator's list. */
export function listChildReports(
  registry: Registry,
  now: number,
  limits: ReportLimits,
): ChildReportListing[] {
  return readRows(registry).map(({ row, checked }) => listing(row, checked, now, limits));
}

/** Deletes a child's stored report (usable or not); audited. Throws 404 when there is none. */
export function deleteChildReport(
  registry: Registry,
  hubId: string,
  by: { readonly actor: string; readonly source?: string },
  limits: ReportLimits = DEFAULT_REPORT_LIMITS,
): ChildReportListing {
  const db = registry.database;
  const now = registry.now();
  const audit = new AuditLog(db, () => now);
  const source = by.source === undefined ? {} : { source: by.source };
  const deleted = db.transaction((): ChildReportListing | undefined => {
    const row = db.childReports.get(hubId);
    if (row === undefined) return undefined;
    const held = listing(row, checkRow(row), now, limits);
    db.childReports.delete(hubId);
    audit.record({
      actor: by.actor,
      action: 'statistics.child-report.delete',
      target: hubId,
      outcome: 'ok',
      ...source,
      detail: {
        generatedAt: held.generatedAt,
        enterprises: held.enterprises,
        status: held.status,
      },
    });
    return held;
  });
  if (deleted === undefined) {
    audit.record({
      actor: by.actor,
      action: 'statistics.child-report.delete',
      target: hubId.slice(0, 200),
      outcome: 'refused',
      ...source,
      detail: { reason: 'no report from this hub' },
    });
    throw new HubError('WANJI_E_API_NOT_FOUND', `no child report from hub "${shown(hubId)}"`);
  }
  return deleted;
}

/** Children's enterprises; when two children report one code, the later-received report wins. */
export function childEnterprises(reports: readonly StoredChildReport[]): EnterpriseInput[] {
  const byCode = new Map<string, EnterpriseInput>();
  for (const r of [...reports].sort((a, b) => a.receivedAt - b.receivedAt)) {
    for (const e of r.report.enterprises) byCode.set(e.code, { ...e, via: r.hubId });
  }
  return [...byCode.values()];
}
