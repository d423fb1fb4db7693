// The rollup recovery contract (StorageWriter.recoverRollups): after an
// unclean stop, the minutes from shortly before the analytics watermark on
// are rebuilt from raw readings, in both tiers. Every backend runs it.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DDSketch, RELATIVE_ACCURACY } from '../../core/ddsketch.js';
import type { WriteBatch } from '../../storage/port.js';
import type { QueryService } from '../../storage/query-port.js';
import { type RollupStoreUnderTest, rollupsOf } from './contract.js';
import { makeBatch, type ReadingSpec } from './make-batch.js';

/** A stored rollup row, as either backend holds it. */
export interface StoredRollupRow {
  device: string;
  metric: string;
  bucket: number;
  count: number;
  sum: number;
  m2: number;
  min: number;
  max: number;
  firstTs: number;
  first: number;
  lastTs: number;
  last: number;
  sketch: number[];
}

export interface RecoveryStoreUnderTest extends RollupStoreUnderTest {
  /** every row of a tier, read with the backend's own SQL, ordered by device, metric, bucket */
  rows: (table: 'rollups_1m' | 'rollups_1h') => Promise<StoredRollupRow[]>;
}

const MINUTE = 60_000;
/** 10:57 UTC: the minutes written below cross the 11:00 hour boundary */
const M0 = Date.UTC(2025, 0, 1, 10, 57);
const minute = (k: number) => M0 + k * MINUTE;

/** `count` readings of one series in minute k, 5 s apart, with uneven values */
function minuteOf(device: string, k: number, count: number, offset = 0): ReadingSpec[] {
  return Array.from({ length: count }, (_, i) => ({
    device,
    metric: 'temp',
    ts: minute(k) + (offset + i) * 5_000,
    value: 20 + (((i + offset) * 37 + k * 11) % 23) * 0.37 - k,
  }));
}

/** What a row holding exactly these readings must say, straight from the readings. */
function expectRowOf(row: StoredRollupRow | undefined, readings: readonly ReadingSpec[], what: string): void {
  expect(row, what).toBeDefined();
  const values = readings.map((r) => r.value);
  const n = values.length;
  const sum = values.reduce((a, b) => a + b, 0);
  const mean = sum / n;
  const byTs = [...readings].sort((a, b) => a.ts - b.ts);
  const close = (got: number, want: number, label: string) =>
    expect(Math.abs(got - want), `${what} ${label}: got ${got}, want ${want}`).toBeLessThanOrEqual(
      1e-9 * Math.max(1, Math.abs(want)),
    );
  expect(row!.count, `${what} count`).toBe(n);
  close(row!.sum, sum, 'sum');
  close(
    row!.m2,
    values.reduce((a, x) => a + (x - mean) ** 2, 0),
    'm2',
  );
  expect(row!.min, `${what} min`).toBe(Math.min(...values));
  expect(row!.max, `${what} max`).toBe(Math.max(...values));
  expect([row!.firstTs, row!.first], `${what} first`).toEqual([byTs[0]!.ts, byTs[0]!.value]);
  expect([row!.lastTs, row!.last], `${what} last`).toEqual([byTs.at(-1)!.ts, byTs.at(-1)!.value]);
  const sketch = DDSketch.decode(Uint8Array.from(row!.sketch));
  const sorted = [...values].sort((a, b) => a - b);
  expect(sketch.count, `${what} sketch count`).toBe(n);
  for (const q of [0, 0.5, 0.95, 1]) {
    const want = sorted[Math.floor(q * (n - 1))]!;
    expect(Math.abs(sketch.quantile(q)! - want), `${what} p${q * 100}`).toBeLessThanOrEqual(
      RELATIVE_ACCURACY * Math.abs(want),
    );
  }
}

function rowAt(rows: StoredRollupRow[], device: string, bucket: number): StoredRollupRow | undefined {
  return rows.find((r) => r.device === device && r.bucket === bucket);
}

