// The queries themselves, synchronous on one read-only connection. They run
// in the query pool's workers (query-worker.ts), never on the gateway's main
// thread; tests may call them directly.
import type { Database } from 'better-sqlite3';
import type { DeviceRow } from '../../port.js';
import {
  alignToBuckets,
  checkDeviceGlob,
  createSeriesBuckets,
  tierFor,
} from '../../query/bucket-aggregates.js';
import type { Pacer } from '../../query/query-pacer.js';
import { agreedUnit, type MatchedSeries, type SeriesMetaRow, withMeta } from '../../query/series-meta.js';
import type {
  AnomalyQuery,
  AnomalyRecord,
  LatestReading,
  MetricRow,
  SeriesQuery,
  SeriesResult,
} from '../../query-port.js';
import { statementCache } from './statement-cache.js';
import { createTierReader } from './tier-reader.js';

type SeriesRow = SeriesMetaRow & { id: number; metric: string };

export interface SqliteQueries {
  devices(): DeviceRow[];
  latest(deviceId: string): LatestReading[];
  metrics(): MetricRow[];
  series(query: SeriesQuery): SeriesResult;
  anomalies(query: AnomalyQuery): AnomalyRecord[];
}

/** `pacer`: the thread's duty cycle (storage/query/query-pacer.ts); ticked once per row a series query reads. */
export function createSqliteQueries(db: Database, pacer?: Pacer): SqliteQueries {
  const prepare = statementCache(db);

  const tiers = createTierReader(db);
  // One read transaction: the rows, the stale marks and the raw readings of one snapshot.
  const snapshot = <T>(read: () => T): T => db.transaction(read)();

  return {
    devices: () =>
      prepare(
        `SELECT device_id AS deviceId, first_seen AS firstSeen, last_seen AS lastSeen
           FROM devices ORDER BY device_id`,
      ).all() as DeviceRow[],

    latest(deviceId) {
      return snapshot(() => {
        const series = prepare(
          'SELECT id, metric, unit, device_class AS deviceClass FROM series WHERE device_id = ? ORDER BY metric',
        ).all(deviceId) as SeriesRow[];
        const out: LatestReading[] = [];
        for (const row of series) {
          const newest = tiers.newest(row.id);
          if (newest !== undefined)
            out.push(withMeta({ metric: row.metric, ts: newest.ts, value: newest.value }, row));
        }
        return out;
      });
    },

    // The series table has one row per (device, metric): a metric's rows count its devices.
    metrics: () =>
      prepare(
        'SELECT metric, count(*) AS devices FROM series GROUP BY metric ORDER BY metric',
      ).all() as MetricRow[],

    series(query) {
      const pattern = devicePattern(query.device);
      const tier = tierFor(query.bucketMs);
      const { from, to } = alignToBuckets(query);
      const buckets = createSeriesBuckets(query.bucketMs, query.aggs);
      pacer?.reset();
      const devices = snapshot(() => {
        const matched = prepare(
          'SELECT count(*) AS n, min(unit) AS lo, max(unit) AS hi FROM series WHERE metric = ? AND device_id GLOB ?',
        ).get(query.metric, pattern) as MatchedSeries;
        const range = { metric: query.metric, pattern, from, to };
        if (tier === '1m') tiers.minutes(range, buckets, pacer);
        else if (tier === '1h') tiers.hours(range, buckets, pacer);
        else {
          const rows = prepare(
            `SELECT r.ts, r.value FROM readings r
               WHERE r.ts >= ? AND r.ts < ?
                 AND r.series_id IN (SELECT id FROM series WHERE metric = ? AND device_id GLOB ?)`,
          )
            .raw(true)
            .iterate(from, to, query.metric, pattern) as IterableIterator<[number, number]>;
          for (const [ts, value] of rows) {
            buckets.addReading(ts, value);
            pacer?.tick();
          }
        }
        return matched;
      });
      return {
        tier,
        bucketMs: query.bucketMs,
        devices: devices.n,
        points: buckets.points(),
        ...agreedUnit(devices),
      };
    },

    anomalies(query) {
      const pattern = query.device === undefined ? '*' : devicePattern(query.device);
      return prepare(
        `SELECT s.device_id AS deviceId, s.metric AS metric, a.ts AS ts, a.value AS value, a.score AS score,
             a.expected_low AS expectedLow, a.expected_high AS expectedHigh, a.state AS state
           FROM anomalies a JOIN series s ON s.id = a.series_id
           WHERE a.ts >= ? AND a.ts < ? AND s.device_id GLOB ?
           ORDER BY a.ts DESC, s.device_id LIMIT ?`,
      ).all(query.from, query.to ?? Number.MAX_SAFE_INTEGER, pattern, query.limit ?? -1) as AnomalyRecord[];
    },
  };
}

/** Device ids use [A-Za-z0-9_.-]; with `*` and `?` added that is already a safe SQLite GLOB. */
const devicePattern = checkDeviceGlob;
