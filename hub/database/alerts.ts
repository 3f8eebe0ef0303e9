/**
 * The alerts' tables: rules (`alert_rules`), alerts as they fire, clear and are acknowledged
 * (`alerts`: at most one active row per rule and subject), and the notification outbox
 * (`alert_outbox`). hub/alerts/ (AlertService) is what callers use; this is only their storage.
 */
import type { SqlConnection } from './sql.js';

export interface AlertRuleRow {
  readonly id: number;
  readonly name: string;
  readonly kind: string;
  readonly scopeKind: string;
  /** The enterprise code, region code, `group/node` or `enterprise/machine`; null for all. */
  readonly scopeValue: string | null;
  readonly threshold: number | null;
  readonly durationMs: number;
  readonly severity: string;
  /** Channel names. */
  readonly channels: readonly string[];
  readonly enabled: boolean;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly updatedBy: string;
  readonly updatedAt: number;
}

export type NewAlertRule = Omit<AlertRuleRow, 'id'>;

export interface AlertRow {
  readonly id: number;
  readonly ruleId: number;
  readonly ruleName: string;
  readonly kind: string;
  /** `gateway:E1/GW1`, `machine:E1/M1`, `enterprise:E1`: one active alert per rule and subject. */
  readonly subject: string;
  readonly enterprise: string | null;
  readonly region: string | null;
  readonly severity: string;
  readonly state: 'active' | 'cleared';
  /** JSON object: what the evaluator saw (machines behind a gateway, a rate, a backlog). */
  readonly detail: string;
  /** When the condition began (ms). */
  readonly since: number;
  readonly firedAt: number;
  readonly clearedAt: number | null;
  readonly acknowledgedAt: number | null;
  readonly acknowledgedBy: string | null;
  readonly ackNote: string | null;
}

export type NewAlert = Omit<
  AlertRow,
  'id' | 'state' | 'clearedAt' | 'acknowledgedAt' | 'acknowledgedBy' | 'ackNote'
>;

export interface AlertFilter {
  readonly state?: 'active' | 'cleared';
  readonly acknowledged?: boolean;
  readonly ruleId?: number;
  /** Only these enterprises' alerts (a scoped caller); undefined: no limit. */
  readonly enterprises?: readonly string[];
  readonly regions?: readonly string[];
  readonly limit?: number;
  readonly offset?: number;
}

export type OutboxEvent = 'fire' | 'clear';
export type OutboxState = 'pending' | 'sent' | 'failed';

export interface OutboxRow {
  readonly id: number;
  readonly alertId: number;
  readonly ruleId: number;
  readonly channel: string;
  readonly event: OutboxEvent;
  readonly state: OutboxState;
  readonly attempts: number;
  readonly nextAt: number;
  readonly createdAt: number;
  readonly sentAt: number | null;
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
}

/** A rule's deliveries on one channel: what the rule shows. */
export interface DeliverySummary {
  readonly ruleId: number;
  readonly channel: string;
  readonly sent: number;
  readonly pending: number;
  readonly failed: number;
  /** Failed attempts, retried or not. */
  readonly failedAttempts: number;
  readonly lastSentAt: number | null;
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
}

/** Backend-neutral: no driver types in the signatures. */
export interface AlertRepository {
  insertRule(rule: NewAlertRule): number;
  rule(id: number): AlertRuleRow | undefined;
  /** By id. */
  rules(): AlertRuleRow[];
  updateRule(rule: AlertRuleRow): void;
  deleteRule(id: number): boolean;

  /** Inserts an active alert; returns its id. */
  insertAlert(a: NewAlert): number;
  alert(id: number): AlertRow | undefined;
  active(): AlertRow[];
  /** Newest first. */
  alerts(f: AlertFilter): AlertRow[];
  countAlerts(f: AlertFilter): number;
  setDetail(id: number, detail: string): void;
  clear(id: number, at: number): void;
  acknowledge(id: number, at: number, by: string, note: string | null): void;

  enqueue(n: { alertId: number; ruleId: number; channel: string; event: OutboxEvent; at: number }): void;
  /** Pending rows due by `now`, oldest first. */
  due(now: number, limit: number): OutboxRow[];
  /** The earliest next attempt of a pending row. */
  nextDue(): number | undefined;
  /** Makes every pending row due at `now` (a restart tries at once what was waiting). */
  dueNow(now: number): void;
  markSent(id: number, at: number): void;
  markFailed(id: number, at: number, error: string, next: { at: number } | 'give-up'): void;
  outbox(alertId: number): OutboxRow[];
  deliveries(): DeliverySummary[];
  /** Deletes sent and given-up rows created before `before`. */
  prune(before: number): number;
}

