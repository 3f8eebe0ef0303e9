/**
 * Machines a gateway reports but never announced: configured on it, in its `Devices/<id>/*`
 * health metrics (NBIRTH/NDATA), but never born (no DBIRTH) because the machine never
 * answered. The hub knows them (their gateway and health, why they are not read), and they are
 * not networked (docs/domain.md: networked needs a valid sample). Issue 10: such a machine
 * was absent from `/api/v1/machines` and its detail was 404.
 *
 * They are listed by the machine routes only; the registry and every count (statistics, the
 * enterprise list) hold announced machines. Once the machine is born it is the registry's.
 */
import type { Static } from '@sinclair/typebox';
import { asOfGateway } from '../../registry/gateway-metrics.js';
import type { Registry } from '../../registry/registry.js';
import { inScope, type Scope } from '../access.js';
import { iso } from '../deps.js';
import type { Machine, MachineStatusSchema } from '../schemas.js';

type MachineJson = Static<typeof Machine>;

export interface ReportedFilter {
  readonly enterprise?: string;
  readonly region?: string;
  readonly industry?: string;
  readonly online?: boolean;
  readonly status?: Static<typeof MachineStatusSchema>;
  /** A part of the machine id, the enterprise code or its name (case-insensitive). */
  readonly search?: string;
}

/**
 * Reported, never announced machines within the scope and filter, by enterprise and id. One
 * reported by two gateways of its enterprise is listed once, as the one that changed last.
 */
export function reportedMachines(registry: Registry, scope: Scope, filter: ReportedFilter): MachineJson[] {
  // Never online, never confirmed or retired: such a filter leaves none.
  if (filter.online === true || (filter.status !== undefined && filter.status !== 'unconfirmed')) return [];
  const enterprises = new Map(registry.enterprises().map((e) => [e.code, e]));
  // Only the health of machines never announced: the fleet's other metrics are not read.
  const summaries = registry.unannouncedHealthSummaries();
  // Announced ones (any status), in one query: every configured machine is reported.
  let announced: Set<string> | undefined;
  const isAnnounced = (enterprise: string, id: string): boolean => {
    announced ??= registry.machineKeys({
      ...(filter.enterprise === undefined ? {} : { enterprise: filter.enterprise }),
      ...(filter.region === undefined ? {} : { region: filter.region }),
    });
    return announced.has(`${enterprise}\u0000${id}`);
  };
  const found = new Map<string, { at: number; json: MachineJson }>();
  for (const g of registry.gateways()) {
    if (filter.enterprise !== undefined && g.group !== filter.enterprise) continue;
    const e = enterprises.get(g.group);
    const region = e?.regionCode ?? null;
    const industry = e?.industryCode ?? null;
    if (filter.region !== undefined && region !== filter.region) continue;
    if (filter.industry !== undefined && industry !== filter.industry) continue;
    if (!inScope(scope, g.group, region)) continue;
    const search = filter.search?.toLowerCase();
    const matches = (id: string): boolean =>
      search === undefined || [id, g.group, e?.name ?? ''].some((s) => s.toLowerCase().includes(search));
    const summary = summaries.get(`${g.group}/${g.edgeNode}`);
    if (summary === undefined) continue;
    for (const [id, h] of asOfGateway(summary, g.online).deviceHealth) {
      const key = `${g.group}\u0000${id}`;
      const seen = found.get(key);
      if (seen !== undefined && seen.at >= h.at) continue;
      if (seen === undefined && isAnnounced(g.group, id)) continue;
      if (!matches(id)) continue;
      found.set(key, {
        at: h.at,
        json: {
          enterprise: g.group,
          id,
          kind: null,
          nc: null,
          robot: null,
          dataDepth: null,
          state: 'offline',
          online: false,
          networked: false,
          dead: false,
          health: h.health,
          gateway: g.edgeNode,
          region,
          industry,
          firstSeen: iso(h.at),
          lastSeenAt: null,
          lastSampleAt: null,
          status: 'unconfirmed',
          confirmedAt: null,
          confirmedBy: null,
          retiredAt: null,
          retiredBy: null,
          mergedInto: null,
        },
      });
    }
  }
  return [...found.values()]
    .map((f) => f.json)
    .sort((a, b) =>
      a.enterprise !== b.enterprise
        ? a.enterprise < b.enterprise
          ? -1
          : 1
        : a.id < b.id
          ? -1
          : a.id > b.id
            ? 1
            : 0,
    );
}

/** One reported, never announced machine, if the scope lets the caller see it. */
export function reportedMachine(
  registry: Registry,
  scope: Scope,
  enterprise: string,
  id: string,
): MachineJson | undefined {
  return reportedMachines(registry, scope, { enterprise }).find((m) => m.id === id);
}
