/**
 * What an operator decides about a machine a gateway announced (docs/statistics.md, "What is
 * counted"): confirm it (a real machine of the enterprise), retire it (gone, invented, a
 * duplicate) or merge a duplicate id into the machine it really is. Each change is written
 * with its audit entry in one transaction; a refusal is audited with its reason. Births never
 * touch these columns (hub/registry/apply.ts), so a gateway cannot undo a retirement.
 */
import type { Logger } from 'pino';
import type { HubDatabase } from '../database/database.js';
import { HubError } from '../errors.js';
import { AuditLog } from '../security/audit.js';
import type { MachineRecord } from './types.js';

/** Who changes a machine, for its row and the audit log. */
export interface MachineChangeBy {
  /** `token:<id>` or `cli:<os user>`. */
  readonly actor: string;
  /** An IP address, or `cli`. */
  readonly source?: string;
  /** Why, in the operator's words (kept in the audit entry). */
  readonly reason?: string;
}

export interface MachineChangeResult {
  readonly machine: MachineRecord;
  /** False when the machine already was what was asked (the request is still audited). */
  readonly changed: boolean;
}

/** What a bulk retirement did (one audit entry for all of it). */
export interface BulkRetireResult {
  readonly enterprise: string;
  /** The gateway (edge node id) the retirement was limited to, or null for every gateway. */
  readonly gateway: string | null;
  /** How many machines were retired. */
  readonly retired: number;
  /** The first MAX_BULK_IDS of their ids, in id order (the audit entry keeps the same). */
  readonly ids: readonly string[];
}

export const MAX_REASON_CHARS = 500;
/** How many ids of a bulk retirement its reply and audit entry name (a flood can be 2,000 a gateway). */
export const MAX_BULK_IDS = 100;

type Action = 'machine.confirm' | 'machine.retire' | 'machine.merge';

export class MachineStatusWriter {
  readonly #db: HubDatabase;
  readonly #clock: () => number;
  readonly #read: (enterprise: string, id: string) => MachineRecord | undefined;
  readonly #log: Logger;
  readonly #audit: AuditLog;

  constructor(
    database: HubDatabase,
    clock: () => number,
    read: (enterprise: string, id: string) => MachineRecord | undefined,
    log: Logger,
  ) {
    this.#db = database;
    this.#clock = clock;
    this.#read = read;
    this.#log = log;
    this.#audit = new AuditLog(database, clock);
  }

