// The PromQL evaluator's source on SQLite (storage/query/promql/): the tier
// reader for whole buckets, and the raw readings at bucket edges and where
// no tier tiles the windows. One read transaction per answer: one snapshot.
import type { Database } from 'better-sqlite3';
import { FLEET_COLUMNS } from '../../fleet-rollup.js';
import { checkDeviceGlob, MINUTE_MS } from '../../query/bucket-aggregates.js';
import { evaluatePromQL } from '../../query/promql/promql-evaluate.js';
import type {
  PromEvaluation,
  PromResult,
  PromSeriesLabels,
  PromSeriesRange,
} from '../../query/promql/promql-plan.js';
import { type PromSource, type StoredSeries, seriesRangeParams } from '../../query/promql/promql-source.js';
import type { Pacer } from '../../query/query-pacer.js';
import { statementCache } from './statement-cache.js';
import { createTierReader } from './tier-reader.js';

/** Past this many series, a time range is scanned once and filtered in JS rather than per series. */
const FEW_SERIES = 64;

export function createSqlitePromQL(db: Database, pacer?: Pacer) {
  const prepare = statementCache(db);
  const tiers = createTierReader(db);

  const source: PromSource = {
    seriesOf: (metric) =>
      prepare('SELECT id, device_id AS device, unit FROM series WHERE metric = ?').all(
        metric,
      ) as StoredSeries[],
    tier(tier, range, sink) {
      const r = {
        metric: range.metric,
        pattern: checkDeviceGlob(range.device),
        from: range.from,
        to: range.to,
      };
      if (tier === '1h') tiers.hours(r, sink, pacer);
      else tiers.minutes(r, sink, pacer);
    },
    readings(ids, after, upTo, each) {
      // The key is time first: a time range is read across every series either way.
      const few = ids.length <= FEW_SERIES;
      const rows = prepare(
        `SELECT series_id, ts, value FROM readings WHERE ts > ? AND ts <= ?
           ${few ? 'AND series_id IN (SELECT value FROM json_each(?))' : ''}`,
      )
        .raw(true)
        .iterate(...(few ? [after, upTo, JSON.stringify(ids)] : [after, upTo])) as IterableIterator<
        [number, number, number]
      >;
      const wanted = few ? null : new Set(ids);
      for (const [seriesId, ts, value] of rows) {
        if (wanted === null || wanted.has(seriesId)) each(seriesId, ts, value);
        pacer?.tick();
      }
    },
    readingsAt(ids, times, each) {
      // Few series: a point seek on the (ts, series_id) key each; many: every series at that ts, picked in JS.
      const few = ids.length <= FEW_SERIES;
      const wanted = new Set(ids);
      const at = prepare(
        `SELECT series_id, ts, value FROM readings WHERE ts = ?
           ${few ? 'AND series_id IN (SELECT value FROM json_each(?))' : ''}`,
      ).raw(true);
      const list = JSON.stringify(ids);
      for (const t of times) {
        const rows = (few ? at.iterate(t, list) : at.iterate(t)) as IterableIterator<
          [number, number, number]
        >;
        for (const [seriesId, ts, value] of rows) if (wanted.has(seriesId)) each(seriesId, ts, value);
        pacer?.tick();
      }
    },
    fleet(metric, from, to) {
      const rows = prepare(
        `SELECT window_end, ${FLEET_COLUMNS.join(', ')} FROM rollups_fleet_1m
           WHERE metric = ? AND window_end >= ? AND window_end <= ?`,
      )
        .raw(true)
        .all(metric, from, to) as number[][];
      const stale = new Set(
        prepare(
          `SELECT window_end FROM rollups_fleet_1m_stale
             WHERE window_end >= ? AND window_end <= ? AND metric = ?`,
        )
          .pluck()
          .all(from, to, metric) as number[],
      );
      // A stale minute's readings fall in the window it ends and in the next.
      const minutes = prepare(
        `SELECT DISTINCT st.bucket FROM rollups_1m_stale st JOIN series s ON s.id = st.series_id
           WHERE st.bucket >= ? AND st.bucket <= ? AND s.metric = ?`,
      )
        .pluck()
        .all(from - MINUTE_MS, to, metric) as number[];
      for (const m of minutes) stale.add(m).add(m + MINUTE_MS);
      pacer?.tick();
      return { rows, stale: [...stale] };
    },
  };

  return {
    async evaluate(ev: PromEvaluation, options: { perSeries?: boolean } = {}): Promise<PromResult> {
      pacer?.reset();
      // Manual BEGIN: the evaluator awaits its source, which better-sqlite3's transaction() does not allow.
      db.exec('BEGIN');
      try {
        return await evaluatePromQL(source, ev, options);
      } finally {
        db.exec('COMMIT');
      }
    },
    seriesLabels(range?: PromSeriesRange): PromSeriesLabels[] {
      if (range === undefined)
        return prepare(
          'SELECT device_id AS device, metric, unit FROM series ORDER BY metric, device_id',
        ).all() as PromSeriesLabels[];
      // One index seek per series and tier: a row or a stale mark of a minute
      // in the range, or an hour's row wholly before the oldest minute row.
      const horizon = prepare('SELECT min(bucket) FROM rollups_1m').pluck().get() as number | null;
      return prepare(
        `SELECT device_id AS device, metric, unit FROM series s
           WHERE EXISTS (SELECT 1 FROM rollups_1m r WHERE r.series_id = s.id AND r.bucket >= ? AND r.bucket <= ?)
             OR EXISTS (SELECT 1 FROM rollups_1m_stale m WHERE m.series_id = s.id AND m.bucket >= ? AND m.bucket <= ?)
             OR EXISTS (SELECT 1 FROM rollups_1h h WHERE h.series_id = s.id AND h.bucket >= ? AND h.bucket <= ? AND h.bucket <= ?)
           ORDER BY metric, device_id`,
      ).all(...seriesRangeParams(range, horizon)) as PromSeriesLabels[];
    },
  };
}
