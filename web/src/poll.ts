/**
 * A figure that refreshes itself: loads now, again every `everyMs` while the page is shown,
 * keeps the last good value while a refresh fails (the hub restarting) and says so.
 */
import { onBeforeUnmount, onMounted, type Ref, ref, shallowRef } from 'vue';

export interface Polled<T> {
  readonly data: Ref<T | undefined>;
  readonly error: Ref<string | undefined>;
  readonly updatedAt: Ref<number | undefined>;
  reload(): Promise<void>;
}

export function usePoll<T>(load: () => Promise<T>, everyMs: number): Polled<T> {
  const data = shallowRef<T>();
  const error = ref<string>();
  const updatedAt = ref<number>();
  let timer: ReturnType<typeof setTimeout> | undefined;
  let stopped = false;

  async function reload(): Promise<void> {
    try {
      data.value = await load();
      error.value = undefined;
      updatedAt.value = Date.now();
    } catch (err) {
      error.value = err instanceof Error ? err.message : String(err);
    }
  }

  async function tick(): Promise<void> {
    if (stopped) return;
    if (document.visibilityState !== 'hidden') await reload();
    if (!stopped) timer = setTimeout(() => void tick(), everyMs);
  }

  onMounted(() => void tick());
  onBeforeUnmount(() => {
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
  });
  return { data, error, updatedAt, reload };
}
