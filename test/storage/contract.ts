// The contract every storage backend passes (SQLite now, PostgreSQL later),
// in the manner of aedes' abstract-persistence suite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type {
  AlertState,
  AnomalyRecord,
  DeadLetter,
  StorageReader,
  StorageWriter,
} from '../../storage/port.js';
import type { QueryService } from '../../storage/query-port.js';
import { makeBatch, type ReadingSpec, series } from './make-batch.js';

export interface StorageUnderTest {
  writer: StorageWriter;
  /** a new reader on the same store; the suite closes it */
  reader: () => StorageReader;
  cleanup: () => Promise<void>;
}

const T0 = Date.UTC(2025, 0, 1);

function deadLetter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    receivedAt: T0,
    deviceId: 'dev-1',
    topic: 'devices/dev-1/telemetry',
    code: 'GW_ERR_PAYLOAD_NOT_JSON',
    rejections: [{ index: 0, code: 'GW_ERR_PAYLOAD_NOT_JSON' }],
    rejectedCount: 1,
    acceptedCount: 0,
    payload: new Uint8Array([0x7b, 0x00, 0xff, 0x7d]),
    payloadBytes: 4,
    ...overrides,
  };
}

export function storageContract(name: string, make: () => Promise<StorageUnderTest>): void {
  describe(`storage contract: ${name}`, () => {
    let store: StorageUnderTest;
    let reader: StorageReader;

    beforeEach(async () => {
      store = await make();
      reader = store.reader();
    });
    afterEach(async () => {
      await reader.close();
      await store.cleanup();
    });

    it('reads back what it wrote, per series, ordered by ts, within [from, to)', async () => {
      const rows = [
        ...series('dev-1', 'temp', T0, 5),
        ...series('dev-1', 'hum', T0, 3),
        ...series('dev-2', 'temp', T0, 4),
      ];
      // Written out of ts order on purpose: the read order must not depend on it.
      const result = await store.writer.write(makeBatch([...rows].reverse()));
      expect(result).toMatchObject({ inserted: 12, duplicates: 0, deadLetters: 0 });
      expect(result.commitMs).toBeGreaterThanOrEqual(0);

      const temp1 = await reader.readings({ deviceId: 'dev-1', metric: 'temp' });
      expect(temp1).toEqual(series('dev-1', 'temp', T0, 5).map(({ ts, value }) => ({ ts, value })));
      expect(
        await reader.readings({ deviceId: 'dev-1', metric: 'temp', from: T0 + 1000, to: T0 + 3000 }),
      ).toEqual([
        { ts: T0 + 1000, value: 0.5 },
        { ts: T0 + 2000, value: 1 },
      ]);
      expect(await reader.readings({ deviceId: 'dev-1', metric: 'temp', limit: 2 })).toHaveLength(2);
      expect(await reader.readings({ deviceId: 'dev-1', metric: 'nope' })).toEqual([]);
      expect(await reader.countReadings()).toBe(12);
      expect(await reader.countReadings({ deviceId: 'dev-2' })).toBe(4);
      expect(await reader.metricSummary()).toEqual([
        { metric: 'hum', count: 3, min: 0, avg: 0.5, max: 1 },
        { metric: 'temp', count: 9, min: 0, avg: expect.closeTo(8 / 9, 6), max: 2 },
      ]);
      expect(await reader.metricSummary({ from: T0 + 4000 })).toEqual([
        { metric: 'temp', count: 1, min: 2, avg: 2, max: 2 },
      ]);
    });

    it('stores a retransmitted reading once and counts it as a duplicate', async () => {
      // 150 rows: enough to cross any multi-row statement size a backend may use.
      const rows = series('dev-1', 'temp', T0, 150);
      expect(await store.writer.write(makeBatch(rows))).toMatchObject({ inserted: 150, duplicates: 0 });
      expect(await store.writer.write(makeBatch(rows))).toMatchObject({ inserted: 0, duplicates: 150 });
      const overlapping = series('dev-1', 'temp', T0 + 100_000, 150);
      expect(await store.writer.write(makeBatch(overlapping))).toMatchObject({
        inserted: 100,
        duplicates: 50,
      });
      expect(await reader.countReadings()).toBe(250);
      // Same ts, another series: not a duplicate.
      expect(await store.writer.write(makeBatch(series('dev-1', 'hum', T0, 1)))).toMatchObject({
        inserted: 1,
      });
    });

    it('stores a reading repeated within one batch once: the first of them (docs/sensors.md)', async () => {
      const rows = series('dev-1', 'temp', T0, 100);
      // The repeats carry other values: whichever copy is kept shows in what is read back.
      const again = (rs: ReadingSpec[]) => rs.map((r) => ({ ...r, value: r.value + 1000 }));
      const result = await store.writer.write(
        makeBatch([
          ...again(rows.slice(50, 60)),
          ...rows,
          ...again(rows.slice(0, 30)),
          ...again(rows.slice(90)),
        ]),
      );
      expect(result).toMatchObject({ inserted: 100, duplicates: 50 });
      expect(await reader.countReadings()).toBe(100);
      const want = [...rows.slice(0, 50), ...again(rows.slice(50, 60)), ...rows.slice(60)];
      expect(await reader.readings({ deviceId: 'dev-1', metric: 'temp' })).toEqual(
        want.map(({ ts, value }) => ({ ts, value })),
      );
    });

    it('round-trips dead letters, newest first, filtered by device', async () => {
      const older = deadLetter({
        receivedAt: T0,
        rejections: [
          { index: 0, metric: 'temp', code: 'GW_ERR_VALUE_NOT_NUMBER' },
          { index: 2, code: 'GW_ERR_READING_SHAPE' },
        ],
        code: 'GW_ERR_VALUE_NOT_NUMBER',
        rejectedCount: 2,
        acceptedCount: 3,
        payloadBytes: 4096,
      });
      const newer = deadLetter({
        receivedAt: T0 + 1,
        deviceId: null,
        topic: 'bogus/topic',
        code: 'GW_ERR_TOPIC_INVALID',
      });
      const result = await store.writer.write(makeBatch([], { deadLetters: [older, newer] }));
      expect(result).toMatchObject({ inserted: 0, duplicates: 0, deadLetters: 2 });

      const all = await reader.deadLetters();
      expect(all.map((d) => d.topic)).toEqual(['bogus/topic', 'devices/dev-1/telemetry']);
      const [n, o] = all;
      expect(n).toMatchObject({ deviceId: null, code: 'GW_ERR_TOPIC_INVALID', receivedAt: T0 + 1 });
      expect(o).toMatchObject({
        deviceId: 'dev-1',
        code: 'GW_ERR_VALUE_NOT_NUMBER',
        rejections: older.rejections,
        rejectedCount: 2,
        acceptedCount: 3,
        payloadBytes: 4096,
      });
      expect(typeof o?.id).toBe('number');
      expect(Array.from(o?.payload ?? [])).toEqual([0x7b, 0x00, 0xff, 0x7d]);
      expect(await reader.deadLetters({ deviceId: 'dev-1' })).toHaveLength(1);
      expect(await reader.deadLetters({ limit: 1 })).toMatchObject([{ topic: 'bogus/topic' }]);
    });

    it('keeps first_seen and raises last_seen to the newest sighting, to a minute', async () => {
      const seen = (deviceId: string, seenAt: number) => ({ deviceId, seenAt });
      await store.writer.write(makeBatch([], { devices: [seen('dev-1', T0 + 10), seen('dev-1', T0 + 20)] }));
      await store.writer.write(
        makeBatch([], { devices: [seen('dev-1', T0 + 120_000), seen('dev-2', T0 + 30)] }),
      );
      // A late, older sighting moves neither.
      await store.writer.write(makeBatch([], { devices: [seen('dev-1', T0 + 5)] }));
      expect(await reader.devices()).toEqual([
        { deviceId: 'dev-1', firstSeen: T0 + 10, lastSeen: T0 + 120_000 },
        { deviceId: 'dev-2', firstSeen: T0 + 30, lastSeen: T0 + 30 },
      ]);
    });

    it('settles writes in the order they were submitted', async () => {
      const settled: number[] = [];
      const writes = Array.from({ length: 20 }, (_, i) =>
        store.writer
          .write(makeBatch(series(`dev-${i % 3}`, 'temp', T0 + i * 100, 50)))
          .then(() => settled.push(i)),
      );
      expect(store.writer.health().pendingBatches).toBe(20);
      await Promise.all(writes);
      expect(settled).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(store.writer.health()).toEqual({ state: 'ok', pendingBatches: 0 });
    });

    it('finishes pending writes on close, then rejects writes with GW_ERR_STORAGE_CLOSED', async () => {
      const pending = store.writer.write(makeBatch(series('dev-1', 'temp', T0, 100)));
      const closing = store.writer.close();
      expect(store.writer.health().state).toBe('closed');
      await expect(pending).resolves.toMatchObject({ inserted: 100 });
      await closing;
      await store.writer.close();
      await expect(store.writer.write(makeBatch(series('dev-1', 'temp', T0, 1)))).rejects.toMatchObject({
        code: 'GW_ERR_STORAGE_CLOSED',
      });
      expect(await reader.countReadings()).toBe(100);
    });

    it('accepts an empty batch', async () => {
      expect(await store.writer.write(makeBatch([]))).toMatchObject({
        inserted: 0,
        duplicates: 0,
        deadLetters: 0,
      });
      expect(await reader.countReadings()).toBe(0);
      expect(await reader.devices()).toEqual([]);
    });
  });
}

