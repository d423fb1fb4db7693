// The queries themselves, synchronous on one read-only connection. They run
// in the query pool's workers (query-worker.ts), never on the gateway's main
// thread; tests may call them directly.
import type { Database, Statement } from 'better-sqlite3';
import type { DeviceRow } from '../../port.js';
import {
  checkDeviceGlob,
  createSeriesBuckets,
  LATEST_RAW_TAIL_MS,
  tierFor,
} from '../../query/bucket-aggregates.js';
import type { Pacer } from '../../query/query-pacer.js';
import type {
  AnomalyQuery,
  AnomalyRecord,
  LatestReading,
  SeriesQuery,
  SeriesResult,
} from '../../query-port.js';

export interface SqliteQueries {
  devices(): DeviceRow[];
  latest(deviceId: string, now: number): LatestReading[];
  series(query: SeriesQuery): SeriesResult;
  anomalies(query: AnomalyQuery): AnomalyRecord[];
}

/** `pacer`: the thread's duty cycle (storage/query/query-pacer.ts); ticked once per row a series query reads. */
export function createSqliteQueries(db: Database, pacer?: Pacer): SqliteQueries {
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
      const buckets = createSeriesBuckets(query.bucketMs, query.aggs);
      pacer?.reset();
      if (tier === 'raw') {
        const rows = prepare(
          `SELECT r.ts, r.value FROM readings r
             WHERE r.ts >= ? AND r.ts < ?
               AND r.series_id IN (SELECT id FROM series WHERE metric = ? AND device_id GLOB ?)`,
        )
          .raw(true)
          .iterate(query.from, query.to, query.metric, pattern) as IterableIterator<[number, number]>;
        for (const [ts, value] of rows) {
          buckets.addReading(ts, value);
          pacer?.tick();
        }
      } else {
        const table = tier === '1h' ? 'rollups_1h' : 'rollups_1m';
        // Rows as arrays (addStoredRow's order): no object per row.
        const rows = prepare(
          `SELECT r.bucket, r.count, r.sum, r.m2, r.min, r.max, r.last_ts, r.last_value
               ${buckets.withSketch ? ', r.sketch' : ''}
             FROM series s JOIN ${table} r ON r.series_id = s.id
             WHERE s.metric = ? AND s.device_id GLOB ? AND r.bucket >= ? AND r.bucket < ?`,
        )
          .raw(true)
          .iterate(query.metric, pattern, query.from, query.to) as IterableIterator<unknown[]>;
        for (const row of rows) {
          buckets.addStoredRow(row);
          pacer?.tick();
        }
      }
      const points = buckets.points();
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
const devicePattern = checkDeviceGlob;
