import { MetricUnit, Metrics as PowertoolsMetrics } from '@aws-lambda-powertools/metrics';
import type { Metrics, MetricUnitName } from '../../src/ports.ts';

/** Default CloudWatch namespace of the pipeline's EMF metrics. */
export const METRICS_NAMESPACE = 'EksLogLake';

/**
 * Dimensions that reach CloudWatch besides `service`. Every distinct dimension set is a billed
 * custom metric, so others (a quarantine `reason`, never a cluster or account) are dropped here.
 */
export const EMF_DIMENSIONS: readonly string[] = ['table'];

/** Metrics port over Powertools EMF; `flush` writes the buffered metrics as one EMF line. */
export function createEmfMetrics(serviceName: string, namespace = METRICS_NAMESPACE): Metrics & { flush(): void } {
  const emf = new PowertoolsMetrics({ namespace, serviceName });
  return {
    count(name, value, dimensions) {
      const kept = Object.entries(dimensions ?? {}).filter(([k]) => EMF_DIMENSIONS.includes(k));
      if (kept.length > 0) {
        const single = emf.singleMetric();
        for (const [k, v] of kept) single.addDimension(k, v);
        single.addMetric(name, MetricUnit.Count, value);
        return;
      }
      emf.addMetric(name, MetricUnit.Count, value);
    },
    gauge(name, value, unit) {
      emf.addMetric(name, MetricUnit[unit], value);
    },
    flush() {
      // Most workflow Tasks emit nothing; Powertools would warn about an empty flush on each.
      if (emf.hasStoredMetrics()) emf.publishStoredMetrics();
    },
  };
}

/**
 * A Metrics port that sums counters in memory (local runs, tests); key `name` or `name|k=v,…`.
 * Gauges keep their latest value in `gauges`.
 */
export function createMemoryMetrics(): Metrics & {
  readonly totals: Map<string, number>;
  readonly gauges: Map<string, { value: number; unit: MetricUnitName }>;
  get(name: string): number;
} {
  const totals = new Map<string, number>();
  const gauges = new Map<string, { value: number; unit: MetricUnitName }>();
  return {
    totals,
    gauges,
    gauge(name, value, unit) {
      gauges.set(name, { value, unit });
    },
    count(name, value, dimensions) {
      const dims = dimensions ? Object.entries(dimensions).map(([k, v]) => `${k}=${v}`) : [];
      const key = dims.length > 0 ? `${name}|${dims.join(',')}` : name;
      totals.set(key, (totals.get(key) ?? 0) + value);
      if (dims.length > 0) totals.set(name, (totals.get(name) ?? 0) + value);
    },
    get(name) {
      return totals.get(name) ?? 0;
    },
  };
}
