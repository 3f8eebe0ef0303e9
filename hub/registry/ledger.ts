/**
 * Ledger declarations (设备台账): checking one, and writing it with its history entry and its
 * audit entry in the caller's transaction. Shared by single declarations and imports.
 */
import { type EnterpriseDeclaration, invalidIdReason } from '../../protocol/index.js';
import { unsafeNameReason } from '../../protocol/sparkplug/names.js';
import type { HubDatabase } from '../database/database.js';
import type { EnterpriseRow } from '../database/registry/enterprises.js';
import type { RegionRow } from '../database/registry/reference.js';
import { HubError } from '../errors.js';
import { AuditLog } from '../security/audit.js';

/** The longest enterprise name, in characters (the API's schema says the same). */
export const MAX_ENTERPRISE_NAME_LENGTH = 500;

/** What is wrong with a declaration's own fields (references aside); empty when nothing. */
export function declarationProblems(d: EnterpriseDeclaration): string[] {
  const problems: string[] = [];
  const idReason = invalidIdReason(d.code);
  if (idReason !== undefined) problems.push(`code ${idReason} (it is the gateways' Sparkplug group id)`);
  else if (d.code.normalize('NFKC') !== d.code) {
    // Full-width or other compatibility forms (Ｅ００１) pass for the plain code on screen and
    // in the bureau's exports; only the plain form is ever registered.
    problems.push(
      `code "${d.code}" is not in its plain (NFKC) form: write it as "${d.code.normalize('NFKC')}"`,
    );
  }
  if (d.name.trim() === '') problems.push('name is empty');
  else {
    const nameReason = unsafeNameReason(d.name, MAX_ENTERPRISE_NAME_LENGTH);
    if (nameReason !== undefined) problems.push(`name ${nameReason}`);
  }
  const { productionEquipment: p, ncEquipment: nc, robots } = d.ledger;
  for (const [what, n] of [
    ['ledger.productionEquipment', p],
    ['ledger.ncEquipment', nc],
    ['ledger.robots', robots],
  ] as const) {
    if (!Number.isSafeInteger(n) || n < 0) problems.push(`${what} must be a whole number ≥ 0, got ${n}`);
  }
  if (nc > p) problems.push(`ledger.ncEquipment (${nc}) exceeds ledger.productionEquipment (${p})`);
  return problems;
}

/**
 * Finds a region or industry code from what a person wrote: its code, Chinese or English name
 * or an alias, ignoring case and surrounding spaces. Built once per import.
 */
export class ReferenceIndex {
  readonly #byKey = new Map<string, string>();

  constructor(rows: readonly RegionRow[]) {
    for (const r of rows) {
      let aliases: unknown = [];
      try {
        aliases = JSON.parse(r.aliases);
      } catch {
        // A hand-edited alias list that is not JSON only loses its aliases.
      }
      const keys = [r.code, r.name_zh, r.name_en, ...(Array.isArray(aliases) ? aliases : [])];
      for (const k of keys) if (typeof k === 'string') this.#byKey.set(key(k), r.code);
    }
  }

  static regions(db: HubDatabase): ReferenceIndex {
    return new ReferenceIndex(db.reference.regions());
  }

  static industries(db: HubDatabase): ReferenceIndex {
    return new ReferenceIndex(db.reference.industries());
  }

  find(text: string): string | undefined {
    return this.#byKey.get(key(text));
  }
}

const key = (s: string): string => s.normalize('NFKC').trim().toLowerCase();

/**
 * What two enterprise codes share when one passes for the other: the same NFKC form, ignoring
 * case (`E001`, `e001` and `Ｅ００１`). Sparkplug ids are case-sensitive, so such codes would be
 * two enterprises that nobody reading a list or an export can tell apart.
 */
export const lookalikeKey = (code: string): string => code.normalize('NFKC').toLowerCase().normalize('NFKC');

/** The registered enterprise codes by lookalikeKey: which existing code a new one passes for. */
export class LookalikeIndex {
  readonly #byKey = new Map<string, string>();

