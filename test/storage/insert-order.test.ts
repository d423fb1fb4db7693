// The order the writer inserts a batch's readings in (storage/sqlite/insert-order.ts):
// key order when it can pack the keys, arrival order otherwise, and what is
// stored the same either way.

import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { prepareBatchApplier } from '../../storage/sqlite/apply-batch.js';
import { createInsertOrder } from '../../storage/sqlite/insert-order.js';
import { prepareMinuteFolds } from '../../storage/sqlite/rollups/minute-folds.js';
import { prepareStaleMarks } from '../../storage/sqlite/rollups/stale-marks.js';
import { migrate } from '../../storage/sqlite/schema.js';
import { mulberry32 as random } from '../analytics/random.js';
import { makeBatch, type ReadingSpec } from './make-batch.js';

const T = 1_700_000_040_000;

/** The rows by (ts, series, row), as the key orders them. */
function byKey(ts: number[], series: number[]): number[] {
  return ts.map((_, i) => i).sort((a, b) => ts[a]! - ts[b]! || series[a]! - series[b]! || a - b);
}

describe('insert order', () => {
  it('is null for rows already in key order', () => {
    const order = createInsertOrder();
    expect(order.order([T, T, T + 1], [1, 2, 1], 3)).toBeNull();
  });

  it('sorts by ts, then series, then arrival, for any shuffle', () => {
    const order = createInsertOrder();
    const next = random(7);
    for (let round = 0; round < 50; round++) {
      // rounds of growing and shrinking sizes: the reused scratch must not leak a longer batch's rows
      const n = 1 + Math.floor(next() * (round % 2 === 0 ? 3000 : 40));
      const ts = Array.from({ length: n }, () => T + Math.floor(next() * 30));
      const series = Array.from({ length: n }, () => 1 + Math.floor(next() * 15_000));
      const got = order.order(ts, series, n);
      const want = byKey(ts, series);
      if (got === null) expect(want).toEqual(want.map((_, i) => i));
      else expect([...got]).toEqual(want);
    }
  });

  it('sorts batches whose keys are too wide for 32 bits the same way', () => {
    // a day of readings from 15,000 series: keys past 2^32, sorted as doubles instead of by radix
    const order = createInsertOrder();
    const next = random(9);
    for (const n of [2000, 10, 2000]) {
      const ts = Array.from({ length: n }, () => T + Math.floor(next() * 86_400_000));
      const series = Array.from({ length: n }, () => 1 + Math.floor(next() * 15_000));
      ts[n - 1] = ts[0]!;
      series[n - 1] = series[0]!;
      expect([...order.order(ts, series, n)!]).toEqual(byKey(ts, series));
    }
  });

  it('keeps arrival order for a fractional ts or keys too wide to pack exactly', () => {
    const order = createInsertOrder();
    expect(order.order([T + 1, T + 0.5], [1, 1], 2)).toBeNull();
    // ten years apart, a million series, two rows: over 2^53
    expect(order.order([T + 10 * 365 * 86_400_000, T], [1_000_000, 1], 2)).toBeNull();
    expect([...order.order([T + 1, T], [1, 1], 2)!]).toEqual([1, 0]);
  });
});

