// The PromQL evaluator's source on PostgreSQL (storage/query/promql/), as
// storage/sqlite/query/sqlite-promql.ts does on SQLite: the tier reader for
// whole buckets, raw readings at bucket edges and where no tier tiles the
// windows, every statement of one answer in one snapshot.
import type pg from 'pg';
import { evaluatePromQL } from '../../query/promql/promql-evaluate.js';
import type {
  PromEvaluation,
  PromResult,
  PromSeriesLabels,
  PromSeriesRange,
} from '../../query/promql/promql-plan.js';
import {
  type PromSource,
  type SeriesReading,
  type StoredSeries,
  seriesRangeParams,
} from '../../query/promql/promql-source.js';
import type { Pacer } from '../../query/query-pacer.js';
import { likePattern } from './postgres-queries.js';
import { type Connectable, readSnapshot } from './snapshot.js';
import { createTierReader } from './tier-reader.js';

function sourceOn(client: pg.ClientBase, pacer: Pacer | undefined): PromSource {
  const tiers = createTierReader(client, pacer);
  const each = async (text: string, values: unknown[], emit: SeriesReading) => {
    const { rows } = await client.query<[number, number, number]>({ text, values, rowMode: 'array' });
    for (const [seriesId, ts, value] of rows) {
      emit(seriesId, ts, value);
      pacer?.tick();
    }
  };
  return {
    async seriesOf(metric) {
      const { rows } = await client.query<StoredSeries>(
        'SELECT id, device_id AS device, unit FROM series WHERE metric = $1',
        [metric],
      );
      return rows;
    },
    tier(tier, range, sink) {
      const r = { metric: range.metric, pattern: likePattern(range.device), from: range.from, to: range.to };
      return tier === '1h' ? tiers.hours(r, sink) : tiers.minutes(r, sink);
    },
    readings: (ids, after, upTo, emit) =>
      each(
        `SELECT series_id, ts, value FROM readings
           WHERE series_id = ANY($1::int[]) AND ts > $2 AND ts <= $3 ORDER BY series_id, ts`,
        [ids, after, upTo],
        emit,
      ),
    readingsAt: (ids, times, emit) =>
      each(
        `SELECT series_id, ts, value FROM readings
           WHERE series_id = ANY($1::int[]) AND ts = ANY($2::bigint[]) ORDER BY ts, series_id`,
        [ids, times],
        emit,
      ),
  };
}

export function createPostgresPromQL(db: Connectable, pacer?: Pacer) {
  return {
    evaluate(ev: PromEvaluation): Promise<PromResult> {
      pacer?.reset();
      return readSnapshot(db, (client) => evaluatePromQL(sourceOn(client, pacer), ev));
    },
    async seriesLabels(range?: PromSeriesRange): Promise<PromSeriesLabels[]> {
      const order = 'ORDER BY metric COLLATE "C", device_id COLLATE "C"';
      if (range === undefined) {
        const { rows } = await db.query<PromSeriesLabels>(
          `SELECT device_id AS device, metric, unit FROM series ${order}`,
        );
        return rows;
      }
      // As on SQLite: a minute's row or stale mark in the range, or an hour's row wholly before the oldest minute row.
      return readSnapshot(db, async (client) => {
        const oldest = await client.query<{ b: string | null }>('SELECT min(bucket) AS b FROM rollups_1m');
        const b = oldest.rows[0]?.b;
        const { rows } = await client.query<PromSeriesLabels>(
          `SELECT device_id AS device, metric, unit FROM series s
             WHERE EXISTS (SELECT 1 FROM rollups_1m r WHERE r.series_id = s.id AND r.bucket >= $1 AND r.bucket <= $2)
               OR EXISTS (SELECT 1 FROM rollups_1m_stale m WHERE m.series_id = s.id AND m.bucket >= $3 AND m.bucket <= $4)
               OR EXISTS (SELECT 1 FROM rollups_1h h WHERE h.series_id = s.id AND h.bucket >= $5 AND h.bucket <= $6 AND h.bucket <= $7)
             ${order}`,
          seriesRangeParams(range, b == null ? null : Number(b)),
        );
        return rows;
      });
    },
  };
}