interface RuleRecord {
  id: number;
  name: string;
  kind: string;
  scope_kind: string;
  scope_value: string | null;
  threshold: number | null;
  duration_ms: number;
  severity: string;
  channels: string;
  enabled: number;
  created_by: string;
  created_at: number;
  updated_by: string;
  updated_at: number;
}

interface AlertRecord {
  id: number;
  rule_id: number;
  rule_name: string;
  kind: string;
  subject: string;
  enterprise: string | null;
  region: string | null;
  severity: string;
  state: string;
  detail: string;
  since: number;
  fired_at: number;
  cleared_at: number | null;
  acknowledged_at: number | null;
  acknowledged_by: string | null;
  ack_note: string | null;
}

interface OutboxRecord {
  id: number;
  alert_id: number;
  rule_id: number;
  channel: string;
  event: string;
  state: string;
  attempts: number;
  next_at: number;
  created_at: number;
  sent_at: number | null;
  last_error: string | null;
  last_error_at: number | null;
}

function stringList(json: string): string[] {
  try {
    const v: unknown = JSON.parse(json);
    return Array.isArray(v) ? v.filter((x): x is string => typeof x === 'string') : [];
  } catch {
    return [];
  }
}

const toRule = (r: RuleRecord): AlertRuleRow => ({
  id: r.id,
  name: r.name,
  kind: r.kind,
  scopeKind: r.scope_kind,
  scopeValue: r.scope_value,
  threshold: r.threshold,
  durationMs: r.duration_ms,
  severity: r.severity,
  channels: stringList(r.channels),
  enabled: r.enabled === 1,
  createdBy: r.created_by,
  createdAt: r.created_at,
  updatedBy: r.updated_by,
  updatedAt: r.updated_at,
});

const toAlert = (r: AlertRecord): AlertRow => ({
  id: r.id,
  ruleId: r.rule_id,
  ruleName: r.rule_name,
  kind: r.kind,
  subject: r.subject,
  enterprise: r.enterprise,
  region: r.region,
  severity: r.severity,
  state: r.state === 'active' ? 'active' : 'cleared',
  detail: r.detail,
  since: r.since,
  firedAt: r.fired_at,
  clearedAt: r.cleared_at,
  acknowledgedAt: r.acknowledged_at,
  acknowledgedBy: r.acknowledged_by,
  ackNote: r.ack_note,
});

const OUTBOX_STATES: readonly OutboxState[] = ['pending', 'sent', 'failed'];

const toOutbox = (r: OutboxRecord): OutboxRow => ({
  id: r.id,
  alertId: r.alert_id,
  ruleId: r.rule_id,
  channel: r.channel,
  event: r.event === 'clear' ? 'clear' : 'fire',
  state: OUTBOX_STATES.find((s) => s === r.state) ?? 'failed',
  attempts: r.attempts,
  nextAt: r.next_at,
  createdAt: r.created_at,
  sentAt: r.sent_at,
  lastError: r.last_error,
  lastErrorAt: r.last_error_at,
});

export class SqliteAlertRepository implements AlertRepository {
  readonly #db: SqlConnection;

  constructor(db: SqlConnection) {
    this.#db = db;
  }

  insertRule(rule: NewAlertRule): number {
    const r = this.#db
      .prepare<[Record<string, unknown>], { id: number }>(
        `INSERT INTO alert_rules (name, kind, scope_kind, scope_value, threshold, duration_ms, severity,
           channels, enabled, created_by, created_at, updated_by, updated_at)
         VALUES (@name, @kind, @scopeKind, @scopeValue, @threshold, @durationMs, @severity,
           @channels, @enabled, @createdBy, @createdAt, @updatedBy, @updatedAt)
         RETURNING id`,
      )
      .get({ ...rule, channels: JSON.stringify(rule.channels), enabled: rule.enabled ? 1 : 0 });
    return Number(r!.id);
  }