  static of(db: HubDatabase): LookalikeIndex {
    const index = new LookalikeIndex();
    for (const code of db.enterprises.codes()) index.add(code);
    return index;
  }

  add(code: string): void {
    const k = lookalikeKey(code);
    if (!this.#byKey.has(k)) this.#byKey.set(k, code);
  }

  /** Why `code` may not be declared (it passes for another registered code), or undefined. */
  problem(code: string): string | undefined {
    const existing = this.#byKey.get(lookalikeKey(code));
    if (existing === undefined || existing === code) return undefined;
    return `code "${code}" looks like the registered enterprise "${existing}" (same letters ignoring case and full-width forms): use "${existing}" to declare for it, or a code that differs`;
  }
}

export type DeclareOutcome = 'created' | 'updated' | 'unchanged';

export interface DeclareAudit {
  readonly actor: string;
  readonly source?: string;
  /** Extra detail for the audit entry, e.g. the import file and row. */
  readonly detail?: Readonly<Record<string, unknown>>;
}

/**
 * Writes checked declarations (codes resolved, fields valid). An identical re-declaration
 * changes nothing and adds no history, so importing the same file twice is harmless.
 */
export class LedgerWriter {
  readonly #audit: AuditLog;
  readonly #db: HubDatabase;
  #lookalikes: LookalikeIndex | undefined;

  constructor(database: HubDatabase, clock: () => number) {
    this.#db = database;
    this.#audit = new AuditLog(database, clock);
  }

  /** Call inside a transaction. */
  declare(row: EnterpriseRow, audit: DeclareAudit): DeclareOutcome {
    const before = this.#db.enterprises.byCode(row.code);
    if (before !== undefined && sameDeclaration(before, row)) return 'unchanged';
    if (before === undefined) {
      // Every declaration comes through here (API, CLI, import): a new code that passes for a
      // registered one is refused, whoever checked it before.
      this.#lookalikes ??= LookalikeIndex.of(this.#db);
      const problem = this.#lookalikes.problem(row.code);
      if (problem !== undefined) {
        throw new HubError(
          'WANJI_E_REGISTRY_INVALID_DECLARATION',
          `enterprise declaration "${row.code}": ${problem}`,
        );
      }
      this.#lookalikes.add(row.code);
    }
    this.#db.enterprises.upsert(row);
    this.#db.ledgers.append(row);
    const outcome: DeclareOutcome = before === undefined ? 'created' : 'updated';
    this.#audit.record({
      actor: audit.actor,
      action: 'enterprise.declare',
      target: row.code,
      outcome: 'ok',
      ...(audit.source === undefined ? {} : { source: audit.source }),
      detail: {
        ...audit.detail,
        change: outcome,
        declaredBy: row.declared_by,
        backbone: row.backbone === 1,
        ledger: {
          productionEquipment: row.production_equipment,
          ncEquipment: row.nc_equipment,
          robots: row.robots,
        },
        ...(before === undefined
          ? {}
          : {
              before: {
                backbone: before.backbone === 1,
                productionEquipment: before.production_equipment,
                ncEquipment: before.nc_equipment,
                robots: before.robots,
              },
            }),
      },
    });
    return outcome;
  }

  get audit(): AuditLog {
    return this.#audit;
  }
}

function sameDeclaration(a: EnterpriseRow, b: EnterpriseRow): boolean {
  return (
    a.name === b.name &&
    a.region_code === b.region_code &&
    a.industry_code === b.industry_code &&
    a.backbone === b.backbone &&
    a.production_equipment === b.production_equipment &&
    a.nc_equipment === b.nc_equipment &&
    a.robots === b.robots
  );
}

export function toRow(d: EnterpriseDeclaration, declaredBy: string, at: number): EnterpriseRow {
  return {
    code: d.code,
    name: d.name,
    region_code: d.regionCode,
    industry_code: d.industryCode,
    backbone: d.backbone ? 1 : 0,
    production_equipment: d.ledger.productionEquipment,
    nc_equipment: d.ledger.ncEquipment,
    robots: d.ledger.robots,
    declared_by: declaredBy,
    declared_at: at,
  };
}
