/**
 * Multi-level platforms (DESIGN.md): a hub forwards its aggregates, per-enterprise counts and
 * ledgers but never raw telemetry, to a parent hub, whose statistics then sum its children.
 * This file is the wire format and the parent's side: checking and keeping the latest report
 * of each child (in the registry file, audited in the same transaction).
 */
import { type Static, Type } from '@sinclair/typebox';
import { Value } from '@sinclair/typebox/value';
import { invalidIdReason } from '../../protocol/index.js';
import { HubError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { AuditLog } from '../security/audit.js';
import type { EnterpriseInput } from './figures.js';

const Count = Type.Integer({ minimum: 0 });
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

export const ChildReportSchema = Type.Object(
  {
    hubId: Type.String({ minLength: 1, maxLength: 200 }),
    /** ms since the epoch, the child's clock. */
    generatedAt: Type.Integer({ minimum: 0 }),
    windows: Type.Object({ networkingMs: Count, onlineMs: Count }, { additionalProperties: false }),
    enterprises: Type.Array(
      Type.Object(
        {
          code: Type.String({ minLength: 1, maxLength: 200 }),
          name: Type.String({ maxLength: 500 }),
          regionCode: Type.String({ maxLength: 200 }),
          industryCode: Type.String({ maxLength: 200 }),
          backbone: Type.Boolean(),
          ledger: Type.Object(
            { productionEquipment: Count, ncEquipment: Count, robots: Count },
            { additionalProperties: false },
          ),
          activity: ActivitySchema,
        },
        { additionalProperties: false },
      ),
      { maxItems: 100_000 },
    ),
    unattributed: ActivitySchema,
  },
  { additionalProperties: false },
);
export type ChildReport = Static<typeof ChildReportSchema>;

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

/** What is wrong with a child's report beyond its schema; empty when nothing. */
export function childReportProblems(r: ChildReport): string[] {
  const problems: string[] = [];
  const idReason = invalidIdReason(r.hubId);
  if (idReason !== undefined) problems.push(`hubId ${idReason}`);
  const seen = new Set<string>();
  for (const e of r.enterprises) {
    if (seen.has(e.code)) problems.push(`enterprise "${e.code}" appears twice`);
    seen.add(e.code);
    if (e.ledger.ncEquipment > e.ledger.productionEquipment) {
      problems.push(`enterprise "${e.code}": NC equipment exceeds production equipment`);
    }
  }
  for (const [what, a] of [
    ...r.enterprises.map((e) => [`enterprise "${e.code}"`, e.activity] as const),
    ['unattributed', r.unattributed] as const,
  ]) {
    if (a.networked > a.machines || a.online > a.machines || a.poweredOn > a.online) {
      problems.push(`${what}: counts do not nest (poweredOn ≤ online ≤ machines, networked ≤ machines)`);
    }
    if (a.networkedNc > a.networked || a.networkedRobots > a.networked) {
      problems.push(`${what}: networked NC machines and robots cannot exceed networked machines`);
    }
  }
  return problems.slice(0, 20);
}

export interface AcceptContext {
  readonly actor: string;
  readonly source?: string;
}

/**
 * Keeps `report` as the child's latest. A report older than the one held is refused (a
 * delayed retry must not roll the figures back); so is one that fails its checks.
 */
export function acceptChildReport(registry: Registry, input: unknown, ctx: AcceptContext): StoredChildReport {
  const db = registry.database;
  const now = registry.now();
  const audit = new AuditLog(db, () => now);
  const refuse = (hubId: string | undefined, reason: string): never => {
    audit.record({
      actor: ctx.actor,
      action: 'statistics.child-report',
      ...(hubId === undefined ? {} : { target: hubId }),
      outcome: 'refused',
      ...(ctx.source === undefined ? {} : { source: ctx.source }),
      detail: { reason },
    });
    throw new HubError('WANJI_E_STATS_CHILD_REPORT', `child report refused: ${reason}`);
  };
  if (!Value.Check(ChildReportSchema, input)) {
    const first = [...Value.Errors(ChildReportSchema, input)].slice(0, 5);
    return refuse(undefined, first.map((e) => `${e.path || '/'}: ${e.message}`).join('; '));
  }
  const report = input;
  const problems = childReportProblems(report);
  if (problems.length > 0) return refuse(report.hubId, problems.join('; '));
  // A refusal is audited outside the transaction, which it would otherwise roll back.
  const stored = db.transaction((): StoredChildReport | { heldAt: number } => {
    const held = db
      .prepare<[string], { generated_at: number }>('SELECT generated_at FROM child_reports WHERE hub_id = ?')
      .get(report.hubId);
    if (held !== undefined && held.generated_at > report.generatedAt) return { heldAt: held.generated_at };
    db.prepare(
      `INSERT INTO child_reports (hub_id, received_at, generated_at, report) VALUES (?, ?, ?, ?)
       ON CONFLICT (hub_id) DO UPDATE SET received_at = excluded.received_at,
         generated_at = excluded.generated_at, report = excluded.report`,
    ).run(report.hubId, now, report.generatedAt, JSON.stringify(report));
    audit.record({
      actor: ctx.actor,
      action: 'statistics.child-report',
      target: report.hubId,
      outcome: 'ok',
      ...(ctx.source === undefined ? {} : { source: ctx.source }),
      detail: { enterprises: report.enterprises.length, generatedAt: report.generatedAt },
    });
    return { hubId: report.hubId, receivedAt: now, report };
  })();
  if ('heldAt' in stored) {
    return refuse(
      report.hubId,
      `older (${new Date(report.generatedAt).toISOString()}) than the report held (${new Date(stored.heldAt).toISOString()})`,
    );
  }
  return stored;
}

/** The latest report of every child, by hub id. */
export function childReports(registry: Registry): StoredChildReport[] {
  return registry.database
    .prepare<[], { hub_id: string; received_at: number; report: string }>(
      'SELECT hub_id, received_at, report FROM child_reports ORDER BY hub_id',
    )
    .all()
    .map((r) => ({
      hubId: r.hub_id,
      receivedAt: r.received_at,
      report: JSON.parse(r.report) as ChildReport,
    }));
}

/** Children's enterprises; when two children report one code, the later-received report wins. */
export function childEnterprises(reports: readonly StoredChildReport[]): EnterpriseInput[] {
  const byCode = new Map<string, EnterpriseInput>();
  for (const r of [...reports].sort((a, b) => a.receivedAt - b.receivedAt)) {
    for (const e of r.report.enterprises) byCode.set(e.code, { ...e, via: r.hubId });
  }
  return [...byCode.values()];
}