  rule(id: number): AlertRuleRow | undefined {
    const r = this.#db.prepare<[number], RuleRecord>('SELECT * FROM alert_rules WHERE id = ?').get(id);
    return r === undefined ? undefined : toRule(r);
  }

  rules(): AlertRuleRow[] {
    return this.#db.prepare<[], RuleRecord>('SELECT * FROM alert_rules ORDER BY id').all().map(toRule);
  }

  updateRule(rule: AlertRuleRow): void {
    this.#db
      .prepare(
        `UPDATE alert_rules SET name = @name, kind = @kind, scope_kind = @scopeKind,
           scope_value = @scopeValue, threshold = @threshold, duration_ms = @durationMs,
           severity = @severity, channels = @channels, enabled = @enabled,
           updated_by = @updatedBy, updated_at = @updatedAt
         WHERE id = @id`,
      )
      .run({
        id: rule.id,
        name: rule.name,
        kind: rule.kind,
        scopeKind: rule.scopeKind,
        scopeValue: rule.scopeValue,
        threshold: rule.threshold,
        durationMs: rule.durationMs,
        severity: rule.severity,
        channels: JSON.stringify(rule.channels),
        enabled: rule.enabled ? 1 : 0,
        updatedBy: rule.updatedBy,
        updatedAt: rule.updatedAt,
      });
  }

  deleteRule(id: number): boolean {
    return this.#db.prepare('DELETE FROM alert_rules WHERE id = ?').run(id).changes > 0;
  }

  insertAlert(a: NewAlert): number {
    const r = this.#db
      .prepare<[NewAlert], { id: number }>(
        `INSERT INTO alerts (rule_id, rule_name, kind, subject, enterprise, region, severity, state,
           detail, since, fired_at)
         VALUES (@ruleId, @ruleName, @kind, @subject, @enterprise, @region, @severity, 'active',
           @detail, @since, @firedAt)
         RETURNING id`,
      )
      .get(a);
    return Number(r!.id);
  }

  alert(id: number): AlertRow | undefined {
    const r = this.#db.prepare<[number], AlertRecord>('SELECT * FROM alerts WHERE id = ?').get(id);
    return r === undefined ? undefined : toAlert(r);
  }

  active(): AlertRow[] {
    return this.#db
      .prepare<[], AlertRecord>("SELECT * FROM alerts WHERE state = 'active' ORDER BY id")
      .all()
      .map(toAlert);
  }

