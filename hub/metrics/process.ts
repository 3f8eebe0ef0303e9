/**
 * The hub process as Prometheus sees any process (`process_*`, the names client libraries
 * use) and Node's own figures (`nodejs_*`): CPU, memory, heap, the event loop's delay and
 * utilisation.
 *
 * The event-loop delay comes from perf_hooks' sampling histogram over windows of at least
 * WINDOW_MS: a scrape reports the last complete window (the one under way before the first
 * window completes), so two scrapers read the same figures and neither resets the other's.
 * Utilisation is two counters (active and idle seconds): rate(active) / (rate(active) +
 * rate(idle)) is the ELU over any range.
 */
import { type IntervalHistogram, monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { type MetricFamily, single } from './exposition.js';

/** The event-loop delay window. */
export const WINDOW_MS = 10_000;

interface DelayFigures {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

const NS = 1e-9;

function figures(h: IntervalHistogram): DelayFigures | undefined {
  // Before its first sample the histogram's figures are NaN or huge: nothing to report.
  if (!(h.max > 0) || !Number.isFinite(h.mean)) return undefined;
  return {
    p50: h.percentile(50) * NS,
    p90: h.percentile(90) * NS,
    p99: h.percentile(99) * NS,
    max: h.max * NS,
    mean: h.mean * NS,
  };
}

export class ProcessMetrics {
  #delay: IntervalHistogram | undefined;
  #windowStart = 0;
  #last: DelayFigures | undefined;

  start(): void {
    if (this.#delay !== undefined) return;
    this.#delay = monitorEventLoopDelay({ resolution: 10 });
    this.#delay.enable();
    this.#windowStart = performance.now();
  }

  close(): void {
    this.#delay?.disable();
    this.#delay = undefined;
  }

  families(): MetricFamily[] {
    const cpu = process.cpuUsage();
    const mem = process.memoryUsage();
    const elu = performance.eventLoopUtilization();
    const families: MetricFamily[] = [
      single('process_cpu_user_seconds_total', 'counter', 'user CPU time of the hub process', cpu.user / 1e6),
      single(
        'process_cpu_system_seconds_total',
        'counter',
        'system CPU time of the hub process',
        cpu.system / 1e6,
      ),
      single(
        'process_cpu_seconds_total',
        'counter',
        'user and system CPU time of the hub process',
        (cpu.user + cpu.system) / 1e6,
      ),
      single('process_resident_memory_bytes', 'gauge', 'resident set size of the hub process', mem.rss),
      single(
        'process_start_time_seconds',
        'gauge',
        'when the hub process started, seconds since the Unix epoch',
        Math.round(performance.timeOrigin) / 1000,
      ),
      single('nodejs_heap_size_total_bytes', 'gauge', "V8's heap size", mem.heapTotal),
      single('nodejs_heap_size_used_bytes', 'gauge', "V8's heap in use", mem.heapUsed),
      single(
        'nodejs_external_memory_bytes',
        'gauge',
        'memory of C++ objects bound to JavaScript objects (buffers among them)',
        mem.external,
      ),
      single(
        'nodejs_eventloop_active_seconds_total',
        'counter',
        'time the event loop was busy; utilisation = rate(active) / (rate(active) + rate(idle))',
        elu.active / 1000,
      ),
      single('nodejs_eventloop_idle_seconds_total', 'counter', 'time the event loop waited', elu.idle / 1000),
    ];
    // No samples before the monitor's first reading: the family is there, empty.
    const delay = this.#delayFigures();
    families.push({
      name: 'nodejs_eventloop_delay_seconds',
      type: 'gauge',
      help: `event-loop delay over the last window of at least ${WINDOW_MS / 1000} s, by statistic`,
      samples:
        delay === undefined
          ? []
          : (['p50', 'p90', 'p99', 'max', 'mean'] as const).map((stat) => ({
              labels: { stat },
              value: delay[stat],
            })),
    });
    return families;
  }

  #delayFigures(): DelayFigures | undefined {
    const h = this.#delay;
    if (h === undefined) return this.#last;
    const now = performance.now();
    if (now - this.#windowStart >= WINDOW_MS) {
      this.#last = figures(h) ?? this.#last;
      h.reset();
      this.#windowStart = now;
    }
    return this.#last ?? figures(h);
  }
}
