// A Prometheus histogram for the relay path, where every relayed message is
// one observation. prom-client's Histogram hashes the label set on each
// observe() (≈ 0.4 µs of the ≈ 20 µs a relay costs, bench/relay_cost.js);
// this one finds the bucket and adds, nothing else. It is registered into a
// prom-client Registry as a metric of its own: the registry reads `name`
// and calls get() (values, as prom-client's own histogram returns them) and
// reset().

/**
 * @param {{ name: string, help: string, labelName: string, buckets: number[] }} opts
 *   buckets: upper bounds in increasing order (+Inf is added)
 */
export function createLatencyHistogram({ name, help, labelName, buckets }) {
  /** @type {Map<string, {counts: Float64Array, sum: number, count: number}>} label value → series */
  const series = new Map();
  return {
    name,
    help,
    type: 'histogram',
    aggregator: 'sum',
    /** One observation (in the buckets' unit) for the series `label`. */
    observe(label, value) {
      let s = series.get(label);
      if (s === undefined) series.set(label, (s = { counts: new Float64Array(buckets.length), sum: 0, count: 0 }));
      // Bucket i counts values ≤ buckets[i] (and > buckets[i-1]); the
      // cumulative counts Prometheus wants are summed when rendered.
      let i = 0;
      while (i < buckets.length && value > buckets[i]) i++;
      if (i < buckets.length) s.counts[i]++;
      s.sum += value;
      s.count++;
    },
    get() {
      const values = [];
      for (const [label, s] of series) {
        let cumulative = 0;
        for (let i = 0; i < buckets.length; i++) {
          cumulative += s.counts[i];
          values.push({ metricName: `${name}_bucket`, labels: { le: buckets[i], [labelName]: label }, value: cumulative });
        }
        values.push({ metricName: `${name}_bucket`, labels: { le: '+Inf', [labelName]: label }, value: s.count });
        values.push({ metricName: `${name}_sum`, labels: { [labelName]: label }, value: s.sum });
        values.push({ metricName: `${name}_count`, labels: { [labelName]: label }, value: s.count });
      }
      return { name, help, type: 'histogram', values, aggregator: 'sum' };
    },
    reset() {
      series.clear();
    },
  };
}
