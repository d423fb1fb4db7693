// The read-side invariant, as a property every backend must hold: for any
// readings the writer has committed, in any order and batching, with
// duplicates, late arrivals, a re-aggregation that ran fully, partly or not at
// all, and restarts in between, every series answer equals the same query
// computed from the raw readings: exactly for count/min/max/sum/avg/last/
// stddev, within the sketch's relative accuracy for quantiles, which never
// leave [min, max].
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { RELATIVE_ACCURACY } from '../../core/ddsketch.js';
import type { StorageWriter } from '../../storage/port.js';
import type { Aggregate, QueryService, SeriesQuery } from '../../storage/query-port.js';
import { makeBatch, type ReadingSpec } from './make-batch.js';

export interface TierStoreUnderTest {
  writer: StorageWriter;
  /** a new query service on the store */
  query: () => QueryService;
  /** closes the writer as a crash would leave it (nothing drained that the next start needs) and opens a new one */
  reopen: () => Promise<StorageWriter>;
  cleanup: () => Promise<void>;
}

const MINUTE = 60_000;
const HOUR = 3_600_000;
const AGGS: Aggregate[] = ['count', 'min', 'max', 'sum', 'avg', 'stddev', 'last', 'p50', 'p95', 'p99'];

type Step =
  | { kind: 'write'; readings: ReadingSpec[] }
  | { kind: 'refresh' }
  | { kind: 'reopen' }
  | { kind: 'check' };

/** Readings over the last three hours up to the open minute, on a few devices and minutes so they collide. */
function readingArb(now: number): fc.Arbitrary<ReadingSpec> {
  const start = Math.floor(now / HOUR) * HOUR - 3 * HOUR;
  const span = now - start;
  return fc
    .record({
      device: fc.constantFrom('d1', 'd2', 'd3'),
      // Most readings close to now (the open and the last minutes), the rest anywhere: late ones.
      recent: fc.boolean(),
      offset: fc.integer({ min: 0, max: span - 1 }),
      recentOffset: fc.integer({ min: 0, max: 3 * MINUTE }),
      // Eighths: sums stay exact in binary floating point.
      value: fc.integer({ min: -800, max: 800 }).map((v) => v / 8),
      second: fc.integer({ min: 0, max: 5 }),
    })
    .map((r) => ({
      device: r.device,
      metric: 'temp',
      ts: r.recent
        ? Math.min(now - 1, now - r.recentOffset)
        : start + Math.floor(r.offset / 6_000) * 6_000 + r.second * 1000,
      value: r.value,
    }));
}

