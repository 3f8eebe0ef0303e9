/**
 * Time in each machine state per machine per local day, and utilisation (稼动率) = running
 * time ÷ powered-on time, where powered on = running + idle + alarm + stopped (not offline,
 * not powered off). The closed intervals come from machine_state_time (registry/state-clock.ts);
 * the open one is added up to `now`, except that a machine gone silent without a death
 * certificate keeps its state only until it was last heard: after that it is offline.
 */
import { MACHINE_STATES } from '../../protocol/index.js';
import { DAY_MS, dayStart } from '../registry/days.js';
import type { Registry } from '../registry/registry.js';
import { inStatsScope, type StatsScope, type StatsWindows } from './stats.js';

const POWERED_ON = new Set(['running', 'idle', 'alarm', 'stopped']);

export interface MachineDay {
  readonly enterprise: string;
  readonly machine: string;
  readonly day: string;
  /** ms in each state (offline, alarm, running, idle, stopped, powered_off). */
  readonly ms: Readonly<Record<string, number>>;
  readonly poweredOnMs: number;
  /** Calendar time of the day so far (a full day once it is over). */
  readonly calendarMs: number;
  /** running ÷ powered-on time; null when never powered on. */
  readonly utilisation: number | null;
  /** powered-on time ÷ calendar time. */
  readonly powerOnTimeRate: number | null;
}

export interface EnterpriseDay {
  readonly enterprise: string;
  readonly day: string;
  readonly machines: number;
  readonly ms: Readonly<Record<string, number>>;
  readonly poweredOnMs: number;
  readonly calendarMs: number;
  /** Pooled: Σ running ÷ Σ powered-on time of its machines. */
  readonly utilisation: number | null;
  readonly powerOnTimeRate: number | null;
}

export interface StateTimeQuery {
  /** "YYYY-MM-DD", local. */
  readonly day: string;
  readonly now: number;
  readonly windows: StatsWindows;
  readonly enterprise?: string;
  readonly scope?: StatsScope;
}

const emptyMs = (): Record<string, number> => Object.fromEntries(MACHINE_STATES.map((s) => [s, 0]));

export function machineDays(registry: Registry, q: StateTimeQuery): MachineDay[] {
  const db = registry.database.stateTime;
  const start = dayStart(q.day, registry.utcOffsetMin);
  const end = start + DAY_MS;
  const calendarMs = Math.max(0, Math.min(end, q.now) - start);
  const byMachine = new Map<string, { enterprise: string; machine: string; ms: Record<string, number> }>();
  const slot = (enterprise: string, machine: string) => {
    const k = `${enterprise}\u0000${machine}`;
    let s = byMachine.get(k);
    if (s === undefined) {
      s = { enterprise, machine, ms: emptyMs() };
      byMachine.set(k, s);
    }
    return s;
  };
  const closed = db.closed(q.day, q.enterprise);
  const scope = q.scope ?? {};
  for (const r of closed) {
    if (!inStatsScope(scope, r.enterprise, r.regionCode)) continue;
    const s = slot(r.enterprise, r.machine);
    s.ms[r.state] = (s.ms[r.state] ?? 0) + r.ms;
  }
  const open = db.open(end, q.enterprise);
  const onlineSince = q.now - q.windows.onlineMs;
  for (const m of open) {
    if (!inStatsScope(scope, m.enterprise, m.regionCode)) continue;
    const from = Math.max(m.since, start);
    const to = Math.min(end, q.now);
    if (to <= from) continue;
    const silent = !m.dead && m.state !== 'offline' && (m.lastSeenAt ?? 0) < onlineSince;
    const stateUntil = silent ? Math.max(from, Math.min(to, m.lastSeenAt ?? from)) : to;
    const s = slot(m.enterprise, m.machine);
    s.ms[m.state] = (s.ms[m.state] ?? 0) + (stateUntil - from);
    if (to > stateUntil) s.ms.offline = (s.ms.offline ?? 0) + (to - stateUntil);
  }
  return [...byMachine.values()]
    .sort((a, b) =>
      a.enterprise === b.enterprise ? (a.machine < b.machine ? -1 : 1) : a.enterprise < b.enterprise ? -1 : 1,
    )
    .map((s) => {
      const poweredOnMs = Object.entries(s.ms).reduce((acc, [k, v]) => acc + (POWERED_ON.has(k) ? v : 0), 0);
      return {
        enterprise: s.enterprise,
        machine: s.machine,
        day: q.day,
        ms: s.ms,
        poweredOnMs,
        calendarMs,
        utilisation: poweredOnMs > 0 ? (s.ms.running ?? 0) / poweredOnMs : null,
        powerOnTimeRate: calendarMs > 0 ? poweredOnMs / calendarMs : null,
      };
    });
}

/** Per enterprise, summed over its machines. */
export function enterpriseDays(days: readonly MachineDay[]): EnterpriseDay[] {
  const byEnterprise = new Map<string, MachineDay[]>();
  for (const d of days) byEnterprise.set(d.enterprise, [...(byEnterprise.get(d.enterprise) ?? []), d]);
  return [...byEnterprise].map(([enterprise, list]) => {
    const ms = emptyMs();
    for (const d of list) for (const [k, v] of Object.entries(d.ms)) ms[k] = (ms[k] ?? 0) + v;
    const poweredOnMs = list.reduce((a, d) => a + d.poweredOnMs, 0);
    const calendarMs = list.reduce((a, d) => a + d.calendarMs, 0);
    return {
      enterprise,
      day: list[0]!.day,
      machines: list.length,
      ms,
      poweredOnMs,
      calendarMs,
      utilisation: poweredOnMs > 0 ? (ms.running ?? 0) / poweredOnMs : null,
      powerOnTimeRate: calendarMs > 0 ? poweredOnMs / calendarMs : null,
    };
  });
}
