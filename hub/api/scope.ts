/**
 * Narrowing what a scoped principal sees (access.ts: an enterprise token only itself, a
 * county's bureau token only its regions).
 */
import { HubError } from '../errors.js';
import type { Registry } from '../registry/registry.js';
import type { Enterprise, EnterpriseActivity } from '../registry/types.js';
import { inScope, type Scope } from './access.js';

export const unscoped = (s: Scope): boolean => s.enterprises === undefined && s.regions === undefined;

/**
 * The registry as a scoped principal sees it, for code written against the whole registry
 * (the statistics). It answers only the reads listed here, filtered by the scope; any other
 * member throws, so a new read in that code fails loudly instead of leaking other
 * enterprises' figures: add it here, filtered.
 */
export function scopedRegistry(registry: Registry, scope: Scope): Registry {
  if (unscoped(scope)) return registry;
  const visible = (e: Enterprise): boolean => inScope(scope, e.code, e.regionCode);
  const views: Record<string, unknown> = {
    regions: () => registry.regions(),
    industries: () => registry.industries(),
    enterprises: () => registry.enterprises().filter(visible),
    enterprise: (code: string) => {
      const e = registry.enterprise(code);
      return e !== undefined && visible(e) ? e : undefined;
    },
    activityByEnterprise: (networkedSince: number, onlineSince: number): EnterpriseActivity[] => {
      const region = new Map(registry.enterprises().map((e) => [e.code, e.regionCode]));
      return registry
        .activityByEnterprise(networkedSince, onlineSince)
        .filter((a) => inScope(scope, a.enterprise, region.get(a.enterprise)));
    },
  };
  return new Proxy(registry, {
    get(_target, prop) {
      if (typeof prop !== 'string') return undefined;
      if (Object.hasOwn(views, prop)) return views[prop];
      throw new HubError(
        'WANJI_E_API_INTERNAL',
        `registry.${prop} is not available to a scoped caller (hub/api/scope.ts lists what is)`,
      );
    },
  });
}

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
