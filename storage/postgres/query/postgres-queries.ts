// The QueryService's queries on PostgreSQL. Rows are merged into buckets with
// the SQLite backend's own functions (storage/query/bucket-aggregates.ts),
// in the same row order, so both backends answer the same data identically.
import type pg from 'pg';
import type { DeviceRow } from '../../port.js';
import {
  alignToBuckets,
  checkDeviceGlob,
  createSeriesBuckets,
  tierFor,
} from '../../query/bucket-aggregates.js';
import type { Pacer } from '../../query/query-pacer.js';
import { agreedUnit, type MatchedSeries, withMeta } from '../../query/series-meta.js';
import type {
  AnomalyQuery,
  AnomalyRecord,
  LatestReading,
  MetricRow,
  SeriesQuery,
  SeriesResult,
} from '../../query-port.js';
import { MINUTE_MS } from '../../rollup-refresh.js';
import { type Connectable, readSnapshot } from './snapshot.js';
import { createTierReader } from './tier-reader.js';

export interface PostgresQueries {
  devices(): Promise<DeviceRow[]>;
  latest(deviceId: string): Promise<LatestReading[]>;
  metrics(): Promise<MetricRow[]>;
  series(query: SeriesQuery): Promise<SeriesResult>;
  anomalies(query: AnomalyQuery): Promise<AnomalyRecord[]>;
}

/** `pacer`: the thread's duty cycle (storage/query/query-pacer.ts); ticked once per row merged. */
export function createPostgresQueries(db: Connectable, pacer?: Pacer): PostgresQueries {
  const rows = async <T extends pg.QueryResultRow>(sql: string, params: unknown[] = []) =>
    (await db.query<T>(sql, params)).rows;

  /** The reads of one answer in one snapshot: the rows, the stale marks and the raw readings agree. */
  const snapshot = <T>(read: (client: pg.PoolClient) => Promise<T>) => readSnapshot(db, read);

  return {
    devices: () =>
      rows<DeviceRow>(
        `SELECT device_id AS "deviceId", first_seen AS "firstSeen", last_seen AS "lastSeen"
           FROM devices ORDER BY device_id COLLATE "C"`,
      ),

    async latest(deviceId) {
      // Per series, as storage/sqlite/query/tier-reader.ts newest(): the newest
      // fresh 1-minute row, unless a stale minute after it holds a raw reading,
      // which is then newer. One statement: one snapshot.
      const found = await rows<{
        metric: string;
        unit: string | null;
        deviceClass: string | null;
        fts: number | null;
        fv: number | null;
        rts: number | null;
        rv: number | null;
      }>(
        `SELECT s.metric, s.unit, s.device_class AS "deviceClass", fresh.ts AS fts, fresh.value AS fv, raw.ts AS rts, raw.value AS rv
           FROM series s
           LEFT JOIN LATERAL (
             SELECT r.bucket, r.last_ts AS ts, r.last_value AS value FROM rollups_1m r
               WHERE r.series_id = s.id AND NOT EXISTS (SELECT 1 FROM rollups_1m_stale m
                 WHERE m.bucket = r.bucket AND m.series_id = r.series_id)
               ORDER BY r.bucket DESC LIMIT 1) fresh ON true
           LEFT JOIN LATERAL (
             SELECT rd.ts, rd.value FROM rollups_1m_stale m
               CROSS JOIN LATERAL (SELECT ts, value FROM readings
                 WHERE series_id = s.id AND ts >= m.bucket AND ts < m.bucket + ${MINUTE_MS}
                 ORDER BY ts DESC LIMIT 1) rd
               WHERE m.series_id = s.id AND (fresh.bucket IS NULL OR m.bucket > fresh.bucket)
               ORDER BY m.bucket DESC LIMIT 1) raw ON true
          WHERE s.device_id = $1 ORDER BY s.metric COLLATE "C"`,
        [deviceId],
      );
      const out: LatestReading[] = [];
      for (const r of found) {
        if (r.rts !== null && r.rv !== null)
          out.push(withMeta({ metric: r.metric, ts: r.rts, value: r.rv }, r));
        else if (r.fts !== null && r.fv !== null)
          out.push(withMeta({ metric: r.metric, ts: r.fts, value: r.fv }, r));
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
      const { from, to } = alignToBuckets(query);
      const buckets = createSeriesBuckets(query.bucketMs, query.aggs);
      pacer?.reset();
      const devices = await snapshot(async (client) => {
        const [counted] = (
          await client.query<MatchedSeries>(
            `SELECT count(*)::integer AS n, min(unit) AS lo, max(unit) AS hi
               FROM series WHERE metric = $1 AND device_id LIKE $2 ESCAPE '\\'`,
            [query.metric, pattern],
          )
        ).rows;
        const range = { metric: query.metric, pattern, from, to };
        const tiers = createTierReader(client, pacer);
        if (tier === '1m') await tiers.minutes(range, buckets);
        else if (tier === '1h') await tiers.hours(range, buckets);
        else {
          const found = await client.query<[number, number]>({
            text: `SELECT r.ts, r.value FROM readings r JOIN series s ON s.id = r.series_id
                     WHERE r.ts >= $1 AND r.ts < $2 AND s.metric = $3 AND s.device_id LIKE $4 ESCAPE '\\'
                     ORDER BY r.ts, r.series_id`,
            values: [from, to, query.metric, pattern],
            rowMode: 'array',
          });
          for (const [ts, value] of found.rows) {
            buckets.addReading(ts, value);
            pacer?.tick();
          }
        }
        return counted ?? { n: 0, lo: null, hi: null };
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
