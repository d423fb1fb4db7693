// The queries themselves, synchronous on one read-only connection. They run
// in the query pool's workers (query-worker.ts), never on the gateway's main
// thread; tests may call them directly.
import type { Database, Statement } from 'better-sqlite3';
import { GatewayError } from '../../../gateway/errors.js';
import type { DeviceRow } from '../../port.js';
import type {
  AnomalyQuery,
  AnomalyRecord,
  LatestReading,
  SeriesQuery,
  SeriesResult,
} from '../../query-port.js';
import {
  type BucketState,
  MINUTE_MS,
  mergeStored,
  needsSketch,
  newBucket,
  type StoredState,
  tierFor,
  toPoint,
} from './bucket-aggregates.js';

/** How far back `latest` looks in raw readings beyond the newest closed minute. */
export const LATEST_RAW_TAIL_MS = 5 * MINUTE_MS;

const DEVICE_PATTERN = /^[A-Za-z0-9_.*?-]{1,64}$/;

export interface SqliteQueries {
  devices(): DeviceRow[];
  latest(deviceId: string, now: number): LatestReading[];
  series(query: SeriesQuery): SeriesResult;
  anomalies(query: AnomalyQuery): AnomalyRecord[];
}

export function createSqliteQueries(db: Database): SqliteQueries {
  const statements = new Map<string, Statement>();
  const prepare = (sql: string): Statement => {
    let statement = statements.get(sql);
    if (statement === undefined) {
      statement = db.prepare(sql);
      statements.set(sql, statement);
    }
    return statement;
  };

  return {
    devices: () =>
      prepare(
        `SELECT device_id AS deviceId, first_seen AS firstSeen, last_seen AS lastSeen
           FROM devices ORDER BY device_id`,
      ).all() as DeviceRow[],

    latest(deviceId, now) {
      const series = prepare('SELECT id, metric FROM series WHERE device_id = ? ORDER BY metric').all(
        deviceId,
      ) as { id: number; metric: string }[];
      const newestRollup = prepare(
        `SELECT last_ts AS ts, last_value AS value FROM rollups_1m WHERE series_id = ?
           ORDER BY bucket DESC LIMIT 1`,
      );
      // The readings key is time first: walking back from the newest ts finds a
      // live series at once; the lower bound caps the walk for a silent one.
      const newestRaw = prepare(
        `SELECT ts, value FROM readings WHERE ts >= ? AND series_id = ? ORDER BY ts DESC LIMIT 1`,
      );
      const out: LatestReading[] = [];
      for (const { id, metric } of series) {
        const rolled = newestRollup.get(id) as { ts: number; value: number } | undefined;
        const floor = Math.max(
          rolled === undefined ? Number.NEGATIVE_INFINITY : rolled.ts + 1,
          now - LATEST_RAW_TAIL_MS,
        );
        const raw = newestRaw.get(floor, id) as { ts: number; value: number } | undefined;
        const newest = raw ?? rolled;
        if (newest !== undefined) out.push({ metric, ts: newest.ts, value: newest.value });
      }
      return out;
    },

    series(query) {
      const pattern = devicePattern(query.device);
      const tier = tierFor(query.bucketMs);
      const devices = prepare('SELECT count(*) FROM series WHERE metric = ? AND device_id GLOB ?')
        .pluck()
        .get(query.metric, pattern) as number;
      const buckets = new Map<number, BucketState>();
      const bucketOf = (start: number, withSketch: boolean): BucketState => {
        const key = Math.floor(start / query.bucketMs) * query.bucketMs;
        let b = buckets.get(key);
        if (b === undefined) {
          b = newBucket(withSketch);
          buckets.set(key, b);
        }
        return b;
      };
      if (tier === 'raw') {
        const rows = prepare(
          `SELECT r.ts AS ts, r.value AS value FROM readings r
             WHERE r.ts >= ? AND r.ts < ?
               AND r.series_id IN (SELECT id FROM series WHERE metric = ? AND device_id GLOB ?)`,
        ).iterate(query.from, query.to, query.metric, pattern) as IterableIterator<{
          ts: number;
          value: number;
        }>;
        const percentiles = needsSketch(query.aggs);
        for (const { ts, value } of rows) {
          const b = bucketOf(ts, false);
          mergeStored(b, { count: 1, sum: value, m2: 0, min: value, max: value, lastTs: ts, last: value });
          if (!percentiles) continue;
          if (b.values === null) b.values = [];
          b.values.push(value);
        }
      } else {
        const withSketch = needsSketch(query.aggs);
        const table = tier === '1h' ? 'rollups_1h' : 'rollups_1m';
        const rows = prepare(
          `SELECT r.bucket AS bucket, r.count AS count, r.sum AS sum, r.m2 AS m2, r.min AS min, r.max AS max,
               r.last_ts AS lastTs, r.last_value AS last${withSketch ? ', r.sketch AS sketch' : ''}
             FROM series s JOIN ${table} r ON r.series_id = s.id
             WHERE s.metric = ? AND s.device_id GLOB ? AND r.bucket >= ? AND r.bucket < ?`,
        ).iterate(query.metric, pattern, query.from, query.to) as IterableIterator<
          StoredState & { bucket: number }
        >;
        for (const row of rows) mergeStored(bucketOf(row.bucket, withSketch), row);
      }
      const points = [...buckets.entries()]
        .sort((a, b) => a[0] - b[0])
        .map(([start, b]) => toPoint(start, b, query.aggs));
      return { tier, bucketMs: query.bucketMs, devices, points };
    },

    anomalies(query) {
      const pattern = query.device === undefined ? '*' : devicePattern(query.device);
      return prepare(
        `SELECT s.device_id AS deviceId, s.metric AS metric, a.ts AS ts, a.value AS value, a.score AS score,
             a.expected_low AS expectedLow, a.expected_high AS expectedHigh
           FROM anomalies a JOIN series s ON s.id = a.series_id
           WHERE a.ts >= ? AND a.ts < ? AND s.device_id GLOB ?
           ORDER BY a.ts DESC, s.device_id LIMIT ?`,
      ).all(query.from, query.to ?? Number.MAX_SAFE_INTEGER, pattern, query.limit ?? -1) as AnomalyRecord[];
    },
  };
}

/** Device ids use [A-Za-z0-9_.-]; with `*` and `?` added that is already a safe SQLite GLOB. */
function devicePattern(device: string): string {
  if (!DEVICE_PATTERN.test(device)) {
    throw new GatewayError('GW_ERR_QUERY_INVALID', [
      'device',
      `"${device}" is not a device id or glob (* and ?)`,
    ]);
  }
  return device;
}
