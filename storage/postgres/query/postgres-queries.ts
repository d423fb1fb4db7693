// The QueryService's queries on PostgreSQL. Rows are merged into buckets with
// the SQLite backend's own functions (storage/query/bucket-aggregates.ts),
// in the same row order, so both backends answer the same data identically.
import type pg from 'pg';
import type { DeviceRow } from '../../port.js';
import {
  checkDeviceGlob,
  createSeriesBuckets,
  LATEST_RAW_TAIL_MS,
  type StoredState,
  tierFor,
} from '../../query/bucket-aggregates.js';
import type { Pacer } from '../../query/query-pacer.js';
import type {
  AnomalyQuery,
  AnomalyRecord,
  LatestReading,
  MetricRow,
  SeriesQuery,
  SeriesResult,
} from '../../query-port.js';

type Queryable = Pick<pg.Pool, 'query'>;

export interface PostgresQueries {
  devices(): Promise<DeviceRow[]>;
  latest(deviceId: string, now: number): Promise<LatestReading[]>;
  metrics(): Promise<MetricRow[]>;
  series(query: SeriesQuery): Promise<SeriesResult>;
  anomalies(query: AnomalyQuery): Promise<AnomalyRecord[]>;
}

/** `pacer`: the thread's duty cycle (storage/query/query-pacer.ts); ticked once per row merged. */
export function createPostgresQueries(db: Queryable, pacer?: Pacer): PostgresQueries {
  const rows = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    (await db.query<T>(sql, params)).rows;

  return {
    devices: () =>
      rows<DeviceRow>(
        `SELECT device_id AS "deviceId", first_seen AS "firstSeen", last_seen AS "lastSeen"
           FROM devices ORDER BY device_id COLLATE "C"`,
      ),

    async latest(deviceId, now) {
      // Per series as in SQLite: the newest closed minute, then a raw reading after it within the tail.
      const found = await rows<{
        metric: string;
        rts: number | null;
        rv: number | null;
        ts: number | null;
        v: number | null;
      }>(
        `SELECT s.metric, roll.ts AS rts, roll.value AS rv, raw.ts, raw.value AS v
           FROM series s
           LEFT JOIN LATERAL (SELECT last_ts AS ts, last_value AS value FROM rollups_1m
                                WHERE series_id = s.id ORDER BY bucket DESC LIMIT 1) roll ON true
           LEFT JOIN LATERAL (SELECT ts, value FROM readings
                                WHERE series_id = s.id AND ts >= GREATEST(coalesce(roll.ts + 1, $2), $2)
                                ORDER BY ts DESC LIMIT 1) raw ON true
          WHERE s.device_id = $1 ORDER BY s.metric COLLATE "C"`,
        [deviceId, now - LATEST_RAW_TAIL_MS],
      );
      const out: LatestReading[] = [];
      for (const r of found) {
        if (r.ts !== null && r.v !== null) out.push({ metric: r.metric, ts: r.ts, value: r.v });
        else if (r.rts !== null && r.rv !== null) out.push({ metric: r.metric, ts: r.rts, value: r.rv });
      }
      return out;
    },

    // COLLATE "C": the byte order SQLite sorts by.
    metrics: () =>
      rows<MetricRow>(
        `SELECT metric, count(*) AS devices FROM series GROUP BY metric ORDER BY metric COLLATE "C"`,
      ),

    async series(query) {
      const pattern = likePattern(query.device);
      const tier = tierFor(query.bucketMs);
      const [counted] = await rows<{ n: number }>(
        `SELECT count(*) AS n FROM series WHERE metric = $1 AND device_id LIKE $2 ESCAPE '\\'`,
        [query.metric, pattern],
      );
      const buckets = createSeriesBuckets(query.bucketMs, query.aggs);
      if (tier === 'raw') {
        const found = await rows<{ ts: number; value: number }>(
          `SELECT r.ts, r.value FROM readings r JOIN series s ON s.id = r.series_id
             WHERE r.ts >= $1 AND r.ts < $2 AND s.metric = $3 AND s.device_id LIKE $4 ESCAPE '\\'
             ORDER BY r.ts, r.series_id`,
          [query.from, query.to, query.metric, pattern],
        );
        pacer?.reset();
        for (const { ts, value } of found) {
          buckets.addReading(ts, value);
          pacer?.tick();
        }
      } else {
        const table = tier === '1h' ? 'rollups_1h' : 'rollups_1m';
        const found = await rows<StoredState & { bucket: number; sketch?: Buffer }>(
          `SELECT r.bucket, r.count, r.sum, r.m2, r.min, r.max, r.last_ts AS "lastTs", r.last_value AS last
               ${buckets.withSketch ? ', r.sketch' : ''}
             FROM series s JOIN ${table} r ON r.series_id = s.id
             WHERE s.metric = $1 AND s.device_id LIKE $2 ESCAPE '\\' AND r.bucket >= $3 AND r.bucket < $4
             ORDER BY s.device_id COLLATE "C", r.bucket`,
          [query.metric, pattern, query.from, query.to],
        );
        pacer?.reset();
        for (const row of found) {
          buckets.addStored(row);
          pacer?.tick();
        }
      }
      const points = buckets.points();
      return { tier, bucketMs: query.bucketMs, devices: counted?.n ?? 0, points };
    },

    anomalies(query) {
      const pattern = query.device === undefined ? '%' : likePattern(query.device);
      return rows<AnomalyRecord>(
        `SELECT s.device_id AS "deviceId", s.metric, a.ts, a.value, a.score,
             a.expected_low AS "expectedLow", a.expected_high AS "expectedHigh", a.state
           FROM anomalies a JOIN series s ON s.id = a.series_id
           WHERE a.ts >= $1 AND a.ts < $2 AND s.device_id LIKE $3 ESCAPE '\\'
           ORDER BY a.ts DESC, s.device_id COLLATE "C" LIMIT $4`,
        [query.from, query.to ?? Number.MAX_SAFE_INTEGER, pattern, query.limit ?? null],
      );
    },
  };
}

/**
 * A device id or glob (* and ?) as a LIKE pattern. Device ids use
 * [A-Za-z0-9_.-]; of those only `_` means something to LIKE, so it is escaped.
 */
export function likePattern(device: string): string {
  return checkDeviceGlob(device).replace(/_/g, '\\_').replace(/\*/g, '%').replace(/\?/g, '_');
}
