/**
 * What each rule sees in the hub's state, once per evaluation: the conditions that hold now,
 * each with the subject it is about and, where the state says when it began (a gateway's
 * death, a machine last heard), since when. Conditions whose start the state does not keep
 * (an alarm, a backlog, a rate) are timed from the first evaluation that saw them (`Pending`).
 *
 * A machine behind a gateway that is offline is `suppressed` when a gateway-offline rule
 * watches that gateway: the gateway's alert speaks for it (and counts it), so a dead gateway
 * is one alert, not one per machine.
 */
import type { Gateway, MachineRecord } from '../registry/types.js';
import { type AlertRule, inRuleScope, type SubjectPlace } from './rules.js';

/** The hub's state as the fleet and statistics routes read it. */
export interface FleetView {
  readonly now: number;
  readonly onlineWindowMs: number;
  readonly gateways: readonly Gateway[];
  /** Machines not retired. */
  readonly machines: readonly MachineRecord[];
  /** Region and name of each declared enterprise. */
  readonly enterprises: ReadonlyMap<string, { readonly region: string; readonly name: string }>;
  /** A gateway's journal backlog (`Journal/Backlog`, or `Gateway/Queued`); undefined when it reports none. */
  readonly backlog: (group: string, node: string) => number | undefined;
  /** Each declared enterprise's networking rate (0–1; null without a ledger); computed on first use. */
  readonly networkingRates: () => ReadonlyMap<string, number | null>;
}

export interface Condition {
  readonly rule: AlertRule;
  /** `gateway:E1/GW1`, `machine:E1/M1`, `enterprise:E1`. */
  readonly subject: string;
  readonly place: SubjectPlace;
  /** When it began, where the state says so; undefined: timed by Pending. */
  readonly since: number | undefined;
  readonly detail: Readonly<Record<string, string | number | boolean | null>>;
  /** Holds, but another alert (its gateway's) speaks for it: never fired on its own. */
  readonly suppressed: boolean;
}

export const gatewaySubject = (group: string, node: string): string => `gateway:${group}/${node}`;

function isOnline(m: MachineRecord, v: FleetView): boolean {
  return !m.dead && m.lastSeenAt !== null && m.lastSeenAt >= v.now - v.onlineWindowMs;
}

/**
 * Keeps, across evaluations, what the state does not: when a timed condition was first seen
 * and each gateway's previous backlog (a backlog "growing" is one not shrinking since then).
 */
export class Pending {
  readonly #since = new Map<string, number>();
  #backlogs = new Map<string, number>();

  /** When the condition keyed `key` was first seen holding (now, if this is the first time). */
  since(key: string, now: number): number {
    const at = this.#since.get(key);
    if (at !== undefined) return at;
    this.#since.set(key, now);
    return now;
  }

