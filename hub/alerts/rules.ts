/**
 * Alert rules: what an operator asks to be told about (docs/alerts.md). One TypeBox schema
 * (schemas.ts) gives the API's validation and the type; `checkRule` adds what a schema cannot
 * say (a scope the kind cannot use, a threshold the kind needs, a channel the config does not have).
 */
import type { AlertRuleRow } from '../database/alerts.js';
import { AlertError } from './errors.js';
import {
  RULE_KINDS,
  type RuleCreateBody,
  type RuleKind,
  type RuleScope,
  type ScopeKind,
  SEVERITIES,
  type Severity,
} from './schemas.js';

export {
  RULE_KINDS,
  RuleCreateBody,
  type RuleKind,
  RulePatchBody,
  RuleScope,
  SCOPE_KINDS,
  type ScopeKind,
  SEVERITIES,
  type Severity,
} from './schemas.js';

/** What a kind's alerts are about: one alert per rule and subject. */
export type SubjectType = 'gateway' | 'machine' | 'enterprise';
export const SUBJECT_OF: Readonly<Record<RuleKind, SubjectType>> = {
  'gateway-offline': 'gateway',
  'journal-backlog': 'gateway',
  'machine-offline': 'machine',
  'data-stale': 'machine',
  'machine-alarm': 'machine',
  'networking-rate': 'enterprise',
};

/** The kinds that need a threshold, and what it is. */
const THRESHOLD_OF: Partial<Record<RuleKind, { what: string; min: number; max: number }>> = {
  'journal-backlog': { what: 'messages in the journal (Journal/Backlog)', min: 0, max: 1e12 },
  'networking-rate': { what: 'a networking rate in percent (e.g. 50)', min: 0, max: 1_000 },
};

/** The scopes each subject type can be narrowed to. */
const SCOPES_FOR: Readonly<Record<SubjectType, readonly ScopeKind[]>> = {
  gateway: ['all', 'region', 'enterprise', 'gateway'],
  machine: ['all', 'region', 'enterprise', 'gateway', 'machine'],
  enterprise: ['all', 'region', 'enterprise'],
};

/** A rule as the service works with it. */
export interface AlertRule {
  readonly id: number;
  readonly name: string;
  readonly kind: RuleKind;
  readonly scope: RuleScope;
  readonly threshold: number | null;
  readonly durationMs: number;
  readonly severity: Severity;
  readonly channels: readonly string[];
  readonly enabled: boolean;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly updatedBy: string;
  readonly updatedAt: number;
}

export type RuleFields = Pick<
  AlertRule,
  'name' | 'kind' | 'scope' | 'threshold' | 'durationMs' | 'severity' | 'channels' | 'enabled'
>;

export function withDefaults(b: RuleCreateBody): RuleFields {
  return {
    name: b.name,
    kind: b.kind,
    scope: b.scope ?? { kind: 'all' },
    threshold: b.threshold ?? null,
    durationMs: b.durationMs,
    severity: b.severity ?? 'warning',
    channels: b.channels ?? [],
    enabled: b.enabled ?? true,
  };
}

/** Why `r` cannot be a rule (each problem with its fix); empty when it can. */
export function ruleProblems(
  r: RuleFields,
  ctx: { channels: readonly string[]; regions: readonly string[] },
) {
  const problems: string[] = [];
  const subject = SUBJECT_OF[r.kind];
  const s = r.scope;
  if (!SCOPES_FOR[subject].includes(s.kind)) {
    problems.push(
      `scope.kind "${s.kind}" does not fit kind ${r.kind} (about each ${subject}): use one of ${SCOPES_FOR[subject].join(', ')}`,
    );
  }
  const needs: Record<ScopeKind, readonly (keyof RuleScope)[]> = {
    all: [],
    region: ['region'],
    enterprise: ['enterprise'],
    gateway: ['enterprise', 'gateway'],
    machine: ['enterprise', 'machine'],
  };
  for (const key of ['region', 'enterprise', 'gateway', 'machine'] as const) {
    const wanted = needs[s.kind].includes(key);
    if (wanted && s[key] === undefined) problems.push(`scope.${key}: required with scope.kind "${s.kind}"`);
    if (!wanted && s[key] !== undefined)
      problems.push(`scope.${key}: not used with scope.kind "${s.kind}"; leave it out`);
  }
  if (s.region !== undefined && !ctx.regions.includes(s.region)) {
    problems.push(`scope.region "${s.region}" is not a region code; use one of ${ctx.regions.join(', ')}`);
  }
  const t = THRESHOLD_OF[r.kind];
  if (t === undefined && r.threshold !== null) {
    problems.push(`threshold: kind ${r.kind} takes none; leave it out or send null`);
  }
  if (t !== undefined) {
    if (r.threshold === null) problems.push(`threshold: required for kind ${r.kind}: ${t.what}`);
    else if (!Number.isFinite(r.threshold) || r.threshold < t.min || r.threshold > t.max) {
      problems.push(`threshold ${r.threshold}: ${t.what}, from ${t.min} to ${t.max}`);
    }
  }
  const unknown = r.channels.filter((c) => !ctx.channels.includes(c));
  if (unknown.length > 0) {
    problems.push(
      `channels: no channel ${unknown.map((c) => `"${c}"`).join(', ')} in the hub config's alerts.channels; ${
        ctx.channels.length === 0 ? 'none is configured' : `configured: ${ctx.channels.join(', ')}`
      }`,
    );
  }
  if (new Set(r.channels).size !== r.channels.length) problems.push('channels: a channel is named twice');
  return problems;
}

