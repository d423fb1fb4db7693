import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { createBucketHistogram } from '../../gateway/bucket-histogram.js';

const buckets = [0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** The same observations into prom-client's Histogram and ours, each in a registry of its own. */
function both(values: number[]) {
  const theirs = new Registry();
  const ours = new Registry();
  const options = {
    name: 'gateway_ack_hold_seconds',
    help: 'PUBLISH received until its PUBACK released',
    buckets,
  };
  const reference = new Histogram({ ...options, registers: [theirs] });
  const histogram = createBucketHistogram({ ...options, registers: [ours] });
  for (const v of values) {
    reference.observe(v);
    histogram.observe(v);
  }
  return { theirs, ours };
}

describe('bucket histogram', () => {
  it('exposes what prom-client’s Histogram exposes for the same observations', async () => {
    // Values on the bounds (le is inclusive), between them, below the first and above the last.
    const values = [0, 0.0005, 0.001, 0.0015, 0.002, 0.004, 0.05, 0.3, 0.99, 1, 2.5, 2.6, 100];
    for (let i = 0; i < 1000; i++) values.push(((i * 7919) % 3000) / 1000);
    const { theirs, ours } = both(values);
    const text = await ours.metrics();
    expect(text).toBe(await theirs.metrics());
    const upTo = (bound: number) => values.filter((v) => v <= bound).length;
    expect(text).toContain(`gateway_ack_hold_seconds_bucket{le="0.001"} ${upTo(0.001)}\n`);
    expect(text).toContain(`gateway_ack_hold_seconds_bucket{le="2.5"} ${upTo(2.5)}\n`);
    expect(text).toMatch(/^gateway_ack_hold_seconds_count 1013$/m);
    // The JSON form too, as far as a reader of it sees: names, labels, values.
    const plain = async (registry: Registry) =>
      (await registry.getMetricsAsJSON()).flatMap((m) =>
        m.values.map((v) => [
          m.name,
          m.type,
          (v as { metricName?: string }).metricName,
          { ...v.labels },
          v.value,
        ]),
      );
    expect(await plain(ours)).toEqual(await plain(theirs));
  });

  it('exposes the empty histogram as prom-client’s does, and a reset starts its counts over', async () => {
    const { theirs, ours } = both([]);
    expect(await ours.metrics()).toBe(await theirs.metrics());
    const after = both([0.01, 0.2]);
    after.ours.resetMetrics();
    expect(await after.ours.metrics()).toMatch(/^gateway_ack_hold_seconds_count 0$/m);
  });

  it('refuses bounds that do not ascend', () => {
    expect(() =>
      createBucketHistogram({ name: 'h', help: 'h', buckets: [0.1, 0.1], registers: [new Registry()] }),
    ).toThrow(RangeError);
  });
});