// ---- Rollups and anomalies (issue 4). A backend passes these through its
// writer and its QueryService, as the gateway uses them.

export interface RollupStoreUnderTest {
  writer: StorageWriter;
  /** a new query service on the same store; the suite closes it */
  query: () => QueryService;
  cleanup: () => Promise<void>;
}

const H0 = Date.UTC(2025, 0, 1, 10);

export function rollupContract(name: string, make: () => Promise<RollupStoreUnderTest>): void {
  describe(`storage contract, rollups: ${name}`, () => {
    let store: RollupStoreUnderTest;
    let query: QueryService;
    beforeEach(async () => {
      store = await make();
      query = store.query();
    });
    afterEach(async () => {
      await query.close();
      await store.cleanup();
    });

    const aggs = ['count', 'sum', 'min', 'max', 'avg', 'stddev', 'last', 'p50'] as const;

    it('rebuilds the 1-minute and 1-hour buckets from raw, late corrections included', async () => {
      const minute0 = series('dev-1', 'temp', H0, 6, 5_000); // values 0 .. 2.5
      const minute1 = series('dev-1', 'temp', H0 + 60_000, 3, 10_000).map((r) => ({
        ...r,
        value: r.value + 10,
      }));
      // A minute written in two parts, the second as a late correction.
      for (const part of [minute0.slice(0, 4), [...minute0.slice(4), ...minute1]]) {
        await store.writer.write(makeBatch(part));
        await store.writer.refreshRollups();
      }
      const perMinute = await query.series({
        device: 'dev-1',
        metric: 'temp',
        from: H0,
        to: H0 + 3_600_000,
        bucketMs: 60_000,
        aggs,
      });
      expect(perMinute).toMatchObject({ tier: '1m', bucketMs: 60_000, devices: 1 });
      expect(perMinute.points.map((p) => p.bucketStart)).toEqual([H0, H0 + 60_000]);
      expect(perMinute.points[0]!.values).toMatchObject({ count: 6, min: 0, max: 2.5, last: 2.5 });
      expect(perMinute.points[0]!.values.sum).toBeCloseTo(7.5, 9);
      expect(perMinute.points[0]!.values.stddev).toBeCloseTo(Math.sqrt(0.875), 9); // sample stddev of 0, 0.5 .. 2.5
      expect(perMinute.points[1]!.values).toMatchObject({ count: 3, min: 10, max: 11, last: 11 });

      const hourly = await query.series({
        device: 'dev-*',
        metric: 'temp',
        from: H0,
        to: H0 + 3_600_000,
        bucketMs: 3_600_000,
        aggs,
      });
      expect(hourly).toMatchObject({ tier: '1h', devices: 1 });
      expect(hourly.points).toHaveLength(1);
      expect(hourly.points[0]!.values).toMatchObject({ count: 9, min: 0, max: 11, last: 11 });
      expect(hourly.points[0]!.values.avg).toBeCloseTo((7.5 + 31.5) / 9, 9);
      // p50 of the nine values is 2 (rank floor(0.5 * 8)); the sketch answers within 1 %.
      expect(Math.abs(hourly.points[0]!.values.p50! - 2)).toBeLessThanOrEqual(0.02);
    });

    it('answers buckets that are not whole minutes from raw readings, exactly', async () => {
      const rows = series('dev-1', 'temp', H0, 12, 5_000);
      await store.writer.write(makeBatch(rows));
      await store.writer.refreshRollups();
      const result = await query.series({
        device: 'dev-1',
        metric: 'temp',
        from: H0,
        to: H0 + 60_000,
        bucketMs: 30_000,
        aggs: ['count', 'max', 'p50'],
      });
      expect(result.tier).toBe('raw');
      expect(result.points).toEqual([
        { bucketStart: H0, values: { count: 6, max: 2.5, p50: 1 } },
        { bucketStart: H0 + 30_000, values: { count: 6, max: 5.5, p50: 4 } },
      ]);
    });

    it('stores alert transitions once and lists them newest first, by device glob and time', async () => {
      const anomaly = (deviceId: string, ts: number, state: AlertState = 'raised'): AnomalyRecord => ({
        deviceId,
        metric: 'temp',
        ts,
        value: 99,
        score: 12.5,
        expectedLow: 18,
        expectedHigh: 24,
        state,
      });
      const rows = [...series('pi-1', 'temp', H0, 2), ...series('pi-2', 'temp', H0, 2)];
      const anomalies = [anomaly('pi-1', H0), anomaly('pi-2', H0 + 1000, 'cleared')];
      expect(await store.writer.write({ ...makeBatch(rows), anomalies })).toMatchObject({ anomalies: 2 });
      expect(await store.writer.write({ ...makeBatch([]), anomalies: [anomaly('pi-1', H0)] })).toMatchObject({
        anomalies: 0,
      });
      expect(await query.anomalies({ from: H0 })).toEqual([anomalies[1], anomalies[0]]);
      expect(await query.anomalies({ device: 'pi-?', from: H0, limit: 1 })).toEqual([anomalies[1]]);
      expect(await query.anomalies({ device: 'pi-1', from: H0 })).toEqual([anomalies[0]]);
      expect(await query.anomalies({ from: H0 + 1, to: H0 + 1000 })).toEqual([]);
      await expect(query.anomalies({ device: 'pi-[1]', from: H0 })).rejects.toMatchObject({
        code: 'GW_ERR_QUERY_INVALID',
      });
    });

    it('prunes each tier oldest first, at most maxRows per step', async () => {
      const rows = series('dev-1', 'temp', H0, 10, 60_000); // one reading in each of ten minutes
      await store.writer.write(makeBatch(rows));
      await store.writer.refreshRollups();
      const step = (tier: 'raw' | '1m' | '1h', before: number, maxRows: number) =>
        store.writer.write({ ...makeBatch([]), prune: { tier, before, maxRows } });
      expect(await step('raw', H0 + 5 * 60_000, 3)).toMatchObject({ pruned: 3 });
      expect(await step('raw', H0 + 5 * 60_000, 3)).toMatchObject({ pruned: 2 });
      expect(await step('raw', H0 + 5 * 60_000, 3)).toMatchObject({ pruned: 0 });
      expect(await step('1m', H0 + 4 * 60_000, 100)).toMatchObject({ pruned: 4 });
      const raw = await query.series({
        device: 'dev-1',
        metric: 'temp',
        from: H0,
        to: H0 + 3_600_000,
        bucketMs: 1_000,
        aggs: ['count'],
      });
      expect(raw.points.map((p) => p.bucketStart)).toEqual(rows.slice(5).map((r) => r.ts));
      const minutes = await query.series({
        device: 'dev-1',
        metric: 'temp',
        from: H0,
        to: H0 + 3_600_000,
        bucketMs: 60_000,
        aggs: ['count'],
      });
      expect(minutes.points).toHaveLength(6);
      // The hour tier is untouched by the others' retention.
      const hours = await query.series({
        device: 'dev-1',
        metric: 'temp',
        from: H0,
        to: H0 + 3_600_000,
        bucketMs: 3_600_000,
        aggs: ['count'],
      });
      expect(hours.points).toEqual([{ bucketStart: H0, values: { count: 10 } }]);
    });

    it('lists devices and the latest reading per metric', async () => {
      const now = Date.now();
      const old = series('dev-1', 'hum', now - 3_600_000, 3, 1000);
      const recent = series('dev-1', 'temp', now - 2000, 2, 1000);
      // hum: rewritten into its rollups; temp: in the open minute, raw only.
      await store.writer.write(makeBatch([...old, ...recent]));
      await store.writer.refreshRollups();
      expect((await query.devices()).map((d) => d.deviceId)).toEqual(['dev-1']);
      expect(await query.latest('dev-1')).toEqual([
        { metric: 'hum', ts: old[2]!.ts, value: 1 },
        { metric: 'temp', ts: recent[1]!.ts, value: 0.5 },
      ]);
      expect(await query.latest('nobody')).toEqual([]);
    });

    it("lists the union of every device's metrics, each with its devices", async () => {
      expect(await query.metrics()).toEqual([]);
      await store.writer.write(
        makeBatch([
          ...series('dev-1', 'temp', H0, 2, 1000),
          ...series('dev-2', 'temp', H0, 2, 1000),
          ...series('dev-2', 'hum', H0, 1, 1000),
          ...series('dev-3', 'CO2', H0, 1, 1000),
        ]),
      );
      expect(await query.metrics()).toEqual([
        { metric: 'CO2', devices: 1 },
        { metric: 'hum', devices: 1 },
        { metric: 'temp', devices: 2 },
      ]);
    });
  });
}
