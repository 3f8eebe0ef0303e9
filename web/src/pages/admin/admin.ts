/**
 * What the admin pages that list, create and revoke share: one action at a time (`busy`), its
 * failure (`error`, with the hub's error code) or its outcome (`done`), and the region names the
 * scope of a user or token is shown with.
 */
import { ref, shallowRef } from 'vue';
import { useI18n } from 'vue-i18n';
import { ApiError, api } from '../../api';
import { currentLocale } from '../../i18n';
import type { ReferenceItem, ReferenceList } from '../../types';

export function useAdminAction() {
  const { t } = useI18n();
  const error = ref<string>();
  const done = ref<string>();
  const busy = ref(false);

  /** Runs one action: undefined when it failed (the reason is in `error`). */
  async function run<T>(what: () => Promise<T>): Promise<T | undefined> {
    busy.value = true;
    error.value = undefined;
    done.value = undefined;
    try {
      return await what();
    } catch (err) {
      error.value = t('app.error', {
        message: err instanceof ApiError ? `${err.code}: ${err.message}` : String(err),
      });
      return undefined;
    } finally {
      busy.value = false;
    }
  }

  return { error, done, busy, run };
}

/** The registry's regions (GET /api/v1/registry/regions) and a region's name in the UI language. */
export function useRegions() {
  const regions = shallowRef<readonly ReferenceItem[]>([]);
  const loadRegions = async (): Promise<void> => {
    regions.value = (await api<ReferenceList>('/api/v1/registry/regions')).items;
  };
  const regionName = (code: string): string => {
    const r = regions.value.find((x) => x.code === code);
    return r === undefined ? code : currentLocale() === 'zh-CN' ? r.nameZh : r.nameEn;
  };
  return { regions, loadRegions, regionName };
}

/** Active first, then by `order` (a credential's status is 'active' until it is revoked). */
export function activeFirst<T extends { status: string }>(
  items: readonly T[],
  order: (a: T, b: T) => number,
): T[] {
  return [...items].sort(
    (a, b) => Number(a.status !== 'active') - Number(b.status !== 'active') || order(a, b),
  );
}
