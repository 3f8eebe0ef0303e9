/**
 * The checks of a principal's scope that API tokens (tokens.ts) and user accounts (users.ts)
 * share: an enterprise role names one enterprise the registry knows, and regions are codes the
 * registry knows. Each returns the problem in words, or undefined.
 */
import type { HubDatabase } from '../database/database.js';

/** `needs`: how the caller gives the enterprise ("--enterprise", "an enterprise"). */
export function enterpriseProblem(
  db: HubDatabase,
  role: string,
  enterprise: string | undefined,
  needs: string,
): string | undefined {
  if (role !== 'enterprise') {
    return enterprise === undefined ? undefined : 'only role enterprise takes an enterprise';
  }
  if (enterprise === undefined) return `role enterprise needs ${needs} (its enterprise code)`;
  if (db.registryLookups.enterpriseKnown(enterprise)) return undefined;
  return `enterprise "${enterprise.slice(0, 80)}" is not in the registry (declare its ledger or let its gateway connect first)`;
}

export function unknownRegionsProblem(db: HubDatabase, regions: readonly string[]): string | undefined {
  if (regions.length === 0) return undefined;
  const known = new Set(db.registryLookups.regionCodes());
  const unknown = regions.filter((r) => !known.has(r));
  if (unknown.length === 0) return undefined;
  return `unknown region ${unknown.map((r) => `"${r.slice(0, 40)}"`).join(', ')} (known: ${[...known].join(', ')})`;
}
