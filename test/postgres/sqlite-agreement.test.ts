// The same batches written to SQLite and to PostgreSQL give the same answers:
// every tier of series (single device and globs, with late corrections),
// latest, anomalies, devices, readings, summaries and dead letters.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openQueryService, openReader, openWriter } from '../../storage/open-storage.js';
import type { StorageReader, WriteBatch } from '../../storage/port.js';
import type { Aggregate, AnomalyRecord, QueryService, SeriesResult } from '../../storage/query-port.js';
import { mulberry32, randomValue } from '../analytics/random.js';
import { makeBatch, type ReadingSpec } from '../storage/make-batch.js';
import { createTestSchema, type TestSchema } from './pg-schema.js';

const HOUR = 3_600_000;
const AGGS: readonly Aggregate[] = [
  'count',
  'sum',
  'min',
  'max',
  'avg',
  'stddev',
  'last',
  'p50',
  'p95',
  'p99',
];

/** Recent data (so `latest` has a raw tail), several devices, late corrections, anomalies, dead letters. */
function batchesFor(seed: number, start: number): WriteBatch[] {
  const rand = mulberry32(seed);
  const devices = ['dev-a', 'dev-b', 'dev_c', 'other'];
  const readings: ReadingSpec[] = [];
  const used = new Set<string>();
  while (readings.length < 3000) {
    const device = devices[Math.floor(rand() * devices.length)]!;
    const metric = rand() < 0.7 ? 'temp' : 'hum';
    // ts unique over all series, as in test/storage/rollups.test.ts: a fleet-wide
    // `last` between two devices' readings of the same ms is not defined.
    const ts = start + Math.floor(rand() * 2 * HOUR);
    const key = String(ts);
    if (used.has(key)) continue;
    used.add(key);
    readings.push({ device, metric, ts, value: randomValue(rand, metric === 'temp' ? seed : seed + 1) });
  }
  const byMinute = new Map<number, ReadingSpec[]>();
  const late: ReadingSpec[] = [];
  for (const r of readings) {
    if (rand() < 0.15) late.push(r);
    else {
      const minute = Math.floor(r.ts / 60_000) * 60_000;
      byMinute.set(minute, [...(byMinute.get(minute) ?? []), r]);
    }
  }
  const groups = [...byMinute.keys()].sort((a, b) => a - b).map((m) => byMinute.get(m)!);
  for (let i = 0; i < late.length; i += 40) groups.push(late.slice(i, i + 40));
  const out: WriteBatch[] = [];
  groups.forEach((rows, i) => {
    const anomalies: AnomalyRecord[] =
      i % 17 === 0
        ? [
            {
              deviceId: rows[0]!.device,
              metric: rows[0]!.metric,
              ts: rows[0]!.ts,
              value: rows[0]!.value,
              score: 7.25,
              expectedLow: -1,
              expectedHigh: 1,
              state: 'raised',
            },
          ]
        : [];
    const deadLetters =
      i % 23 === 0
        ? [
            {
              receivedAt: start + i,
              deviceId: rows[0]!.device,
              topic: `devices/${rows[0]!.device}/telemetry`,
              code: 'GW_ERR_PAYLOAD_NOT_JSON' as const,
              rejections: [{ index: 0, code: 'GW_ERR_PAYLOAD_NOT_JSON' as const }],
              rejectedCount: 1,
              acceptedCount: 0,
              payload: new Uint8Array([i & 0xff, 0, 0xff]),
              payloadBytes: 3,
            },
          ]
        : [];
    // Every fifth batch is sent twice: a redelivery, absorbed by the key on both.
    const batch = () => ({
      ...makeBatch(rows, { deadLetters }),
      anomalies,
    });
    out.push(batch());
  });
  return out;
}

/**
 * Counts, min, max, last, percentiles, bucket starts and tiers must be equal.
 * sum, avg and stddev merge many states in floating point, in the order each
 * database returns the rows: SQLite's order follows its query plan (by bucket
 * for '*', by device for 'dev-*'), so those may differ in the last ulps.
 */
const FLOAT_MERGED = new Set(['sum', 'avg', 'stddev']);
function expectSameSeries(got: SeriesResult, want: SeriesResult, label: string): void {
  expect({ ...got, points: got.points.length }, label).toEqual({ ...want, points: want.points.length });
  got.points.forEach((p, i) => {
    const w = want.points[i]!;
    expect(p.bucketStart, label).toBe(w.bucketStart);
    for (const [agg, value] of Object.entries(w.values)) {
      const actual = p.values[agg as Aggregate];
      if (FLOAT_MERGED.has(agg) && typeof value === 'number' && typeof actual === 'number') {
        expect(Math.abs(actual - value), `${label} ${agg}`).toBeLessThanOrEqual(
          1e-12 * Math.max(1, Math.abs(value)),
        );
      } else expect(actual, `${label} ${agg} @${p.bucketStart}`).toBe(value);
    }
  });
}