  #where(f: AlertFilter): { sql: string; params: Record<string, string | number> } {
    const where: string[] = [];
    const params: Record<string, string | number> = {};
    if (f.state !== undefined) {
      where.push('state = @state');
      params.state = f.state;
    }
    if (f.acknowledged !== undefined) {
      where.push(f.acknowledged ? 'acknowledged_at IS NOT NULL' : 'acknowledged_at IS NULL');
    }
    if (f.ruleId !== undefined) {
      where.push('rule_id = @ruleId');
      params.ruleId = f.ruleId;
    }
    const within = (column: string, name: string, values: readonly string[]): void => {
      const keys = values.map((v, i) => {
        params[`${name}${i}`] = v;
        return `@${name}${i}`;
      });
      where.push(keys.length === 0 ? '1 = 0' : `${column} IN (${keys.join(', ')})`);
    };
    if (f.enterprises !== undefined) within('enterprise', 'e', f.enterprises);
    if (f.regions !== undefined) within('region', 'r', f.regions);
    return { sql: where.length === 0 ? '' : `WHERE ${where.join(' AND ')}`, params };
  }

  alerts(f: AlertFilter): AlertRow[] {
    const { sql, params } = this.#where(f);
    return this.#db
      .prepare<[Record<string, string | number>], AlertRecord>(
        `SELECT * FROM alerts ${sql} ORDER BY fired_at DESC, id DESC LIMIT @limit OFFSET @offset`,
      )
      .all({ ...params, limit: f.limit ?? -1, offset: f.offset ?? 0 })
      .map(toAlert);
  }

  countAlerts(f: AlertFilter): number {
    const { sql, params } = this.#where(f);
    return (
      this.#db
        .prepare<[Record<string, string | number>], { n: number }>(`SELECT count(*) AS n FROM alerts ${sql}`)
        .get(params)?.n ?? 0
    );
  }

  setDetail(id: number, detail: string): void {
    this.#db.prepare('UPDATE alerts SET detail = ? WHERE id = ?').run(detail, id);
  }

  clear(id: number, at: number): void {
    this.#db
      .prepare("UPDATE alerts SET state = 'cleared', cleared_at = ? WHERE id = ? AND state = 'active'")
      .run(at, id);
  }

  acknowledge(id: number, at: number, by: string, note: string | null): void {
    this.#db
      .prepare('UPDATE alerts SET acknowledged_at = ?, acknowledged_by = ?, ack_note = ? WHERE id = ?')
      .run(at, by, note, id);
  }

  enqueue(n: { alertId: number; ruleId: number; channel: string; event: OutboxEvent; at: number }): void {
    this.#db
      .prepare(
        `INSERT INTO alert_outbox (alert_id, rule_id, channel, event, state, attempts, next_at, created_at)
         VALUES (@alertId, @ruleId, @channel, @event, 'pending', 0, @at, @at)`,
      )
      .run(n);
  }

  due(now: number, limit: number): OutboxRow[] {
    return this.#db
      .prepare<[number, number], OutboxRecord>(
        `SELECT * FROM alert_outbox WHERE state = 'pending' AND next_at <= ? ORDER BY next_at, id LIMIT ?`,
      )
      .all(now, limit)
      .map(toOutbox);
  }

  nextDue(): number | undefined {
    const r = this.#db
      .prepare<[], { at: number | null }>(
        "SELECT min(next_at) AS at FROM alert_outbox WHERE state = 'pending'",
      )
      .get();
    return r?.at ?? undefined;
  }

  dueNow(now: number): void {
    this.#db
      .prepare("UPDATE alert_outbox SET next_at = ? WHERE state = 'pending' AND next_at > ?")
      .run(now, now);
  }

  markSent(id: number, at: number): void {
    this.#db
      .prepare("UPDATE alert_outbox SET state = 'sent', sent_at = ?, attempts = attempts + 1 WHERE id = ?")
      .run(at, id);
  }

  markFailed(id: number, at: number, error: string, next: { at: number } | 'give-up'): void {
    this.#db
      .prepare(
        `UPDATE alert_outbox SET attempts = attempts + 1, last_error = ?, last_error_at = ?,
           state = ?, next_at = ? WHERE id = ?`,
      )
      .run(error, at, next === 'give-up' ? 'failed' : 'pending', next === 'give-up' ? at : next.at, id);
  }

  outbox(alertId: number): OutboxRow[] {
    return this.#db
      .prepare<[number], OutboxRecord>('SELECT * FROM alert_outbox WHERE alert_id = ? ORDER BY id')
      .all(alertId)
      .map(toOutbox);
  }

  deliveries(): DeliverySummary[] {
    interface Row {
      rule_id: number;
      channel: string;
      sent: number;
      pending: number;
      failed: number;
      failed_attempts: number;
      last_sent_at: number | null;
      last_error_at: number | null;
    }
    const rows = this.#db
      .prepare<[], Row>(
        `SELECT rule_id, channel,
           sum(state = 'sent') AS sent, sum(state = 'pending') AS pending, sum(state = 'failed') AS failed,
           sum(attempts - CASE WHEN state = 'sent' THEN 1 ELSE 0 END) AS failed_attempts,
           max(sent_at) AS last_sent_at, max(last_error_at) AS last_error_at
         FROM alert_outbox GROUP BY rule_id, channel ORDER BY rule_id, channel`,
      )
      .all();
    const lastError = this.#db.prepare<[number, string, number], { last_error: string | null }>(
      `SELECT last_error FROM alert_outbox WHERE rule_id = ? AND channel = ? AND last_error_at = ?
       ORDER BY id DESC LIMIT 1`,
    );
    return rows.map((r) => ({
      ruleId: r.rule_id,
      channel: r.channel,
      sent: r.sent,
      pending: r.pending,
      failed: r.failed,
      failedAttempts: r.failed_attempts,
      lastSentAt: r.last_sent_at,
      lastErrorAt: r.last_error_at,
      lastError:
        r.last_error_at === null
          ? null
          : (lastError.get(r.rule_id, r.channel, r.last_error_at)?.last_error ?? null),
    }));
  }

  prune(before: number): number {
    return this.#db
      .prepare("DELETE FROM alert_outbox WHERE state IN ('sent', 'failed') AND created_at < ?")
      .run(before).changes;
  }
}
