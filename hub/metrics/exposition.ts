/**
 * The Prometheus text exposition format, version 0.0.4, written by hand: one `# HELP` and one
 * `# TYPE` line per metric family, then its samples as `name{label="value"} number`.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 *
 * Names and label names are the hub's own, so a bad one is a bug and throws; label values come
 * from the network (gateway ids, reasons) and are escaped: backslash, double quote, newline.
 */

export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

export type MetricType = 'counter' | 'gauge' | 'histogram' | 'summary';

export type Labels = Readonly<Record<string, string>>;

export interface MetricSample {
  readonly value: number;
  readonly labels?: Labels;
  /** `_bucket`, `_sum` or `_count` of a histogram or summary; none for the others. */
  readonly suffix?: '_bucket' | '_sum' | '_count';
}

export interface MetricFamily {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly samples: readonly MetricSample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** A label value inside its double quotes. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** HELP text: backslash and newline are escaped, a double quote is not. */
function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

export function formatValue(n: number): string {
  if (Number.isNaN(n)) return 'NaN';
  if (n === Number.POSITIVE_INFINITY) return '+Inf';
  if (n === Number.NEGATIVE_INFINITY) return '-Inf';
  return String(n);
}

function labelText(labels: Labels | undefined, family: string): string {
  if (labels === undefined) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(labels)) {
    if (!LABEL_NAME.test(k) || k.startsWith('__')) {
      throw new Error(`metric ${family}: label name "${k}" is not a Prometheus label name`);
    }
    parts.push(`${k}="${escapeLabelValue(v)}"`);
  }
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** The families as one exposition; throws on a bad or repeated name (a bug of the hub's). */
export function exposition(families: readonly MetricFamily[]): string {
  const seen = new Set<string>();
  const out: string[] = [];
  for (const f of families) {
    if (!METRIC_NAME.test(f.name)) throw new Error(`"${f.name}" is not a Prometheus metric name`);
    if (seen.has(f.name)) throw new Error(`metric ${f.name} is written twice`);
    seen.add(f.name);
    out.push(`# HELP ${f.name} ${escapeHelp(f.help)}`, `# TYPE ${f.name} ${f.type}`);
    for (const s of f.samples) {
      out.push(`${f.name}${s.suffix ?? ''}${labelText(s.labels, f.name)} ${formatValue(s.value)}`);
    }
  }
  return `${out.join('\n')}\n`;
}

/** A family of one unlabelled sample. */
export function single(name: string, type: MetricType, help: string, value: number): MetricFamily {
  return { name, type, help, samples: [{ value }] };
}

/**
 * A histogram of durations in seconds (cumulative buckets, `+Inf` last). Observations only
 * add: nothing here resets, so concurrent scrapers see the same counts.
 */
export class Histogram {
  readonly bounds: readonly number[];
  readonly #counts: number[];
  #sum = 0;
  #count = 0;

  constructor(bounds: readonly number[]) {
    this.bounds = [...bounds].sort((a, b) => a - b);
    this.#counts = this.bounds.map(() => 0);
  }

  observe(v: number): void {
    if (!Number.isFinite(v)) return;
    this.#sum += v;
    this.#count++;
    for (let i = 0; i < this.bounds.length; i++) {
      if (v <= (this.bounds[i] ?? 0)) this.#counts[i] = (this.#counts[i] ?? 0) + 1;
    }
  }

  get count(): number {
    return this.#count;
  }

  family(name: string, help: string): MetricFamily {
    const samples: MetricSample[] = this.bounds.map((le, i) => ({
      suffix: '_bucket',
      labels: { le: formatValue(le) },
      value: this.#counts[i] ?? 0,
    }));
    samples.push(
      { suffix: '_bucket', labels: { le: '+Inf' }, value: this.#count },
      { suffix: '_sum', value: this.#sum },
      { suffix: '_count', value: this.#count },
    );
    return { name, type: 'histogram', help, samples };
  }
}
