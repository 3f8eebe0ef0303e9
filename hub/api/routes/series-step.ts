/**
 * `…/series?step=<ms>` (docs/api.md, "Series over a long range"): a long range drawn in a chart
 * needs a bounded number of points, not the newest `limit` of it. The range is cut into
 * step-wide slices and each answers its newest point (so a state string thins as well as a
 * number); an empty slice answers nothing. The store is asked once per slice with `limit: 1`
 * (an index seek in SQLite, one small query in InfluxDB), at most MAX_SLICES per request.
 */
import { HubError } from '../../errors.js';
import type { SampleStore, SeriesPoint } from '../../store/types.js';

/** The most slices one request may ask for. */
export const MAX_SLICES = 2_000;
/** Slices asked of the store at once. */
const CONCURRENCY = 16;

export async function steppedSeries(
  store: SampleStore,
  q: {
    enterprise: string;
    machine: string;
    metric: string;
    from: number | undefined;
    to: number;
    step: number;
  },
): Promise<SeriesPoint[]> {
  if (q.from === undefined) {
    throw new HubError('WANJI_E_API_VALIDATION', 'step needs from: the start of the range (ms or ISO 8601)');
  }
  const from = q.from;
  if (q.to < from) throw new HubError('WANJI_E_API_VALIDATION', 'to is before from');
  const slices = Math.ceil((q.to - from + 1) / q.step);
  if (slices > MAX_SLICES) {
    throw new HubError(
      'WANJI_E_API_VALIDATION',
      `step ${q.step} ms cuts the range into ${slices} slices; at most ${MAX_SLICES}: use a step of at least ${Math.ceil((q.to - from + 1) / MAX_SLICES)} ms`,
    );
  }
  const out: (SeriesPoint | undefined)[] = new Array(slices);
  for (let first = 0; first < slices; first += CONCURRENCY) {
    const batch: Promise<void>[] = [];
    for (let i = first; i < Math.min(slices, first + CONCURRENCY); i++) {
      const start = from + i * q.step;
      const end = Math.min(q.to, start + q.step - 1);
      batch.push(
        store
          .query({
            enterprise: q.enterprise,
            machine: q.machine,
            metric: q.metric,
            from: start,
            to: end,
            limit: 1,
          })
          .then((points) => {
            out[i] = points.at(-1);
          }),
      );
    }
    await Promise.all(batch);
  }
  return out.filter((p): p is SeriesPoint => p !== undefined);
}