export function checkRule(
  r: RuleFields,
  ctx: { channels: readonly string[]; regions: readonly string[] },
): void {
  const problems = ruleProblems(r, ctx);
  if (problems.length > 0) {
    throw new AlertError('WANJI_E_ALERT_RULE_INVALID', `invalid alert rule: ${problems.join('; ')}`);
  }
}

/** The stored scope value: `E1`, `yiwu`, `E1/GW1`, `E1/M1`; null for all. */
export function scopeValue(s: RuleScope): string | null {
  switch (s.kind) {
    case 'all':
      return null;
    case 'region':
      return s.region ?? null;
    case 'enterprise':
      return s.enterprise ?? null;
    case 'gateway':
      return `${s.enterprise ?? ''}/${s.gateway ?? ''}`;
    case 'machine':
      return `${s.enterprise ?? ''}/${s.machine ?? ''}`;
  }
}

function scopeFrom(kind: string, value: string | null): RuleScope {
  const v = value ?? '';
  const slash = v.indexOf('/');
  const [a, b] = slash < 0 ? [v, ''] : [v.slice(0, slash), v.slice(slash + 1)];
  switch (kind) {
    case 'region':
      return { kind, region: v };
    case 'enterprise':
      return { kind, enterprise: v };
    case 'gateway':
      return { kind, enterprise: a, gateway: b };
    case 'machine':
      return { kind, enterprise: a, machine: b };
    default:
      return { kind: 'all' };
  }
}

const isKind = (k: string): k is RuleKind => (RULE_KINDS as readonly string[]).includes(k);
const isSeverity = (s: string): s is Severity => (SEVERITIES as readonly string[]).includes(s);

/** A stored rule; undefined for a row this hub does not understand (logged by the caller). */
export function fromRow(r: AlertRuleRow): AlertRule | undefined {
  if (!isKind(r.kind)) return undefined;
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    scope: scopeFrom(r.scopeKind, r.scopeValue),
    threshold: r.threshold,
    durationMs: r.durationMs,
    severity: isSeverity(r.severity) ? r.severity : 'warning',
    channels: r.channels,
    enabled: r.enabled,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedBy: r.updatedBy,
    updatedAt: r.updatedAt,
  };
}

export function toRow(r: AlertRule): AlertRuleRow {
  return {
    id: r.id,
    name: r.name,
    kind: r.kind,
    scopeKind: r.scope.kind,
    scopeValue: scopeValue(r.scope),
    threshold: r.threshold,
    durationMs: r.durationMs,
    severity: r.severity,
    channels: r.channels,
    enabled: r.enabled,
    createdBy: r.createdBy,
    createdAt: r.createdAt,
    updatedBy: r.updatedBy,
    updatedAt: r.updatedAt,
  };
}

/** What a subject is, for scope matching. */
export interface SubjectPlace {
  readonly enterprise: string;
  readonly region: string | null;
  readonly gateway?: string;
  readonly machine?: string;
}

export function inRuleScope(s: RuleScope, p: SubjectPlace): boolean {
  switch (s.kind) {
    case 'all':
      return true;
    case 'region':
      return p.region !== null && p.region === s.region;
    case 'enterprise':
      return p.enterprise === s.enterprise;
    case 'gateway':
      return p.enterprise === s.enterprise && p.gateway === s.gateway;
    case 'machine':
      return p.enterprise === s.enterprise && p.machine === s.machine;
  }
}
