/**
 * Narrowing what a scoped principal sees (access.ts: an enterprise token only itself, a
 * county's bureau token only its regions).
 */
import { HubError } from '../errors.js';
import type { Scope } from './access.js';

export const unscoped = (s: Scope): boolean => s.enterprises === undefined && s.regions === undefined;

export interface ListNarrowing {
  readonly enterprise?: string;
  readonly region?: string;
}

/**
 * The enterprise and region filters of a list request, narrowed to the scope. `outside` names
 * a filter the scope excludes: the list is empty, and the caller records the refusal.
 */
export function narrowList(scope: Scope, asked: ListNarrowing): { filter: ListNarrowing; outside?: string } {
  let { enterprise, region } = asked;
  if (scope.enterprises !== undefined) {
    if (enterprise !== undefined && !scope.enterprises.includes(enterprise)) {
      return { filter: {}, outside: `enterprise ${enterprise}` };
    }
    if (enterprise === undefined) {
      if (scope.enterprises.length !== 1) return { filter: {}, outside: 'no enterprise in the scope' };
      enterprise = scope.enterprises[0];
    }
  }
  if (scope.regions !== undefined) {
    if (region !== undefined && !scope.regions.includes(region)) {
      return { filter: {}, outside: `region ${region}` };
    }
    if (region === undefined) {
      if (scope.regions.length !== 1) {
        throw new HubError(
          'WANJI_E_API_VALIDATION',
          `this token is limited to regions ${scope.regions.join(', ')}: name one with ?region=`,
        );
      }
      region = scope.regions[0];
    }
  }
  return {
    filter: {
      ...(enterprise === undefined ? {} : { enterprise }),
      ...(region === undefined ? {} : { region }),
    },
  };
}
