// The read-side invariant for the PromQL subset, as a property each backend
// must hold: for any readings (many of them exactly on minute and hour
// edges, where (t − R, t] and the tiers' [b, b + B) differ), before and after
// the re-aggregation, every answer equals the same PromQL evaluated naively
// over the raw readings: exactly for count/min/max/last, to 1e-6 for
// sum/avg/stddev, within the sketch's accuracy for quantile_over_time.
import fc from 'fast-check';
import { expect, it } from 'vitest';
import { RELATIVE_ACCURACY } from '../../core/ddsketch.js';
import { tierBucket } from '../../storage/query/promql/promql-evaluate.js';
import { parsePromQL } from '../../storage/query/promql/promql-parser.js';
import type { PromEvaluation, PromPlan, PromResult } from '../../storage/query/promql/promql-plan.js';
import type { QueryService } from '../../storage/query-port.js';
import { makeBatch, type ReadingSpec } from '../storage/make-batch.js';
import type { TierStoreUnderTest } from '../storage/tiers-contract.js';

const MINUTE = 60_000;
const HOUR = 3_600_000;

const QUERIES = [
  'avg_over_time(temp{device="d1"}[1m])',
  'count_over_time(temp{device=~"d[12]"}[5m])',
  'sum_over_time(temp[1h])',
  'min_over_time(temp{device!="d2"}[2m])',
  'max_over_time(temp[1m])',
  'last_over_time(temp[10m])',
  'stddev_over_time(temp[1h])',
  'quantile_over_time(0.9, temp[5m])',
  'temp',
  'avg(avg_over_time(temp[1m]))',
  'sum by (device) (count_over_time(temp[1m]))',
  'max(max_over_time({"temp", device=~"d.*"}[1h]))',
  'count(last_over_time(temp[2m]))',
  // The fleet tier's own (promql-fleet.ts): one-minute windows, and what k minutes combine into exactly.
  'min(max_over_time(temp[1m]))',
  'count(sum_over_time(temp[1m]))',
  'max(min_over_time({"temp", device=~".*"}[1m]))',
  'sum(count_over_time(temp[5m]))',
  'min(min_over_time(temp[10m]))',
];

function readingArb(base: number, now: number): fc.Arbitrary<ReadingSpec> {
  return fc
    .record({
      device: fc.constantFrom('d1', 'd2', 'd3'),
      // On an hour edge, on a minute edge, or anywhere (to the ms).
      edge: fc.constantFrom('hour', 'minute', 'any', 'any'),
      // Half of them in a few minutes, so minutes hold several readings beside one on their edge.
      at: fc.oneof(
        fc.integer({ min: 0, max: now - base - 1 }),
        fc.integer({ min: now - base - 12 * MINUTE, max: now - base - 1 }),
      ),
      value: fc.integer({ min: -800, max: 800 }).map((v) => v / 8),
    })
    .map((r) => {
      const grid = r.edge === 'hour' ? HOUR : r.edge === 'minute' ? MINUTE : 1;
      return { device: r.device, metric: 'temp', ts: base + Math.floor(r.at / grid) * grid, value: r.value };
    });
}

/** Evaluations that take each path: the 1 h tier, the 1 min tier, the raw readings. */
function evaluations(plan: PromPlan, base: number, now: number): PromEvaluation[] {
  const end = Math.floor(now / MINUTE) * MINUTE + MINUTE;
  return [
    { plan, start: base + HOUR, end: base + 3 * HOUR, step: HOUR },
    { plan, start: base + 30 * MINUTE, end, step: MINUTE },
    { plan, start: base + 2 * HOUR, end, step: 5 * MINUTE },
    { plan, start: base + 2 * HOUR + 7_000, end, step: 30_000 },
    { plan, start: now, end: now, step: 0 },
    { plan, start: base + 2 * HOUR, end: base + 2 * HOUR, step: 0 },
  ];
}

function fnValue(plan: PromPlan, values: number[], last: number): number {
  const n = values.length;
  const sum = values.reduce((a, b) => a + b, 0);
  switch (plan.fn) {
    case 'count':
      return n;
    case 'sum':
      return sum;
    case 'avg':
      return sum / n;
    case 'min':
      return Math.min(...values);
    case 'max':
      return Math.max(...values);
    case 'last':
      return last;
    case 'stddev':
      return Math.sqrt(values.reduce((a, b) => a + (b - sum / n) ** 2, 0) / n);
    case 'quantile':
      return [...values].sort((a, b) => a - b)[Math.floor(plan.quantile! * (n - 1))]!;
  }
}

