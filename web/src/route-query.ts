/**
 * A page's view kept in its address (search, filters, page numbers): read one parameter, change
 * some (an empty value removes a parameter), and a page number (1 when absent or not a number).
 */
import { type LocationQueryRaw, useRoute, useRouter } from 'vue-router';

export function useRouteQuery() {
  const route = useRoute();
  const router = useRouter();
  const query = (k: string): string => {
    const v = route.query[k];
    return typeof v === 'string' ? v : '';
  };
  /** Replaces the address's parameters named in `patch`; resolves once the address changed. */
  const replaceQuery = async (patch: Record<string, string>): Promise<void> => {
    const next: LocationQueryRaw = { ...route.query, ...patch };
    for (const [k, v] of Object.entries(next)) if (v === '' || v === undefined) delete next[k];
    await router.replace({ query: next });
  };
  const pageOf = (k: string): number => Math.max(1, Number.parseInt(query(k), 10) || 1);
  return { route, query, replaceQuery, pageOf };
}