  confirm(enterprise: string, id: string, by: MachineChangeBy): MachineChangeResult {
    const before = this.#existing('machine.confirm', enterprise, id, by);
    return this.#change('machine.confirm', before, by, {}, () => {
      if (before.status === 'confirmed') return false;
      this.#db.machineStatus.confirm({ enterprise, id, at: this.#clock(), actor: by.actor });
      return true;
    });
  }

  retire(enterprise: string, id: string, by: MachineChangeBy): MachineChangeResult {
    const before = this.#existing('machine.retire', enterprise, id, by);
    return this.#change('machine.retire', before, by, {}, () => {
      if (before.status === 'retired') return false;
      this.#db.machineStatus.retire({ enterprise, id, at: this.#clock(), actor: by.actor });
      return true;
    });
  }

  /**
   * Retires every unconfirmed machine of `enterprise` (only those last announced by `gateway`,
   * when given): the clean-up after a gateway credential announced invented machines. One
   * transaction, one audit entry (`machine.retire`, target `<enterprise>/*`) with the count and
   * the first MAX_BULK_IDS ids. Confirmed machines are never touched. An enterprise that is
   * neither declared nor has machines, or a gateway it has never had, is refused (audited).
   */
  retireUnconfirmed(enterprise: string, gateway: string | undefined, by: MachineChangeBy): BulkRetireResult {
    const action = 'machine.retire';
    const all = { enterprise, id: '*' };
    const detail = { bulk: true, status: 'unconfirmed', ...(gateway === undefined ? {} : { gateway }) };
    if (by.reason !== undefined && by.reason.length > MAX_REASON_CHARS) {
      this.#refuse(action, all, by, `reason is over ${MAX_REASON_CHARS} characters`, detail);
    }
    const statuses = this.#db.machineStatus;
    if (!statuses.enterpriseHasMachinesOrLedger(enterprise)) {
      this.#refuse(
        action,
        all,
        by,
        `no enterprise "${enterprise}": it is not declared and has no machines`,
        detail,
        'WANJI_E_REGISTRY_UNKNOWN_MACHINE',
      );
    }
    if (gateway !== undefined) {
      if (!statuses.gatewayHasMachinesOrRow(enterprise, gateway)) {
        this.#refuse(
          action,
          all,
          by,
          `no gateway "${gateway}" in enterprise "${enterprise}" (GET /api/v1/gateways lists them)`,
          detail,
          'WANJI_E_REGISTRY_UNKNOWN_MACHINE',
        );
      }
    }
    const result = this.#db.transaction((): BulkRetireResult => {
      const ids = statuses.unconfirmedIds(enterprise, gateway, MAX_BULK_IDS);
      const retired = statuses.retireUnconfirmed(enterprise, gateway, this.#clock(), by.actor);
      this.#audit.record({
        actor: by.actor,
        action,
        target: `${enterprise}/*`,
        outcome: 'ok',
        ...(by.source === undefined ? {} : { source: by.source }),
        detail: {
          ...detail,
          from: 'unconfirmed',
          to: 'retired',
          count: retired,
          ids,
          ...(by.reason === undefined ? {} : { reason: by.reason }),
        },
      });
      return { enterprise, gateway: gateway ?? null, retired, ids };
    });
    this.#log.info(
      { action, enterprise, gateway: result.gateway, actor: by.actor, retired: result.retired },
      'unconfirmed machines retired',
    );
    return result;
  }

  /**
   * The duplicate `id` is retired with `merged_into = into`; machines merged into it before
   * now point to `into`; `into` keeps the more recent evidence of the two (last seen, last
   * sample) and takes the duplicate's announced kind, NC, robot and data depth where it has
   * none. The duplicate's state time stays under its own id.
   */
  merge(enterprise: string, id: string, into: string, by: MachineChangeBy): MachineChangeResult {
    const action = 'machine.merge';
    const before = this.#existing(action, enterprise, id, by, { into });
    if (into === id) this.#refuse(action, before, by, 'a machine cannot be merged into itself', { into });
    const target = this.#read(enterprise, into);
    if (target === undefined) {
      this.#refuse(
        action,
        before,
        by,
        `no machine "${into}" in enterprise "${enterprise}" to merge into (a merge joins machines of one enterprise)`,
        { into },
        'WANJI_E_REGISTRY_UNKNOWN_MACHINE',
      );
    }
    if (target.status === 'retired') {
      const where = target.mergedInto === null ? '' : ` (merged into "${target.mergedInto}")`;
      this.#refuse(
        action,
        before,
        by,
        `machine "${into}" is retired${where}: merge into a machine that is not retired`,
        { into },
      );
    }
    return this.#change(action, before, by, { into }, () => {
      if (before.status === 'retired' && before.mergedInto === into) return false;
      const statuses = this.#db.machineStatus;
      statuses.mergeInto({ enterprise, id, at: this.#clock(), actor: by.actor }, into);
      const bit = (v: boolean | null): number | null => (v === null ? null : v ? 1 : 0);
      statuses.absorb(enterprise, into, {
        firstSeen: before.firstSeen,
        lastSeenAt: before.lastSeenAt,
        lastSampleAt: before.lastSampleAt,
        kind: before.kind,
        nc: bit(before.nc),
        robot: bit(before.robot),
        dataDepth: before.dataDepth,
      });
      return true;
    });
  }

  /** The machine, or a refusal (audited) naming what is missing. */
  #existing(
    action: Action,
    enterprise: string,
    id: string,
    by: MachineChangeBy,
    detail: Record<string, unknown> = {},
  ): MachineRecord {
    if (by.reason !== undefined && by.reason.length > MAX_REASON_CHARS) {
      this.#refuse(action, { enterprise, id }, by, `reason is over ${MAX_REASON_CHARS} characters`, detail);
    }
    const m = this.#read(enterprise, id);
    if (m === undefined) {
      this.#refuse(
        action,
        { enterprise, id },
        by,
        `no machine "${id}" in enterprise "${enterprise}"`,
        detail,
        'WANJI_E_REGISTRY_UNKNOWN_MACHINE',
      );
    }
    return m;
  }

  #refuse(
    action: Action,
    m: { enterprise: string; id: string },
    by: MachineChangeBy,
    reason: string,
    detail: Record<string, unknown>,
    code:
      | 'WANJI_E_REGISTRY_UNKNOWN_MACHINE'
      | 'WANJI_E_REGISTRY_MACHINE_CHANGE' = 'WANJI_E_REGISTRY_MACHINE_CHANGE',
  ): never {
    this.#audit.record({
      actor: by.actor,
      action,
      target: `${m.enterprise}/${m.id}`,
      outcome: 'refused',
      ...(by.source === undefined ? {} : { source: by.source }),
      detail: { ...detail, reason, code },
    });
    this.#log.warn(
      { action, enterprise: m.enterprise, machine: m.id, actor: by.actor, reason },
      'machine change refused',
    );
    throw new HubError(code, `${action.replace('machine.', '')} ${m.enterprise}/${m.id} refused: ${reason}`);
  }

  /** Applies `write` (true when it changed the row) and its audit entry in one transaction. */
  #change(
    action: Action,
    before: MachineRecord,
    by: MachineChangeBy,
    detail: Record<string, unknown>,
    write: () => boolean,
  ): MachineChangeResult {
    const { enterprise, id } = before;
    const result = this.#db.transaction((): MachineChangeResult => {
      const changed = write();
      const after = this.#read(enterprise, id);
      if (after === undefined) throw new HubError('WANJI_E_REGISTRY', `machine ${enterprise}/${id} vanished`);
      this.#audit.record({
        actor: by.actor,
        action,
        target: `${enterprise}/${id}`,
        outcome: 'ok',
        ...(by.source === undefined ? {} : { source: by.source }),
        detail: {
          ...detail,
          from: before.status,
          to: after.status,
          changed,
          ...(by.reason === undefined ? {} : { reason: by.reason }),
        },
      });
      return { machine: after, changed };
    });
    this.#log.info(
      { action, enterprise, machine: id, actor: by.actor, from: before.status, to: result.machine.status },
      'machine changed',
    );
    return result;
  }
}