/** The naive evaluation over raw readings: per device, per step, the readings in (t − R, t]. */
export function expectedSeries(
  stored: Iterable<ReadingSpec>,
  ev: PromEvaluation,
): Map<string, Map<number, number[]>> {
  const { plan } = ev;
  const wanted = (device: string) =>
    plan.matchers.every((m) => {
      const re = new RegExp(`^(?:${m.value})$`);
      const v = m.label === 'device' ? device : '';
      return m.op === '='
        ? v === m.value
        : m.op === '!='
          ? v !== m.value
          : m.op === '=~'
            ? re.test(v)
            : !re.test(v);
    });
  const byDevice = new Map<string, Map<number, number[]>>();
  const readings = [...stored].filter((r) => r.metric === plan.metric && wanted(r.device));
  for (let t = ev.start; t <= ev.end; t += ev.step || 1) {
    for (const device of new Set(readings.map((r) => r.device))) {
      const inWindow = readings.filter((r) => r.device === device && r.ts > t - plan.rangeMs && r.ts <= t);
      if (inWindow.length === 0) continue;
      const last = inWindow.reduce((a, b) => (b.ts >= a.ts ? b : a));
      const v = fnValue(
        plan,
        inWindow.map((r) => r.value),
        last.value,
      );
      const key =
        plan.aggregation === undefined ? device : plan.aggregation.by.includes('device') ? device : '';
      const steps = byDevice.get(key) ?? new Map<number, number[]>();
      steps.set(t, [...(steps.get(t) ?? []), v]);
      byDevice.set(key, steps);
    }
  }
  return byDevice;
}

function aggregate(op: string | undefined, values: number[]): number {
  if (op === undefined || op === 'sum') return values.reduce((a, b) => a + b, 0);
  if (op === 'avg') return values.reduce((a, b) => a + b, 0) / values.length;
  if (op === 'count') return values.length;
  return op === 'min' ? Math.min(...values) : Math.max(...values);
}

function check(result: PromResult, stored: Iterable<ReadingSpec>, ev: PromEvaluation, where: string): void {
  const want = expectedSeries(stored, ev);
  const got = new Map(result.series.map((s) => [s.labels.device ?? '', s]));
  expect([...got.keys()].sort(), `${where}: series`).toEqual([...want.keys()].sort());
  for (const [key, steps] of want) {
    const s = got.get(key)!;
    expect(s.times, `${where} ${key}: steps`).toEqual([...steps.keys()]);
    [...steps.values()].forEach((values, i) => {
      const exact = aggregate(ev.plan.aggregation?.op, values);
      const v = s.values[i]!;
      const at = `${where} ${key} @${s.times[i]}`;
      if (ev.plan.fn === 'quantile' && ev.plan.aggregation === undefined)
        expect(Math.abs(v - exact), at).toBeLessThanOrEqual(RELATIVE_ACCURACY * Math.abs(exact) + 1e-9);
      else if (ev.plan.fn === 'quantile') expect(Number.isFinite(v), at).toBe(true);
      else expect(v, at).toBeCloseTo(exact, 6);
    });
  }
}

export async function checkPromQLEqualsRaw(
  query: QueryService,
  stored: Iterable<ReadingSpec>,
  base: number,
  now: number,
): Promise<Set<string>> {
  const tiers = new Set<string>();
  for (const text of QUERIES) {
    const plan = parsePromQL(text);
    for (const ev of evaluations(plan, base, now)) {
      const result = await query.promql!(ev);
      tiers.add(result.tier);
      if (result.fleet === true) tiers.add('fleet');
      expect(result.tier).toBe({ [HOUR]: '1h', [MINUTE]: '1m', 0: 'raw' }[tierBucket(ev)]);
      check(result, stored, ev, `${text} ${JSON.stringify({ ...ev, plan: undefined })}`);
    }
  }
  return tiers;
}

/** `fleetTier`: the backend keeps the fleet tier, so fleet-wide aggregations must have been answered from it. */
export function promqlContract(
  name: string,
  make: () => Promise<TierStoreUnderTest>,
  numRuns: number,
  fleetTier = false,
): void {
  it(`PromQL answers equal raw on ${name}: every tier, edges, late readings, before and after re-aggregation`, async () => {
    const now = Date.now();
    const base = Math.floor(now / HOUR) * HOUR - 3 * HOUR;
    const tiers = new Set<string>();
    await fc.assert(
      fc.asyncProperty(
        fc.array(readingArb(base, now), { minLength: 1, maxLength: 60 }),
        fc.array(readingArb(base, now), { maxLength: 12 }),
        async (readings, late) => {
          const store = await make();
          const query = store.query();
          const stored = new Map<string, ReadingSpec>();
          const store_ = (rs: ReadingSpec[]) => {
            for (const r of rs) stored.set(`${r.device}\0${r.ts}`, stored.get(`${r.device}\0${r.ts}`) ?? r);
          };
          try {
            await store.writer.write(makeBatch(readings));
            store_(readings);
            for (const t of await checkPromQLEqualsRaw(query, [...stored.values()], base, now)) tiers.add(t);
            await store.writer.refreshRollups({ now });
            for (const t of await checkPromQLEqualsRaw(query, [...stored.values()], base, now)) tiers.add(t);
            // Late readings into minutes and windows already rewritten, then rewritten again: the
            // fleet tier's marks. (tiers-contract.ts covers late readings for the series tiers.)
            if (fleetTier && late.length > 0) {
              await store.writer.write(makeBatch(late));
              store_(late);
              await checkPromQLEqualsRaw(query, [...stored.values()], base, now);
              await store.writer.refreshRollups({ now });
              await checkPromQLEqualsRaw(query, [...stored.values()], base, now);
            }
          } finally {
            await query.close();
            await store.cleanup();
          }
        },
      ),
      // Reported unshrunk, as tiers-contract.ts explains.
      { numRuns, endOnFailure: true },
    );
    expect([...tiers].sort()).toEqual(fleetTier ? ['1h', '1m', 'fleet', 'raw'] : ['1h', '1m', 'raw']);
  }, 300_000);
}