  /** Forgets conditions that no longer hold. */
  keepOnly(keys: ReadonlySet<string>): void {
    for (const k of this.#since.keys()) if (!keys.has(k)) this.#since.delete(k);
  }

  previousBacklog(gateway: string): number | undefined {
    return this.#backlogs.get(gateway);
  }

  setBacklogs(b: Map<string, number>): void {
    this.#backlogs = b;
  }
}

/** Every condition that holds now, for every enabled rule. */
export function conditions(rules: readonly AlertRule[], v: FleetView, pending: Pending): Condition[] {
  const out: Condition[] = [];
  const placeOfGateway = (g: Gateway): SubjectPlace => ({
    enterprise: g.group,
    region: v.enterprises.get(g.group)?.region ?? null,
    gateway: g.edgeNode,
  });
  const gatewayOnline = new Map(v.gateways.map((g) => [`${g.group}/${g.edgeNode}`, g.online]));
  const machinesBehind = new Map<string, number>();
  for (const m of v.machines) {
    const k = `${m.enterprise}/${m.gateway}`;
    machinesBehind.set(k, (machinesBehind.get(k) ?? 0) + 1);
  }
  const gatewayRules = rules.filter((r) => r.kind === 'gateway-offline');
  /** An offline gateway some gateway-offline rule watches: its machines are its alert's. */
  const speaksFor = (m: MachineRecord): boolean =>
    gatewayOnline.get(`${m.enterprise}/${m.gateway}`) === false &&
    gatewayRules.some((r) =>
      inRuleScope(r.scope, { enterprise: m.enterprise, region: m.regionCode, gateway: m.gateway }),
    );
  const backlogs = new Map<string, number>();
  for (const g of v.gateways) {
    const b = v.backlog(g.group, g.edgeNode);
    if (b !== undefined) backlogs.set(`${g.group}/${g.edgeNode}`, b);
  }

  for (const rule of rules) {
    const pend = (subject: string): number => pending.since(`${rule.id}|${subject}`, v.now);
    switch (rule.kind) {
      case 'gateway-offline':
        for (const g of v.gateways) {
          if (g.online) continue;
          const place = placeOfGateway(g);
          if (!inRuleScope(rule.scope, place)) continue;
          out.push({
            rule,
            subject: gatewaySubject(g.group, g.edgeNode),
            place,
            since: g.lastDeathAt ?? g.lastSeenAt ?? g.firstSeen,
            detail: { machines: machinesBehind.get(`${g.group}/${g.edgeNode}`) ?? 0 },
            suppressed: false,
          });
        }
        break;
      case 'journal-backlog':
        for (const g of v.gateways) {
          const key = `${g.group}/${g.edgeNode}`;
          const backlog = backlogs.get(key);
          const before = pending.previousBacklog(key);
          if (!g.online || backlog === undefined || backlog < (rule.threshold ?? 0)) continue;
          // Growing, or standing still: not draining. A shrinking backlog is draining.
          if (before !== undefined && backlog < before) continue;
          const place = placeOfGateway(g);
          if (!inRuleScope(rule.scope, place)) continue;
          const subject = gatewaySubject(g.group, g.edgeNode);
          out.push({ rule, subject, place, since: pend(subject), detail: { backlog }, suppressed: false });
        }
        break;
      case 'machine-offline':
      case 'data-stale':
      case 'machine-alarm':
        for (const m of v.machines) {
          const place: SubjectPlace = {
            enterprise: m.enterprise,
            region: m.regionCode,
            gateway: m.gateway,
            machine: m.id,
          };
          if (!inRuleScope(rule.scope, place)) continue;
          const online = isOnline(m, v);
          const subject = `machine:${m.enterprise}/${m.id}`;
          const base = { rule, subject, place, suppressed: speaksFor(m) };
          if (rule.kind === 'machine-offline' && !online) {
            out.push({ ...base, since: m.lastSeenAt ?? m.firstSeen, detail: { gateway: m.gateway } });
          } else if (rule.kind === 'data-stale' && online) {
            const last = m.lastSampleAt ?? m.firstSeen;
            if (v.now - last >= rule.durationMs) {
              out.push({ ...base, since: last, detail: { lastSampleAt: m.lastSampleAt } });
            }
          } else if (rule.kind === 'machine-alarm' && online && m.state === 'alarm') {
            out.push({ ...base, since: pend(subject), detail: { state: m.state } });
          }
        }
        break;
      case 'networking-rate': {
        const rates = v.networkingRates();
        for (const [code, e] of v.enterprises) {
          const rate = rates.get(code);
          if (rate === undefined || rate === null) continue;
          const percent = Math.round(rate * 1000) / 10;
          if (percent >= (rule.threshold ?? 0)) continue;
          const place: SubjectPlace = { enterprise: code, region: e.region };
          if (!inRuleScope(rule.scope, place)) continue;
          const subject = `enterprise:${code}`;
          out.push({
            rule,
            subject,
            place,
            since: pend(subject),
            detail: { rate: percent },
            suppressed: false,
          });
        }
        break;
      }
    }
  }
  pending.setBacklogs(backlogs);
  pending.keepOnly(new Set(out.map((c) => `${c.rule.id}|${c.subject}`)));
  return out;
}
