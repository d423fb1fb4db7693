// Reads a rollup tier as storage/sqlite/query/tier-reader.ts does, in SQL:
// stored rows where they are fresh, the raw readings wherever the
// invalidation log (storage/rollup-refresh.ts) says a minute is stale. The
// caller runs every statement of one answer in one REPEATABLE READ
// transaction, so the rows, the marks and the readings are one snapshot: a
// minute rewritten meanwhile is counted once, from one side or the other.
import type pg from 'pg';
import type { Pacer } from '../../query/query-pacer.js';
import type { TierRange, TierSink } from '../../query/tier-range.js';
import { HOUR_MS, MINUTE_MS } from '../../rollup-refresh.js';

/** $1 metric, $2 pattern, $3 from, $4 to */
const SERIES = `SELECT id FROM series WHERE metric = $1 AND device_id LIKE $2 ESCAPE '\\'`;
const STALE_MINUTES = `SELECT bucket, series_id FROM rollups_1m_stale
  WHERE series_id IN (${SERIES}) AND bucket >= $3 AND bucket < $4`;
/** An hour is answered from its minutes while one of them is stale or its row awaits a rebuild. */
const STALE_HOURS = `SELECT bucket, series_id FROM rollups_1h_stale
    WHERE series_id IN (${SERIES}) AND bucket >= $3 AND bucket < $4
  UNION SELECT bucket - bucket % ${HOUR_MS}, series_id FROM (${STALE_MINUTES}) m`;
/** Anti-joins on the marks' keys: the log may be large (every raw minute right after the migration). */
const FRESH_MINUTE = `NOT EXISTS (SELECT 1 FROM rollups_1m_stale m
  WHERE m.bucket = r.bucket AND m.series_id = r.series_id)`;
const FRESH_HOUR = `NOT EXISTS (SELECT 1 FROM rollups_1h_stale h
    WHERE h.bucket = r.bucket AND h.series_id = r.series_id)
  AND NOT EXISTS (SELECT 1 FROM rollups_1m_stale m
    WHERE m.series_id = r.series_id AND m.bucket >= r.bucket AND m.bucket < r.bucket + ${HOUR_MS})`;

export function createTierReader(client: pg.ClientBase, pacer: Pacer | undefined) {
  const params = (range: TierRange) => [range.metric, range.pattern, range.from, range.to];

  /** Rows as arrays in addStoredRow's order (bucket, count, … last_value, sketch, series id), in a stable order. */
  async function storedRows(sql: string, range: TierRange, sink: TierSink): Promise<void> {
    const { rows } = await client.query<unknown[]>({ text: sql, values: params(range), rowMode: 'array' });
    for (const row of rows) {
      if (!sink.withSketch) row[8] = undefined;
      sink.addStoredRow(row);
      pacer?.tick();
    }
  }

  const columns = (sink: TierSink) =>
    `r.bucket, r.count, r.sum, r.m2, r.min, r.max, r.last_ts, r.last_value, ${sink.withSketch ? 'r.sketch' : 'NULL'}, r.series_id`;

  /** A tier's rows in the range that `fresh` says are not stale. */
  function freshRows(table: 'rollups_1m' | 'rollups_1h', fresh: string, range: TierRange, sink: TierSink) {
    return storedRows(
      `SELECT ${columns(sink)} FROM series s JOIN ${table} r ON r.series_id = s.id
         WHERE s.metric = $1 AND s.device_id LIKE $2 ESCAPE '\\' AND r.bucket >= $3 AND r.bucket < $4
           AND ${fresh}
         ORDER BY s.device_id COLLATE "C", r.bucket`,
      range,
      sink,
    );
  }

  /** The raw readings of each stale (minute, series) in the range. */
  async function staleReadings(range: TierRange, sink: TierSink): Promise<void> {
    const { rows } = await client.query<[number, number, number]>({
      text: `SELECT rd.ts, rd.value, rd.series_id FROM (${STALE_MINUTES}) m
               JOIN readings rd ON rd.series_id = m.series_id
                 AND rd.ts >= m.bucket AND rd.ts < m.bucket + ${MINUTE_MS}
             ORDER BY rd.ts, rd.series_id`,
      values: params(range),
      rowMode: 'array',
    });
    for (const [ts, value, seriesId] of rows) {
      sink.addReading(ts, value, seriesId);
      pacer?.tick();
    }
  }

  async function minutes(range: TierRange, sink: TierSink): Promise<void> {
    await freshRows('rollups_1m', FRESH_MINUTE, range, sink);
    await staleReadings(range, sink);
  }

  async function hours(range: TierRange, sink: TierSink): Promise<void> {
    await freshRows('rollups_1h', FRESH_HOUR, range, sink);
    // The fresh minutes of those hours, then the stale minutes' raw readings.
    await storedRows(
      `SELECT ${columns(sink)} FROM (${STALE_HOURS}) h
         JOIN series s ON s.id = h.series_id
         JOIN rollups_1m r ON r.series_id = h.series_id AND r.bucket >= h.bucket AND r.bucket < h.bucket + ${HOUR_MS}
         WHERE ${FRESH_MINUTE}
         ORDER BY s.device_id COLLATE "C", r.bucket`,
      range,
      sink,
    );
    await staleReadings(range, sink);
  }

  return { minutes, hours };
}