export function rollupRecoveryContract(name: string, make: () => Promise<RecoveryStoreUnderTest>): void {
  describe(`storage contract, rollup recovery: ${name}`, () => {
    let store: RecoveryStoreUnderTest;
    let query: QueryService;
    beforeEach(async () => {
      store = await make();
      query = store.query();
    });
    afterEach(async () => {
      await query.close();
      await store.cleanup();
    });

    const LATENESS = MINUTE;
    // Bounds far enough out that only the watermark decides where a rebuild starts.
    const UNBOUNDED = { maxFutureMs: 86_400_000, rawKeptSince: null };
    const HOUR_10 = Date.UTC(2025, 0, 1, 10);
    const HOUR_11 = Date.UTC(2025, 0, 1, 11);

    it('rebuilds both tiers from raw readings from shortly before the watermark, once', async () => {
      const write = (rows: ReadingSpec[], extra: Partial<WriteBatch> = {}) =>
        store.writer.write({ ...makeBatch(rows), ...extra });
      // Before the "crash": readings with the rollups the analytics wrote for them.
      // dev-1's 10:57 rollup holds 6 of its 10 readings: it is before R and must stay as it is.
      const d1m0 = minuteOf('dev-1', 0, 10);
      const d1m1 = minuteOf('dev-1', 1, 8);
      const d1m2 = minuteOf('dev-1', 2, 8);
      const d2m1 = minuteOf('dev-2', 1, 4);
      const d3m0 = minuteOf('dev-3', 0, 3);
      await write(d1m0, { rollups: rollupsOf(d1m0.slice(0, 6)), analyticsWatermark: minute(2) });
      await write([...d1m1, ...d2m1, ...d3m0], {
        rollups: rollupsOf([...d1m1, ...d2m1, ...d3m0]),
        analyticsWatermark: minute(3),
      });
      // A watermark is never lowered.
      await write([], { rollups: rollupsOf(minuteOf('dev-3', 1, 3)), analyticsWatermark: minute(1) });
      // dev-1's 10:59: only 5 of 8 readings had reached the rollups (a late correction in memory).
      await write(d1m2, { rollups: rollupsOf(d1m2.slice(0, 5)) });
      // The "crash": readings committed, their rollups never written.
      const d1m3 = minuteOf('dev-1', 3, 6);
      const d1m4 = minuteOf('dev-1', 4, 3);
      const d2m3 = minuteOf('dev-2', 3, 2);
      const tooLate = minuteOf('dev-1', 0, 1, 10); // raw only, in a minute before R
      await write([...d1m3, ...d1m4, ...d2m3, ...tooLate]);
      const before = await store.rows('rollups_1m');

      // W = 11:00, lateness 1 min: R = 10:58.
      const recovery = await store.writer.recoverRollups({
        ...UNBOUNDED,
        latenessMs: LATENESS,
        closedBefore: minute(4),
      });
      expect(recovery).toMatchObject({
        from: minute(1),
        readings: 8 + 8 + 6 + 3 + 4 + 2,
        minuteRows: 6,
        // dev-3's 10:58 row has no raw readings: it goes.
        minuteRowsDeleted: 1,
        // dev-1 and dev-2: 10:00 and 11:00; dev-3: 10:00.
        hourRows: 5,
      });
      expect(recovery.ms).toBeGreaterThanOrEqual(0);

      const minutes = await store.rows('rollups_1m');
      // Before R: untouched, bit for bit, although raw holds a reading more.
      expect(rowAt(minutes, 'dev-1', minute(0))).toEqual(rowAt(before, 'dev-1', minute(0)));
      expect(rowAt(minutes, 'dev-3', minute(0))).toEqual(rowAt(before, 'dev-3', minute(0)));
      expectRowOf(rowAt(minutes, 'dev-1', minute(0)), d1m0.slice(0, 6), 'dev-1 10:57 (before R)');
      // From R on: exactly the raw readings.
      const raw: Array<[string, number, ReadingSpec[]]> = [
        ['dev-1', 1, d1m1],
        ['dev-1', 2, d1m2],
        ['dev-1', 3, d1m3],
        ['dev-1', 4, d1m4],
        ['dev-2', 1, d2m1],
        ['dev-2', 3, d2m3],
      ];
      for (const [device, k, readings] of raw) {
        expectRowOf(rowAt(minutes, device, minute(k)), readings, `${device} minute ${k}`);
      }
      expect(minutes.map((r) => `${r.device}@${(r.bucket - M0) / MINUTE}`)).toEqual([
        'dev-1@0',
        'dev-1@1',
        'dev-1@2',
        'dev-1@3',
        'dev-1@4',
        'dev-2@1',
        'dev-2@3',
        'dev-3@0',
      ]);

      const hours = await store.rows('rollups_1h');
      expect(hours.map((r) => `${r.device}@${new Date(r.bucket).toISOString().slice(11, 16)}`)).toEqual([
        'dev-1@10:00',
        'dev-1@11:00',
        'dev-2@10:00',
        'dev-2@11:00',
        'dev-3@10:00',
      ]);
      // An hour merges its 1-minute rows: dev-1's 10:57 as stored, the rest rebuilt.
      expectRowOf(rowAt(hours, 'dev-1', HOUR_10), [...d1m0.slice(0, 6), ...d1m1, ...d1m2], 'dev-1 10:00');
      expectRowOf(rowAt(hours, 'dev-1', HOUR_11), [...d1m3, ...d1m4], 'dev-1 11:00');
      expectRowOf(rowAt(hours, 'dev-2', HOUR_10), d2m1, 'dev-2 10:00');
      expectRowOf(rowAt(hours, 'dev-2', HOUR_11), d2m3, 'dev-2 11:00');
      expectRowOf(rowAt(hours, 'dev-3', HOUR_10), d3m0, 'dev-3 10:00');

      // The query side answers from the rebuilt tiers.
      const counts = async (bucketMs: number) =>
        (
          await query.series({
            device: 'dev-*',
            metric: 'temp',
            from: HOUR_10,
            to: HOUR_11 + 3_600_000,
            bucketMs,
            aggs: ['count'],
          })
        ).points.map((p) => p.values.count);
      expect(await counts(MINUTE)).toEqual([9, 12, 8, 8, 3]);
      expect(await counts(3_600_000)).toEqual([6 + 8 + 8 + 4 + 3, 6 + 3 + 2]);

      // W is now closedBefore (11:01), so R = 10:59; a second run changes nothing.
      const again = await store.writer.recoverRollups({
        ...UNBOUNDED,
        latenessMs: LATENESS,
        closedBefore: minute(4),
      });
      expect(again).toMatchObject({ from: minute(2), readings: 8 + 6 + 3 + 2, minuteRowsDeleted: 0 });
      expect(await store.rows('rollups_1m')).toEqual(minutes);
      expect(await store.rows('rollups_1h')).toEqual(hours);
    });

    it('rebuilds nothing without a watermark, and a run with analytics off removes it', async () => {
      const rows = minuteOf('dev-1', 1, 4);
      await store.writer.write(makeBatch(rows));
      expect(
        await store.writer.recoverRollups({ ...UNBOUNDED, latenessMs: LATENESS, closedBefore: null }),
      ).toMatchObject({
        from: null,
        readings: 0,
        minuteRows: 0,
        hourRows: 0,
      });
      expect(await store.rows('rollups_1m')).toEqual([]);

      await store.writer.write({ ...makeBatch([]), analyticsWatermark: minute(3) });
      // Analytics off: what the last run lost is rebuilt, then the watermark goes.
      expect(
        await store.writer.recoverRollups({ ...UNBOUNDED, latenessMs: LATENESS, closedBefore: null }),
      ).toMatchObject({
        from: minute(1),
        readings: 4,
        minuteRows: 1,
      });
      expectRowOf((await store.rows('rollups_1m'))[0], rows, 'dev-1 minute 1');
      expect(
        await store.writer.recoverRollups({ ...UNBOUNDED, latenessMs: LATENESS, closedBefore: minute(5) }),
      ).toMatchObject({
        from: null,
        readings: 0,
      });
      // ... and the run with analytics on sets it again.
      expect(
        await store.writer.recoverRollups({ ...UNBOUNDED, latenessMs: LATENESS, closedBefore: minute(5) }),
      ).toMatchObject({
        from: minute(3),
      });
    });

    it('never reaches back past the newest reading minus the lateness and the future allowance, nor past raw retention', async () => {
      // The analytics' rollups for minutes 1 and 2, then a watermark left far behind
      // (all later traffic came late, or a clock jumped back at some start).
      const m1 = minuteOf('dev-1', 1, 4);
      const m2 = minuteOf('dev-1', 2, 4);
      await store.writer.write({
        ...makeBatch([...m1, ...m2]),
        rollups: rollupsOf([...m1.slice(0, 2), ...m2.slice(0, 2)]),
      });
      await store.writer.write({ ...makeBatch([]), analyticsWatermark: minute(-600) });
      const m30 = minuteOf('dev-1', 30, 3);
      await store.writer.write(makeBatch(m30));
      const newest = m30.at(-1)!.ts;
      // newest − 1 min future − 1 min lateness − 2 min: minute 26; minutes 1 and 2 keep their rows.
      const recovery = await store.writer.recoverRollups({
        latenessMs: LATENESS,
        maxFutureMs: MINUTE,
        rawKeptSince: null,
        // a start whose clock is behind: W goes back to minute 0
        closedBefore: minute(0),
      });
      expect(recovery).toMatchObject({
        from: Math.floor((newest - 4 * MINUTE) / MINUTE) * MINUTE,
        readings: 3,
      });
      const rows = await store.rows('rollups_1m');
      expectRowOf(rowAt(rows, 'dev-1', minute(1)), m1.slice(0, 2), 'minute 1, untouched');
      expectRowOf(rowAt(rows, 'dev-1', minute(2)), m2.slice(0, 2), 'minute 2, untouched');
      expectRowOf(rowAt(rows, 'dev-1', minute(30)), m30, 'minute 30, rebuilt');

      // Raw retention: with raw kept only since minute 2, minute 1 cannot be rebuilt and stays.
      const kept = await store.writer.recoverRollups({
        latenessMs: LATENESS,
        maxFutureMs: 86_400_000,
        rawKeptSince: minute(2) - 1,
        closedBefore: minute(31),
      });
      expect(kept.from).toBe(minute(2));
      const after = await store.rows('rollups_1m');
      expectRowOf(rowAt(after, 'dev-1', minute(1)), m1.slice(0, 2), 'minute 1, before raw retention');
      expectRowOf(rowAt(after, 'dev-1', minute(2)), m2, 'minute 2, rebuilt from raw');
    });
  });
}
