// Rollup tiers against the raw readings: the SQLite backend's contract run,
// and the property test of issue 4 — for random readings, every aggregate of
// every tier equals the aggregate computed directly from the readings.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RELATIVE_ACCURACY } from '../../core/ddsketch.js';
import { sliceRollups, toRollupColumns } from '../../core/rollup-columns.js';
import { SeriesRegistry } from '../../pipelines/analytics/series-registry.js';
import { DETECTOR_DEFAULTS } from '../../pipelines/analytics-workers/anomaly-detector.js';
import { computeWindows } from '../../pipelines/analytics-workers/window-compute.js';
import type { Aggregate, SeriesPoint, SeriesQuery } from '../../storage/query-port.js';
import { createSqliteQueries } from '../../storage/sqlite/query/sqlite-queries.js';
import { openSqliteQueryService } from '../../storage/sqlite/query/sqlite-query-service.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { mulberry32, randomValue } from '../analytics/random.js';
import { rollupContract } from './contract.js';
import { makeBatch, type ReadingSpec } from './make-batch.js';
import { rollupRecoveryContract, type StoredRollupRow } from './rollup-recovery-contract.js';

rollupContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-rollups-'));
  const path = join(dir, 'gw.db');
  const writer = await openSqliteWriter({ path });
  return {
    writer,
    query: () => openSqliteQueryService({ path }),
    cleanup: async () => {
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

rollupRecoveryContract('sqlite', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'gw-recovery-'));
  const path = join(dir, 'gw.db');
  const writer = await openSqliteWriter({ path });
  return {
    writer,
    query: () => openSqliteQueryService({ path }),
    async rows(table) {
      const db = new Database(path, { readonly: true });
      try {
        const rows = db
          .prepare(
            `SELECT s.device_id AS device, s.metric, r.bucket, r.count, r.sum, r.m2, r.min, r.max,
               r.first_ts AS firstTs, r.first_value AS first, r.last_ts AS lastTs, r.last_value AS last, r.sketch
             FROM ${table} r JOIN series s ON s.id = r.series_id ORDER BY s.device_id, s.metric, r.bucket`,
          )
          .all() as Array<Omit<StoredRollupRow, 'sketch'> & { sketch: Buffer }>;
        return rows.map((r) => ({ ...r, sketch: Array.from(r.sketch) }));
      } finally {
        db.close();
      }
    },
    cleanup: async () => {
      await writer.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
});

const HOUR = 3_600_000;
const START = Date.UTC(2025, 2, 3, 7); // hour-aligned
const SPAN = 3 * HOUR;
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

/** Random readings: unique ts overall (so `last` is well defined fleet-wide), random values. */
function randomReadings(seed: number): ReadingSpec[] {
  const rand = mulberry32(seed);
  const devices = ['dev-a', 'dev-b', 'dev-c', 'other'];
  const used = new Set<number>();
  const out: ReadingSpec[] = [];
  const n = 3000 + Math.floor(rand() * 2000);
  while (out.length < n) {
    const ts = START + Math.floor(rand() * SPAN);
    if (used.has(ts)) continue;
    used.add(ts);
    const device = devices[Math.floor(rand() * devices.length)]!;
    const metric = rand() < 0.7 ? 'temp' : 'hum';
    out.push({ device, metric, ts, value: randomValue(rand, metric === 'temp' ? seed : seed + 1) });
  }
  return out;
}

/** The aggregate straight from the readings, with the same definitions the query promises. */
function expected(values: { ts: number; value: number }[], agg: Aggregate): number | null {
  if (agg === 'count') return values.length;
  if (values.length === 0) return null;
  const v = values.map((r) => r.value);
  const sum = v.reduce((a, b) => a + b, 0);
  const mean = sum / v.length;
  const sorted = [...v].sort((a, b) => a - b);
  switch (agg) {
    case 'sum':
      return sum;
    case 'min':
      return sorted[0]!;
    case 'max':
      return sorted.at(-1)!;
    case 'avg':
      return mean;
    case 'stddev':
      return v.length < 2 ? null : Math.sqrt(v.reduce((a, x) => a + (x - mean) ** 2, 0) / (v.length - 1));
    case 'last':
      return values.reduce((a, b) => (b.ts > a.ts ? b : a)).value;
    default: {
      const q = { p50: 0.5, p95: 0.95, p99: 0.99 }[agg];
      return sorted[Math.floor(q * (sorted.length - 1))]!;
    }
  }
}

function check(
  point: SeriesPoint,
  values: { ts: number; value: number }[],
  exactPercentiles: boolean,
  what: string,
) {
  for (const agg of AGGS) {
    const want = expected(values, agg);
    const got = point.values[agg];
    const label = `${what} ${agg} @${new Date(point.bucketStart).toISOString()}`;
    if (want === null || got === null || got === undefined) {
      expect(got ?? null, label).toBe(want);
      continue;
    }
    const percentile = agg.startsWith('p');
    // Percentiles from sketches: within the documented relative accuracy.
    const tolerance =
      percentile && !exactPercentiles
        ? RELATIVE_ACCURACY * Math.abs(want) + 1e-12
        : 1e-9 * Math.max(1, Math.abs(want));
    expect(Math.abs(got - want), `${label}: got ${got}, want ${want}`).toBeLessThanOrEqual(tolerance);
  }
}

describe('rollup tiers agree with the raw readings (property)', () => {
  let dir: string;
  let path: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-prop-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: raw, 1m and 1h tiers, single device and glob, with late corrections`, async () => {
      path = join(dir, `p${seed}.db`);
      const rand = mulberry32(seed * 7919);
      const readings = randomReadings(seed);
      const writer = await openSqliteWriter({ path });
      const registry = new SeriesRegistry();
      // The analytics' way in: most readings arrive with their minute; some
      // come late and are merged in as corrections, in random batches.
      const onTime: ReadingSpec[] = [];
      const late: ReadingSpec[] = [];
      for (const r of readings) (rand() < 0.15 ? late : onTime).push(r);
      const batches: Array<{ rows: ReadingSpec[]; detect: boolean }> = [];
      const byMinute = new Map<number, ReadingSpec[]>();
      for (const r of onTime) {
        const minute = Math.floor(r.ts / 60_000) * 60_000;
        byMinute.set(minute, [...(byMinute.get(minute) ?? []), r]);
      }
      for (const minute of [...byMinute.keys()].sort((a, b) => a - b)) {
        batches.push({ rows: byMinute.get(minute)!, detect: true });
      }
      for (let i = 0; i < late.length; i += 50) batches.push({ rows: late.slice(i, i + 50), detect: false });
      let detector = new Float64Array(0);
      for (const { rows, detect } of batches) {
        const result = computeWindows({
          detect,
          series: Uint32Array.from(rows.map((r) => registry.id(r.device, r.metric))),
          ts: Float64Array.from(rows.map((r) => r.ts)),
          value: Float64Array.from(rows.map((r) => r.value)),
          detector: detect ? detector : new Float64Array(0),
          detectorOptions: DETECTOR_DEFAULTS,
        });
        if (detect) detector = result.detector as Float64Array<ArrayBuffer>;
        // Written in slices, as the analytics do (sliceRollups), of a random size.
        const rollups = toRollupColumns(result.states, registry.names());
        const slice = 1 + Math.floor(rand() * 40);
        await writer.write(makeBatch(rows));
        for (let from = 0; from < rollups.bucket.length; from += slice) {
          const to = Math.min(rollups.bucket.length, from + slice);
          await writer.write({ ...makeBatch([]), rollups: sliceRollups(rollups, from, to) });
        }
      }
      await writer.close();

      const db = new Database(path, { readonly: true });
      const queries = createSqliteQueries(db);
      const cases: Array<{ bucketMs: number; tier: string }> = [
        { bucketMs: 60_000, tier: '1m' },
        { bucketMs: 5 * 60_000, tier: '1m' },
        { bucketMs: HOUR, tier: '1h' },
        { bucketMs: 24 * HOUR, tier: '1h' },
        { bucketMs: 45_000, tier: 'raw' },
      ];
      for (const device of ['dev-a', 'dev-*', '*', 'dev-?']) {
        for (const metric of ['temp', 'hum']) {
          const matches = (r: ReadingSpec) =>
            r.metric === metric &&
            new RegExp(`^${device.replace(/\*/g, '.*').replace(/\?/g, '.')}$`).test(r.device);
          const rows = readings.filter(matches);
          for (const { bucketMs, tier } of cases) {
            const query: SeriesQuery = {
              device,
              metric,
              from: START,
              to: START + SPAN,
              bucketMs,
              aggs: AGGS,
            };
            const result = queries.series(query);
            expect(result.tier).toBe(tier);
            expect(result.devices).toBe(new Set(rows.map((r) => r.device)).size);
            const groups = new Map<number, ReadingSpec[]>();
            for (const r of rows) {
              const b = Math.floor(r.ts / bucketMs) * bucketMs;
              groups.set(b, [...(groups.get(b) ?? []), r]);
            }
            expect(result.points.map((p) => p.bucketStart)).toEqual([...groups.keys()].sort((a, b) => a - b));
            for (const point of result.points) {
              check(point, groups.get(point.bucketStart)!, tier === 'raw', `${device}/${metric}/${bucketMs}`);
            }
          }
        }
      }
      db.close();
    });
  }

  it('the pooled query service answers as the in-process queries do, off the main thread', async () => {
    const query = openSqliteQueryService({ path });
    const db = new Database(path, { readonly: true });
    try {
      const q: SeriesQuery = {
        device: '*',
        metric: 'temp',
        from: START,
        to: START + SPAN,
        bucketMs: HOUR,
        aggs: AGGS,
      };
      expect(await query.series(q)).toEqual(createSqliteQueries(db).series(q));
      await expect(query.series({ ...q, device: 'bad device' })).rejects.toMatchObject({
        code: 'GW_ERR_QUERY_INVALID',
      });
    } finally {
      db.close();
      await query.close();
    }
    await expect(query.devices()).rejects.toMatchObject({ code: 'GW_ERR_STORAGE_CLOSED' });
  });
});