describe('PostgreSQL answers as SQLite does on the same batches', () => {
  let dir: string;
  let schema: TestSchema;
  const sides: Array<{ name: string; query: QueryService; reader: StorageReader }> = [];
  // The data ends about now, so `latest` reads both the rollups and the raw tail.
  const start = Math.floor((Date.now() - 2 * HOUR) / HOUR) * HOUR;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-agree-'));
    schema = await createTestSchema();
    for (const db of [join(dir, 'gw.db'), schema.url]) {
      const { writer } = await openWriter(db);
      const results = [];
      for (const batch of batchesFor(42, start)) results.push(await writer.write(batch));
      // The same batches again: every reading a duplicate on both backends.
      for (const batch of batchesFor(42, start).slice(0, 5)) {
        results.push(await writer.write(batch));
      }
      await writer.close();
      sides.push({ name: db, query: openQueryService(db), reader: openReader(db) });
      expect(results.slice(-5).every((r) => r.inserted === 0 && r.duplicates > 0)).toBe(true);
    }
  });
  afterAll(async () => {
    for (const s of sides) {
      await s.query.close();
      await s.reader.close();
    }
    await schema?.drop();
    await rm(dir, { recursive: true, force: true });
  });

  const both = async <T>(ask: (side: (typeof sides)[number]) => Promise<T>): Promise<[T, T]> => {
    const [a, b] = sides;
    return [await ask(a!), await ask(b!)];
  };

  it('series: every tier, single device and globs, all aggregates', async () => {
    let points = 0;
    for (const device of ['dev-a', 'dev_c', 'dev-*', '*', 'dev??']) {
      for (const metric of ['temp', 'hum']) {
        for (const bucketMs of [60_000, 5 * 60_000, HOUR, 24 * HOUR, 45_000, 1_000]) {
          const q = { device, metric, from: start, to: start + 2 * HOUR, bucketMs, aggs: AGGS };
          const [sqlite, postgres] = await both((s) => s.query.series(q));
          expectSameSeries(postgres, sqlite, `${device}/${metric}/${bucketMs}`);
          points += sqlite.points.length;
        }
      }
    }
    expect(points).toBeGreaterThan(1000);
  });

  it('latest, devices, anomalies', async () => {
    for (const device of ['dev-a', 'dev-b', 'dev_c', 'other', 'nobody']) {
      const [a, b] = await both((s) => s.query.latest(device));
      expect(b, device).toEqual(a);
    }
    const [devA, devB] = await both((s) => s.query.devices());
    expect(devB).toEqual(devA);
    expect(devA).toHaveLength(4);
    for (const q of [
      { from: start },
      { device: 'dev-?', from: start, limit: 3 },
      { device: 'dev_c', from: start },
    ]) {
      const [a, b] = await both((s) => s.query.anomalies(q));
      expect(b).toEqual(a);
      expect(a.length).toBeGreaterThan(0);
    }
  });

  it('readings, counts, metric summary and dead letters', async () => {
    const [ra, rb] = await both((s) =>
      s.reader.readings({ deviceId: 'dev-b', metric: 'temp', from: start + HOUR / 2 }),
    );
    expect(rb).toEqual(ra);
    expect(ra.length).toBeGreaterThan(100);
    const [ca, cb] = await both((s) => s.reader.countReadings());
    expect(cb).toBe(ca);
    expect(ca).toBe(3000);
    const [ma, mb] = await both((s) => s.reader.metricSummary());
    expect(mb.map((m) => m.metric)).toEqual(ma.map((m) => m.metric));
    mb.forEach((m, i) => {
      expect(m).toMatchObject({ count: ma[i]!.count, min: ma[i]!.min, max: ma[i]!.max });
      // avg() is the database's own summation: equal to the last few ulps.
      expect(m.avg).toBeCloseTo(ma[i]!.avg, 9);
    });
    const [da, db] = await both((s) => s.reader.deadLetters());
    expect(db.map(({ id: _id, ...rest }) => rest)).toEqual(da.map(({ id: _id, ...rest }) => rest));
    expect(da.length).toBeGreaterThan(1);
  });
});