function stepsArb(now: number): fc.Arbitrary<Step[]> {
  const step: fc.Arbitrary<Step> = fc.oneof(
    {
      weight: 6,
      arbitrary: fc
        .array(readingArb(now), { minLength: 1, maxLength: 40 })
        .map((readings) => ({ kind: 'write' as const, readings })),
    },
    { weight: 2, arbitrary: fc.constant({ kind: 'refresh' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
    { weight: 1, arbitrary: fc.constant({ kind: 'check' as const }) },
  );
  return fc.array(step, { minLength: 1, maxLength: 12 });
}

/** The answer computed from the raw readings the store holds: the first stored of each (device, metric, ts). */
function expected(stored: Map<string, ReadingSpec>, query: SeriesQuery) {
  const from = Math.floor(query.from / query.bucketMs) * query.bucketMs;
  const to = Math.ceil(query.to / query.bucketMs) * query.bucketMs;
  const glob = new RegExp(`^${query.device.replaceAll('*', '.*').replaceAll('?', '.')}$`);
  const buckets = new Map<number, ReadingSpec[]>();
  for (const r of stored.values()) {
    if (!glob.test(r.device) || r.metric !== query.metric || r.ts < from || r.ts >= to) continue;
    const b = Math.floor(r.ts / query.bucketMs) * query.bucketMs;
    const list = buckets.get(b) ?? [];
    list.push(r);
    buckets.set(b, list);
  }
  return [...buckets.entries()].sort((a, b) => a[0] - b[0]);
}

function checkPoint(
  readings: ReadingSpec[],
  values: Partial<Record<Aggregate, number | null>>,
  where: string,
): void {
  const v = readings.map((r) => r.value);
  const sorted = [...v].sort((a, b) => a - b);
  const n = v.length;
  const sum = v.reduce((a, b) => a + b, 0);
  const mean = sum / n;
  const stddev = n < 2 ? null : Math.sqrt(v.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const maxTs = Math.max(...readings.map((r) => r.ts));
  const lastCandidates = readings.filter((r) => r.ts === maxTs).map((r) => r.value);
  expect(values.count, `${where} count`).toBe(n);
  expect(values.min, `${where} min`).toBe(sorted[0]);
  expect(values.max, `${where} max`).toBe(sorted[n - 1]);
  expect(values.sum!, `${where} sum`).toBeCloseTo(sum, 6);
  expect(values.avg!, `${where} avg`).toBeCloseTo(mean, 6);
  if (stddev === null) expect(values.stddev, `${where} stddev`).toBeNull();
  else expect(values.stddev!, `${where} stddev`).toBeCloseTo(stddev, 6);
  expect(lastCandidates, `${where} last`).toContain(values.last);
  for (const [agg, q] of [
    ['p50', 0.5],
    ['p95', 0.95],
    ['p99', 0.99],
  ] as const) {
    const exact = sorted[Math.floor(q * (n - 1))]!;
    const got = values[agg]!;
    expect(got, `${where} ${agg} inside [min, max]`).toBeGreaterThanOrEqual(sorted[0]!);
    expect(got, `${where} ${agg} inside [min, max]`).toBeLessThanOrEqual(sorted[n - 1]!);
    // DDSketch: relative accuracy around the exact value, plus its indexable floor near 0.
    expect(Math.abs(got - exact), `${where} ${agg} ~ ${exact}`).toBeLessThanOrEqual(
      RELATIVE_ACCURACY * Math.abs(exact) + 1e-9,
    );
    if (n === 1) expect(got, `${where} ${agg} of one reading`).toBe(v[0]);
  }
}

/**
 * Every series answer (one device and globs, minute to two-hour buckets, the
 * last three hours up to the open minute) equals the same query computed
 * from `stored`, the readings the store holds.
 */
export async function checkTiersEqualRaw(
  query: QueryService,
  stored: Map<string, ReadingSpec>,
  now: number,
): Promise<void> {
  const from = Math.floor(now / HOUR) * HOUR - 3 * HOUR;
  const queries: SeriesQuery[] = [];
  for (const device of ['d1', 'd*', 'd?']) {
    for (const bucketMs of [MINUTE, 5 * MINUTE, HOUR, 2 * HOUR]) {
      queries.push({ device, metric: 'temp', from, to: now + MINUTE, bucketMs, aggs: AGGS });
    }
  }
  for (const q of queries) {
    const answer = await query.series(q);
    const want = expected(stored, q);
    const where = `${q.device} by ${q.bucketMs / MINUTE} min`;
    expect(
      answer.points.map((p) => p.bucketStart),
      `${where}: buckets`,
    ).toEqual(want.map(([b]) => b));
    want.forEach(([bucket, readings], i) => {
      checkPoint(readings, answer.points[i]!.values, `${where} @${bucket}`);
    });
  }
}

export function tiersContract(name: string, make: () => Promise<TierStoreUnderTest>, numRuns: number): void {
  describe(`tiers equal raw: ${name}`, () => {
    let store: TierStoreUnderTest | undefined;
    afterEach(async () => {
      await store?.cleanup();
      store = undefined;
    });

    it('for any arrival order, lateness, duplicates, refreshes and restarts', async () => {
      const now = Date.now();
      await fc.assert(
        fc.asyncProperty(stepsArb(now), async (steps) => {
          store = await make();
          const query = store.query();
          const stored = new Map<string, ReadingSpec>();
          try {
            for (const step of steps) {
              if (step.kind === 'write') {
                await store.writer.write(makeBatch(step.readings));
                for (const r of step.readings) {
                  const key = `${r.device}\0${r.metric}\0${r.ts}`;
                  if (!stored.has(key)) stored.set(key, r);
                }
              } else if (step.kind === 'refresh') await store.writer.refreshRollups({ now });
              else if (step.kind === 'reopen') store.writer = await store.reopen();
              else await checkTiersEqualRaw(query, stored, now);
            }
            await checkTiersEqualRaw(query, stored, now);
            // And once everything closed has been rewritten from raw.
            await store.writer.refreshRollups({ now });
            await checkTiersEqualRaw(query, stored, now);
          } finally {
            await query.close();
            await store.cleanup();
            store = undefined;
          }
        }),
        // A failing case is reported as found, unshrunk: each run costs up to a
        // second on PostgreSQL, and shrinking outlasted the test's time bar, so
        // CI showed a timeout instead of the counterexample. The seed and path
        // it prints replay it (with shrinking) locally.
        { numRuns, endOnFailure: true },
      );
      // Each run rewrites up to a few hundred stale minutes, one small
      // transaction each: about 20 s for 30 runs on PostgreSQL alone, and
      // four times that with both cores busy (measured), so the bar is wide.
    }, 300_000);

    it('a late-only device shows in latest and in every tier', async () => {
      store = await make();
      const query = store.query();
      try {
        const now = Date.now();
        const late = [2 * HOUR, 30 * MINUTE, 4 * MINUTE].map((ago, i) => ({
          device: 'late-1',
          metric: 'temp',
          ts: Math.floor((now - ago) / 1000) * 1000,
          value: i + 1,
        }));
        await store.writer.write(makeBatch(late));
        for (const refreshed of [false, true]) {
          if (refreshed) await store.writer.refreshRollups({ now });
          expect(await query.latest('late-1')).toEqual([{ metric: 'temp', ts: late[2]!.ts, value: 3 }]);
          for (const bucketMs of [MINUTE, HOUR]) {
            const answer = await query.series({
              device: 'late-*',
              metric: 'temp',
              from: now - 3 * HOUR,
              to: now,
              bucketMs,
              aggs: ['count', 'sum'],
            });
            expect(answer.points.reduce((n, p) => n + (p.values.count ?? 0), 0)).toBe(3);
            expect(answer.points.reduce((n, p) => n + (p.values.sum ?? 0), 0)).toBe(6);
          }
        }
      } finally {
        await query.close();
      }
    });
  });
}
