/**
 * Who may read and change what through the API: the contract between the routes and the
 * authentication hook. Every route declares `config: { access }`; the hook (auth.ts) resolves
 * the bearer token to a Principal, refuses what the role may not reach (401/403, logged and
 * audited), and leaves `request.principal` for the handler, which narrows what it returns
 * with `scopeOf()` (an enterprise sees only itself, a county's bureau staff only their regions).
 *
 * | access       | admin | operator | bureau            | enterprise    | child-hub |
 * | ------------ | ----- | -------- | ----------------- | ------------- | --------- |
 * | public       | yes   | yes      | yes               | yes (no token needed) | yes |
 * | aggregate    | yes   | yes      | scoped to regions | its own only  | no        |
 * | fleet        | yes   | yes      | no                | its own only  | no        |
 * | telemetry    | yes   | yes      | no                | its own only  | no        |
 * | manage       | yes   | yes      | no                | no            | no        |
 * | metrics      | yes   | yes      | no                | no            | no        |
 * | admin        | yes   | no       | no                | no            | no        |
 * | child-report | no    | no       | no                | no            | its scope |
 *
 * aggregate = statistics and per-enterprise rates (no raw telemetry); fleet = gateways,
 * machines, their health; telemetry = sample values and series; manage = changes to the
 * registry (enterprises, ledgers, imports, gateway credentials), the list of child reports;
 * metrics = the hub's own figures for Prometheus (`GET /metrics`: broker, host, ingest, store,
 * gateways by enterprise code; no sample values);
 * admin = tokens, audit log, deleting a child report; child-report = posting a child hub's
 * aggregates (`POST /api/v1/statistics/children`), for the hub id, regions and enterprise
 * codes the token was issued for (hub/stats/child-report.ts checks them) and nothing else: a child
 * reads nothing from its parent, and no other role may post a report, so no report escapes
 * the scope of the child that sent it.
 */
import { type Principal, ROLES, type Role } from '../security/roles.js';

/** The role vocabulary lives in hub/security/roles.ts; re-exported for the routes. */
export { type Principal, ROLES, type Role };

export const ACCESS_LEVELS = [
  'public',
  'aggregate',
  'fleet',
  'telemetry',
  'manage',
  'metrics',
  'admin',
  'child-report',
] as const;
export type Access = (typeof ACCESS_LEVELS)[number];

const ALLOWED: Readonly<Record<Access, readonly Role[]>> = {
  public: ROLES,
  aggregate: ['admin', 'operator', 'bureau', 'enterprise'],
  fleet: ['admin', 'operator', 'enterprise'],
  telemetry: ['admin', 'operator', 'enterprise'],
  manage: ['admin', 'operator'],
  metrics: ['admin', 'operator'],
  admin: ['admin'],
  'child-report': ['child-hub'],
};

export function mayAccess(role: Role, access: Access): boolean {
  return ALLOWED[access].includes(role);
}

/**
 * What a principal may see of the registry. `undefined` fields mean no limit; a handler
 * filters lists with them and answers 404 (not 403) for a single object outside the scope,
 * so a scoped token cannot even learn that another enterprise exists.
 */
export interface Scope {
  readonly enterprises?: readonly string[];
  readonly regions?: readonly string[];
}

export function scopeOf(p: Principal | undefined): Scope {
  if (p === undefined) return {};
  if (p.role === 'enterprise') return { enterprises: p.enterprise === undefined ? [] : [p.enterprise] };
  if (p.role === 'bureau' && p.regions.length > 0) return { regions: p.regions };
  // A child hub reads nothing here; should a route ever admit it, it sees no enterprise.
  if (p.role === 'child-hub') return { enterprises: [] };
  return {};
}

/** True when an enterprise in `region` is inside the scope. */
export function inScope(scope: Scope, enterprise: string, region: string | null | undefined): boolean {
  if (scope.enterprises !== undefined && !scope.enterprises.includes(enterprise)) return false;
  if (scope.regions !== undefined && (region == null || !scope.regions.includes(region))) return false;
  return true;
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** Who may call the route (access.ts); routes without it are refused, never open. */
    access?: Access;
    /**
     * For a route that changes something: its audit action (`token.create`, …). Its refusals
     * (bad body, failed validation) are audited under it, not only logged.
     */
    action?: string;
  }
  interface FastifyRequest {
    /** Set by the auth hook for every route but `public` ones called without a token. */
    principal?: Principal;
  }
}
