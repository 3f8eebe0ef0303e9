/**
 * The hub's alerts (docs/alerts.md): rules an operator sets, evaluated every `intervalMs` on
 * the hub's clock over the hub's own state (the registry the fleet routes read, the statistics);
 * alerts that fire, clear and are acknowledged; notifications through the outbox.
 *
 * Lifecycle: a condition that holds for the rule's duration fires one alert (active); while it
 * holds, that alert stays the one alert however often it is seen again (its detail kept
 * current); when it no longer holds, the alert is cleared. Acknowledging (who, when, a note)
 * changes neither. Fired and cleared alerts go to the rule's channels.
 */
import type { Logger } from 'pino';
import type { Clock, TimerHandle } from '../../protocol/clock.js';
import type { AlertFilter, AlertRepository, AlertRow, NewAlert, OutboxRow } from '../database/alerts.js';
import type { HubDatabase } from '../database/database.js';
import { HubError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import { AuditLog } from '../security/audit.js';
import { computeStats, type StatsWindows } from '../stats/stats.js';
import { type Channel, createChannel } from './channels/index.js';
import { type AlertsConfig, type ChannelLanguage, type ChannelType, languageOf } from './config.js';
import { AlertError } from './errors.js';
import { type Condition, conditions, type FleetView, Pending } from './evaluate.js';
import { type AlertJson, alertJson, alertNotice, ENTERPRISE_NAME, testNotice } from './message.js';
import { Outbox, type OutboxCounters } from './outbox.js';
import {
  type AlertRule,
  checkRule,
  fromRow,
  type RuleCreateBody,
  type RuleFields,
  type RulePatchBody,
  toRow,
  withDefaults,
} from './rules.js';

export interface AlertServiceOptions {
  readonly registry: Registry;
  readonly config: AlertsConfig;
  readonly clock: Clock;
  readonly windows: StatsWindows;
  readonly hubId: string;
  /** For the times in messages (hub config statistics.utcOffsetMin). */
  readonly utcOffsetMin: number;
  readonly logger: Logger;
  /**
   * A worker of a hub cluster evaluates only while this says so (the cluster's leader), so an
   * alert is notified once, not once per worker; absent: always.
   */
  readonly active?: () => boolean;
}

/** Who did it, for the audit log and the alert. */
export interface AlertActor {
  readonly actor: string;
  readonly source?: string;
}

export interface ChannelInfo {
  readonly name: string;
  readonly type: ChannelType;
  readonly language: ChannelLanguage;
}

export interface RuleDelivery {
  readonly channel: string;
  readonly sent: number;
  readonly pending: number;
  readonly failed: number;
  readonly failedAttempts: number;
  readonly lastSentAt: number | null;
  readonly lastError: string | null;
  readonly lastErrorAt: number | null;
}

export interface RuleView extends AlertRule {
  readonly activeAlerts: number;
  readonly delivery: readonly RuleDelivery[];
}

export interface AlertCounters {
  evaluations: number;
  evaluationErrors: number;
  fired: number;
  cleared: number;
  /** Evaluations skipped because the previous one was still running. */
  overlapsSkipped: number;
}

export interface EvaluationResult {
  readonly fired: number;
  readonly cleared: number;
  readonly active: number;
}

export class AlertService {
  readonly counters: AlertCounters = {
    evaluations: 0,
    evaluationErrors: 0,
    fired: 0,
    cleared: 0,
    overlapsSkipped: 0,
  };
  readonly #o: AlertServiceOptions;
  readonly #log: Logger;
  readonly #pending = new Pending();
  #channels = new Map<string, Channel>();
  #outbox: Outbox | undefined;
  #timer: TimerHandle | undefined;
  #evaluating = false;
  #started = false;

  constructor(o: AlertServiceOptions) {
    this.#o = o;
    this.#log = o.logger.child({ component: 'alerts' });
  }

  get #db(): HubDatabase {
    return this.#o.registry.database;
  }

  get #repo(): AlertRepository {
    return this.#db.alerts;
  }

  get outboxCounters(): Readonly<OutboxCounters> {
    return { ...(this.#outbox?.counters ?? { sent: 0, failedAttempts: 0, givenUp: 0 }) };
  }

  async start(): Promise<void> {
    if (this.#started) return;
    const ctx = { hubId: this.#o.hubId, logger: this.#o.logger, timeoutMs: this.#o.config.retry.timeoutMs };
    const channels = new Map<string, Channel>();
    try {
      for (const [name, c] of Object.entries(this.#o.config.channels)) {
        channels.set(name, await createChannel(name, c, ctx));
      }
    } catch (err) {
      await Promise.all([...channels.values()].map((c) => c.close()));
      throw err;
    }
    this.#channels = channels;
    this.#outbox = new Outbox({
      repository: () => this.#repo,
      channels: () => this.#channels,
      render: (row, channel) => this.#render(row, channel),
      retry: this.#o.config.retry,
      clock: this.#o.clock,
      logger: this.#o.logger,
    });
    this.#started = true;
    if (this.#o.config.enabled) {
      this.#outbox.start();
      this.#arm();
    }
    this.#log.info(
      {
        enabled: this.#o.config.enabled,
        intervalMs: this.#o.config.intervalMs,
        channels: [...channels.values()].map((c) => ({ name: c.name, type: c.type, target: c.target })),
      },
      'alerts started',
    );
  }

  async close(): Promise<void> {
    if (!this.#started) return;
    this.#started = false;
    this.#o.clock.clearTimeout(this.#timer);
    this.#timer = undefined;
    await this.#outbox?.close();
    await Promise.all([...this.#channels.values()].map((c) => c.close().catch(() => undefined)));
  }

  #arm(): void {
    this.#timer = this.#o.clock.setTimeout(() => {
      this.#timer = undefined;
      if (!this.#started) return;
      if (this.#o.active?.() !== false) this.evaluate();
      if (this.#started) this.#arm();
    }, this.#o.config.intervalMs);
  }

  /**
   * One evaluation of every enabled rule, now. Never throws: a failure is logged and counted,
   * and the next interval tries again.
   */
  evaluate(): EvaluationResult {
    if (this.#evaluating) {
      this.counters.overlapsSkipped++;
      return { fired: 0, cleared: 0, active: 0 };
    }
    this.#evaluating = true;
    try {
      const r = this.#evaluate();
      this.counters.evaluations++;
      return r;
    } catch (err) {
      this.counters.evaluationErrors++;
      this.#log.error({ err }, 'alert evaluation failed; the next interval tries again');
      return { fired: 0, cleared: 0, active: 0 };
    } finally {
      this.#evaluating = false;
    }
  }

  #rules(): AlertRule[] {
    const rules: AlertRule[] = [];
    for (const row of this.#repo.rules()) {
      const r = fromRow(row);
      if (r === undefined)
        this.#log.warn({ rule: row.id, kind: row.kind }, 'alert rule of an unknown kind ignored');
      else rules.push(r);
    }
    return rules;
  }

  #view(now: number, rules: readonly AlertRule[]): FleetView {
    const registry = this.#o.registry;
    const enterprises = new Map(
      registry.enterprises().map((e) => [e.code, { region: e.regionCode, name: e.name }]),
    );
    const wantsBacklog = rules.some((r) => r.kind === 'journal-backlog');
    const summaries = wantsBacklog ? registry.gatewaySummaries() : new Map();
    let rates: Map<string, number | null> | undefined;
    return {
      now,
      onlineWindowMs: this.#o.windows.onlineMs,
      gateways: registry.gateways(),
      machines: registry.machines().filter((m) => m.status !== 'retired'),
      enterprises,
      backlog: (group, node) => {
        if (!wantsBacklog) return undefined;
        const queued = summaries.get(`${group}/${node}`)?.counters.queued;
        if (typeof queued === 'number') return queued;
        const b = registry.gatewayMetrics(group, node).find((m) => m.name === 'Journal/Backlog')?.value;
        return typeof b === 'number' ? b : undefined;
      },
      networkingRates: () => {
        rates ??= new Map(
          computeStats(registry, now, this.#o.windows).byEnterprise.map((e) => [e.code, e.networkingRate]),
        );
        return rates;
      },
    };
  }

  #evaluate(): EvaluationResult {
    const now = this.#o.clock.now();
    const rules = this.#rules();
    const byId = new Map(rules.map((r) => [r.id, r]));
    const enabled = rules.filter((r) => r.enabled);
    if (enabled.length === 0 && this.#repo.countAlerts({ state: 'active' }) === 0) {
      return { fired: 0, cleared: 0, active: 0 }; // nothing to watch: no need to read the fleet
    }
    const view = this.#view(now, enabled);
    const holding = new Map<string, Condition>();
    for (const c of conditions(enabled, view, this.#pending)) holding.set(`${c.rule.id}|${c.subject}`, c);
    const repo = this.#repo;
    let fired = 0;
    let cleared = 0;
    let wasActive = 0;
    this.#db.transaction(() => {
      const active = repo.active();
      wasActive = active.length;
      for (const a of active) {
        const key = `${a.ruleId}|${a.subject}`;
        const rule = byId.get(a.ruleId);
        const c = holding.get(key);
        holding.delete(key);
        if (rule?.enabled === true && c !== undefined) {
          const detail = this.#detail(c, view);
          if (detail !== a.detail) repo.setDetail(a.id, detail);
          continue;
        }
        repo.clear(a.id, now);
        for (const channel of rule?.channels ?? []) {
          repo.enqueue({ alertId: a.id, ruleId: a.ruleId, channel, event: 'clear', at: now });
        }
        cleared++;
      }
      for (const c of holding.values()) {
        if (c.suppressed) continue;
        const since = c.since ?? now;
        if (now - since < c.rule.durationMs) continue;
        const alert: NewAlert = {
          ruleId: c.rule.id,
          ruleName: c.rule.name,
          kind: c.rule.kind,
          subject: c.subject,
          enterprise: c.place.enterprise,
          region: c.place.region,
          severity: c.rule.severity,
          detail: this.#detail(c, view),
          since,
          firedAt: now,
        };
        const id = repo.insertAlert(alert);
        for (const channel of c.rule.channels) {
          repo.enqueue({ alertId: id, ruleId: c.rule.id, channel, event: 'fire', at: now });
        }
        fired++;
      }
    });
    this.counters.fired += fired;
    this.counters.cleared += cleared;
    if (fired + cleared > 0) {
      this.#log.info({ fired, cleared }, 'alerts changed');
      this.#outbox?.kick();
    }
    return { fired, cleared, active: wasActive - cleared + fired };
  }

  #detail(c: Condition, view: FleetView): string {
    const name = view.enterprises.get(c.place.enterprise)?.name ?? null;
    return JSON.stringify({
      ...c.detail,
      ...(c.rule.threshold === null ? {} : { threshold: c.rule.threshold }),
      ...(c.place.gateway === undefined ? {} : { gateway: c.place.gateway }),
      [ENTERPRISE_NAME]: name,
    });
  }

  #render(row: OutboxRow, channel: Channel) {
    const a = this.#repo.alert(row.alertId);
    if (a === undefined) return undefined;
    return alertNotice(alertJson(a), row.event, channel.language, {
      hubId: this.#o.hubId,
      utcOffsetMin: this.#o.utcOffsetMin,
      now: this.#o.clock.now(),
    });
  }

  /** Waits for the outbox's current delivery pass (tests). */
  async drainOutbox(): Promise<void> {
    await this.#outbox?.drain();
  }

  // --- rules -------------------------------------------------------------------------------

  #ruleContext() {
    return {
      channels: [...Object.keys(this.#o.config.channels)],
      regions: this.#o.registry.regions().map((r) => r.code),
    };
  }

  rules(): RuleView[] {
    const deliveries = this.#repo.deliveries();
    const active = new Map<number, number>();
    for (const a of this.#repo.active()) active.set(a.ruleId, (active.get(a.ruleId) ?? 0) + 1);
    return this.#rules().map((r) => ({
      ...r,
      activeAlerts: active.get(r.id) ?? 0,
      delivery: deliveries.filter((d) => d.ruleId === r.id).map(({ ruleId: _ruleId, ...d }) => d),
    }));
  }

  rule(id: number): RuleView {
    const r = this.rules().find((x) => x.id === id);
    if (r === undefined) throw new HubError('WANJI_E_API_NOT_FOUND', `no alert rule ${id}`);
    return r;
  }

  createRule(body: RuleCreateBody, by: AlertActor): RuleView {
    const fields = withDefaults(body);
    this.#checked(fields, by, 'alert.rule.create', undefined);
    const now = this.#o.clock.now();
    const id = this.#db.transaction(() => {
      const row = toRow({
        ...fields,
        id: 0,
        createdBy: by.actor,
        createdAt: now,
        updatedBy: by.actor,
        updatedAt: now,
      });
      const { id: _id, ...rest } = row;
      const newId = this.#repo.insertRule(rest);
      this.#audit(by, 'alert.rule.create', `rule ${newId}`, 'ok', { ...ruleAudit(fields) });
      return newId;
    });
    return this.rule(id);
  }

  updateRule(id: number, patch: RulePatchBody, by: AlertActor): RuleView {
    const current = this.#rules().find((r) => r.id === id);
    if (current === undefined) throw new HubError('WANJI_E_API_NOT_FOUND', `no alert rule ${id}`);
    const fields: RuleFields = {
      name: patch.name ?? current.name,
      kind: patch.kind ?? current.kind,
      scope: patch.scope ?? current.scope,
      threshold: patch.threshold === undefined ? current.threshold : patch.threshold,
      durationMs: patch.durationMs ?? current.durationMs,
      severity: patch.severity ?? current.severity,
      channels: patch.channels ?? current.channels,
      enabled: patch.enabled ?? current.enabled,
    };
    this.#checked(fields, by, 'alert.rule.update', id);
    this.#db.transaction(() => {
      this.#repo.updateRule(
        toRow({ ...current, ...fields, updatedBy: by.actor, updatedAt: this.#o.clock.now() }),
      );
      this.#audit(by, 'alert.rule.update', `rule ${id}`, 'ok', { changed: Object.keys(patch) });
    });
    return this.rule(id);
  }

  /** Deletes the rule; its active alerts are cleared at the next evaluation (no notification). */
  deleteRule(id: number, by: AlertActor): void {
    this.#db.transaction(() => {
      if (!this.#repo.deleteRule(id)) throw new HubError('WANJI_E_API_NOT_FOUND', `no alert rule ${id}`);
      this.#audit(by, 'alert.rule.delete', `rule ${id}`, 'ok', {});
    });
  }

  #checked(fields: RuleFields, by: AlertActor, action: string, id: number | undefined): void {
    try {
      checkRule(fields, this.#ruleContext());
    } catch (err) {
      if (err instanceof AlertError) {
        this.#audit(by, action, id === undefined ? undefined : `rule ${id}`, 'refused', {
          code: err.code,
          reason: err.message.slice(0, 500),
        });
      }
      throw err;
    }
  }

  // --- alerts ------------------------------------------------------------------------------

  alerts(f: AlertFilter): { total: number; alerts: AlertJson[] } {
    return { total: this.#repo.countAlerts(f), alerts: this.#repo.alerts(f).map(alertJson) };
  }

  /** The alert if it exists and `visible` says the caller may see it; else 404. */
  alert(id: number, visible: (a: AlertRow) => boolean = () => true): AlertJson {
    const a = this.#repo.alert(id);
    if (a === undefined || !visible(a)) throw new HubError('WANJI_E_API_NOT_FOUND', `no alert ${id}`);
    return alertJson(a);
  }

  /** Acknowledges an alert (active or cleared); a second acknowledgement keeps the first. */
  acknowledge(id: number, by: AlertActor, note: string | undefined): { alert: AlertJson; changed: boolean } {
    return this.#db.transaction(() => {
      const a = this.#repo.alert(id);
      if (a === undefined) throw new HubError('WANJI_E_API_NOT_FOUND', `no alert ${id}`);
      if (a.acknowledgedAt !== null) return { alert: alertJson(a), changed: false };
      this.#repo.acknowledge(id, this.#o.clock.now(), by.actor, note ?? null);
      this.#audit(by, 'alert.ack', `alert ${id}`, 'ok', {
        rule: a.ruleId,
        subject: a.subject,
        ...(note === undefined ? {} : { note }),
      });
      const after = this.#repo.alert(id);
      if (after === undefined) throw new HubError('WANJI_E_API_NOT_FOUND', `no alert ${id}`);
      return { alert: alertJson(after), changed: true };
    });
  }

  // --- channels ----------------------------------------------------------------------------

  channels(): ChannelInfo[] {
    return Object.entries(this.#o.config.channels).map(([name, c]) => ({
      name,
      type: c.type,
      language: languageOf(c),
    }));
  }

  /** Sends a test message through a channel now (not through the outbox); rejects with the reason. */
  async testChannel(name: string, by: AlertActor): Promise<{ channel: string; sentAt: number }> {
    const channel = this.#channels.get(name);
    if (channel === undefined)
      throw new HubError('WANJI_E_API_NOT_FOUND', `no channel "${name}" in the hub config's alerts.channels`);
    const notice = testNotice(channel.language, { hubId: this.#o.hubId, channel: name });
    try {
      await channel.send(notice, AbortSignal.timeout(this.#o.config.retry.timeoutMs));
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      this.#audit(by, 'alert.channel.test', `channel ${name}`, 'refused', { reason: reason.slice(0, 500) });
      this.#log.warn({ channel: name, reason }, 'alert channel test failed');
      throw new AlertError(
        'WANJI_E_ALERT_CHANNEL_FAILED',
        `channel "${name}" did not take the test message: ${reason}`,
      );
    }
    this.#audit(by, 'alert.channel.test', `channel ${name}`, 'ok', {});
    return { channel: name, sentAt: this.#o.clock.now() };
  }

  #audit(
    by: AlertActor,
    action: string,
    target: string | undefined,
    outcome: 'ok' | 'refused',
    detail: Record<string, unknown>,
  ): void {
    new AuditLog(this.#db, () => this.#o.clock.now()).record({
      actor: by.actor,
      action,
      ...(target === undefined ? {} : { target }),
      outcome,
      ...(by.source === undefined ? {} : { source: by.source }),
      detail,
    });
  }
}

function ruleAudit(f: RuleFields): Record<string, unknown> {
  return {
    name: f.name,
    kind: f.kind,
    scope: f.scope,
    threshold: f.threshold,
    durationMs: f.durationMs,
    severity: f.severity,
    channels: f.channels,
    enabled: f.enabled,
  };
}