describe('a shuffled batch through the applier', () => {
  function store(batches: ReadingSpec[][], numbers?: Array<((device: string) => number) | undefined>) {
    const db = new Database(':memory:');
    migrate(db);
    const marks = prepareStaleMarks(db);
    const folds = prepareMinuteFolds(db);
    const apply = prepareBatchApplier(db, marks, () => {}, undefined, folds);
    const results = batches.map((b, i) => {
      const batch = makeBatch(b);
      const numberOf = numbers?.[i];
      if (numberOf !== undefined)
        batch.readings.deviceNumbers = Int32Array.from(batch.readings.devices, numberOf);
      return apply(batch);
    });
    const seriesCount = (db.prepare('SELECT count(*) AS n FROM series').get() as { n: number }).n;
    // The minute's fold, series by series, as far as it vouches for them.
    const minute = folds.minute(T);
    const folded = new Map(
      [...(minute?.states ?? [])]
        .filter(([id]) => !minute!.dirty.has(id))
        .map(([id, st]) => [
          id,
          { ...st, sketch: undefined, sum: Number(st.sum.toPrecision(12)), m2: undefined },
        ]),
    );
    const rows = db
      .prepare(
        `SELECT s.device_id AS device, s.metric, r.ts, r.value FROM readings r JOIN series s ON s.id = r.series_id
          ORDER BY s.device_id, s.metric, r.ts`,
      )
      .all();
    db.close();
    return { results, rows, folded, seriesCount };
  }

  it('stores what arrival order stores, a duplicate key keeping its first reading', () => {
    const next = random(11);
    const readings: ReadingSpec[] = [];
    for (let i = 0; i < 700; i++) {
      const device = `d${Math.floor(next() * 60)}`;
      for (const metric of ['t', 'h', 'p'])
        readings.push({ device, metric, ts: T + Math.floor(next() * 40), value: i });
    }
    // the same key again later in the batch, with another value: the first one stays
    readings.push({ ...readings[5]!, value: -1 });
    const shuffled = store([readings]);
    // one reading per batch cannot be reordered: the reference
    const oneByOne = store(readings.map((r) => [r]));
    expect(shuffled.rows).toEqual(oneByOne.rows);
    expect(shuffled.rows).toContainEqual(readings[5]);
    expect(shuffled.rows).not.toContainEqual({ ...readings[5], value: -1 });
    const duplicates = readings.length - shuffled.rows.length;
    expect(duplicates).toBeGreaterThan(0);
    expect(shuffled.results[0]).toMatchObject({ inserted: shuffled.rows.length, duplicates });
  });

  it('finds each series again by its metric, past the writer’s 256 metric numbers', () => {
    // 300 metric names over two devices, stored twice: the second batch finds
    // every series the first made, by number for the first 256 names and by name after.
    const readings = (ts: number): ReadingSpec[] =>
      Array.from({ length: 600 }, (_, i) => ({
        device: `d${i % 2}`,
        metric: `m${Math.floor(i / 2)}`,
        ts,
        value: i,
      }));
    const { rows, results } = store([readings(T), readings(T + 1)]);
    expect(results.map((r) => r.inserted)).toEqual([600, 600]);
    for (const { device, metric, value } of readings(T + 1))
      expect(rows).toContainEqual({ device, metric, ts: T + 1, value });
  });

  it('finds each device again by its number where a batch carries one, and by name where not', () => {
    // Ten devices, numbered in reverse of the order they first arrive; some
    // batches carry no numbers, one numbers only half its devices.
    const readings = (ts: number): ReadingSpec[] =>
      Array.from({ length: 30 }, (_, i) => ({
        device: `d${i % 10}`,
        metric: `m${i % 3}`,
        ts,
        value: ts + i,
      }));
    const reverse = (device: string) => 9 - Number(device.slice(1));
    const half = (device: string) => (Number(device.slice(1)) % 2 === 0 ? reverse(device) : -1);
    const batches = [readings(T), readings(T + 1), readings(T + 2), readings(T + 3)];
    const numbered = store(batches, [undefined, reverse, half, reverse]);
    const byName = store(batches);
    expect(numbered.rows).toEqual(byName.rows);
    expect(numbered.results.map((r) => r.inserted)).toEqual([30, 30, 30, 30]);
    // No series made twice: a device found by number is the one its name names.
    expect(numbered.seriesCount).toBe(byName.seriesCount);
    expect(numbered.seriesCount).toBe(30);
  });

  it("folds a minute's readings as arrival order does", () => {
    // Readings anywhere in one minute, in no order, with no duplicates: no
    // 64-row statement skips one, so the fold vouches for every series.
    const next = random(13);
    const readings: ReadingSpec[] = [];
    const used = new Set<string>();
    while (readings.length < 2100) {
      const device = `d${Math.floor(next() * 60)}`;
      const ts = T + Math.floor(next() * 59_000);
      if (used.has(`${device}/${ts}`)) continue;
      used.add(`${device}/${ts}`);
      for (const metric of ['t', 'h', 'p'])
        readings.push({ device, metric, ts, value: Math.round(next() * 1000) / 8 });
    }
    const shuffled = store([readings]);
    const oneByOne = store(readings.map((r) => [r]));
    expect(shuffled.folded.size).toBe(180);
    // sums aside, to the last bits, which depend on the order of the additions
    expect(shuffled.folded).toEqual(oneByOne.folded);
  });
});
