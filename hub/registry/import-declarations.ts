/**
 * What the programme-record imports (workshops and factories, platforms: import-recognitions.ts;
 * targets: import-targets.ts) share once their rows are checked: the report, the import's audit
 * entry (refused when one refused row stops an all-or-nothing import), and the accepted rows
 * applied with that entry in one transaction.
 */
import { AuditLog } from '../security/audit.js';
import type { ImportReason } from './import-reasons.js';
import type { RefusedRow } from './import-table.js';
import type { RecordActor } from './programme-records.js';
import type { Registry } from './registry.js';

export type DeclarationKind = 'recognitions' | 'platforms' | 'targets';

export interface DeclarationImportOptions {
  readonly actor: string;
  readonly source?: string;
  readonly file: string;
  readonly dryRun?: boolean;
  readonly partial?: boolean;
}

export interface DeclarationImportReport {
  readonly file: string;
  readonly what: DeclarationKind;
  readonly dryRun: boolean;
  readonly partial: boolean;
  readonly rows: number;
  readonly accepted: number;
  readonly refusedRows: number;
  /** Each refused row: why in English (`reasons`) and as codes and parameters (`details`, import-reasons.ts). */
  readonly refused: readonly {
    row: number;
    reasons: readonly string[];
    details: readonly ImportReason[];
    columns: readonly string[];
  }[];
  readonly applied: boolean;
  readonly created: number;
  readonly updated: number;
  readonly header: { readonly row: number; readonly cells: readonly string[] };
  readonly skipped: readonly { row: number; kind: 'title' | 'total'; reason: string }[];
}

/** The most refused rows a report lists; refusedRows counts them all. */
const MAX_LISTED = 1_000;

export interface CheckedDeclarations<P extends { readonly row: number }> {
  readonly what: DeclarationKind;
  /** The import's audit action, e.g. `target.import`. */
  readonly action: string;
  readonly dataRows: number;
  readonly accepted: readonly P[];
  readonly refused: RefusedRow[];
  readonly header: { readonly n: number; readonly cells: readonly string[] };
  readonly skipped: DeclarationImportReport['skipped'];
  /** Whether the row's record exists already (it is updated, not created). */
  readonly exists: (p: P) => boolean;
  /** Writes one accepted row, audited as `by` (its file and row in the detail). */
  readonly write: (p: P, by: RecordActor) => void;
}

/** Reports, audits and (unless a dry run or refused rows stop it) applies checked rows. */
export function finishDeclarationImport<P extends { readonly row: number }>(
  registry: Registry,
  o: DeclarationImportOptions,
  c: CheckedDeclarations<P>,
): DeclarationImportReport {
  const updated = c.accepted.filter(c.exists).length;
  const allOrNone = o.partial !== true && c.refused.length > 0;
  const apply = o.dryRun !== true && !allOrNone;
  const report: DeclarationImportReport = {
    file: o.file,
    what: c.what,
    dryRun: o.dryRun === true,
    partial: o.partial === true,
    rows: c.dataRows,
    accepted: c.accepted.length,
    refusedRows: c.refused.length,
    refused: c.refused.sort((a, b) => a.row - b.row).slice(0, MAX_LISTED),
    applied: apply,
    created: c.accepted.length - updated,
    updated,
    header: { row: c.header.n, cells: c.header.cells },
    skipped: c.skipped,
  };
  const db = registry.database;
  const audit = new AuditLog(db, () => registry.now());
  const summary = {
    what: c.what,
    rows: report.rows,
    accepted: report.accepted,
    refused: report.refusedRows,
    firstRefusals: report.refused.slice(0, 20),
  };
  const source = o.source === undefined ? {} : { source: o.source };
  if (!apply) {
    if (allOrNone && o.dryRun !== true)
      audit.record({
        actor: o.actor,
        action: c.action,
        target: o.file,
        outcome: 'refused',
        ...source,
        detail: { reason: 'rows refused; nothing imported', ...summary },
      });
    return report;
  }
  db.transaction(() => {
    for (const p of c.accepted)
      c.write(p, { actor: o.actor, ...source, detail: { import: o.file, row: p.row } });
    audit.record({
      actor: o.actor,
      action: c.action,
      target: o.file,
      outcome: 'ok',
      ...source,
      detail: { ...summary, created: report.created, updated: report.updated },
    });
  });
  return report;
}
