// The re-aggregation on PostgreSQL (storage/rollup-refresh.ts): rewrites stale
// closed minutes from raw readings, then stale closed hours from their
// minutes, one small transaction per step. The same arithmetic in the same
// order as storage/sqlite/rollups/rollup-refresher.ts (readings by ts, minutes
// by bucket), so both backends store the same states. Safe with several
// gateways refreshing one store at once: refresh-locks.ts.
import type pg from 'pg';
import { addReading, emptyState, mergeState, type RollupState } from '../../../core/rollup-state.js';
import type { RefreshOutcome } from '../../port.js';
import {
  HOUR_MS,
  hourOf,
  lastClosedHour,
  lastClosedMinute,
  MINUTE_MS,
  minuteOf,
  rowOf,
  type StoredRollupRow,
  stateOf,
} from '../../rollup-refresh.js';
import { excludeBucket, shareHour } from './refresh-locks.js';

/** (series, minute) rows rewritten per transaction: their raw readings are read in one statement */
export const PG_REFRESH_MINUTE_ROWS = 256;
/** 1-hour rows rebuilt per transaction (each merges up to 60 minute rows) */
export const PG_REFRESH_HOUR_ROWS = 64;

type Table = 'rollups_1m' | 'rollups_1h';

/**
 * One step, inside the caller's READ COMMITTED transaction: part of the
 * oldest stale closed minute, or else of the oldest stale closed hour none of
 * whose minutes is stale. False when nothing closed at `now` was stale.
 */
export async function refreshStep(
  client: pg.ClientBase,
  now: number,
  outcome: RefreshOutcome,
): Promise<boolean> {
  return (await minuteStep(client, now, outcome)) || (await hourStep(client, now, outcome));
}

async function minuteStep(client: pg.ClientBase, now: number, outcome: RefreshOutcome): Promise<boolean> {
  const next = await client.query<{ bucket: number }>(
    'SELECT bucket FROM rollups_1m_stale WHERE bucket <= $1 ORDER BY bucket LIMIT 1',
    [minuteOf(lastClosedMinute(now))],
  );
  const bucket = next.rows[0]?.bucket;
  if (bucket === undefined) return false;
  // From here on, every batch that stored readings in this minute has committed.
  await excludeBucket(client, '1m', bucket);
  const series = await column(
    client,
    'SELECT series_id FROM rollups_1m_stale WHERE bucket = $1 ORDER BY series_id LIMIT $2',
    [bucket, PG_REFRESH_MINUTE_ROWS],
  );
  // Empty: another gateway rewrote them while this one waited.
  if (series.length === 0) return true;
  const readings = await client.query<[number, number, number]>({
    text: `SELECT series_id, ts, value FROM readings
             WHERE ts >= $1 AND ts < $2 AND series_id = ANY($3::integer[]) ORDER BY ts, series_id`,
    values: [bucket, bucket + MINUTE_MS, series],
    rowMode: 'array',
  });
  const states = new Map<number, RollupState>();
  for (const [seriesId, ts, value] of readings.rows) {
    let state = states.get(seriesId);
    if (state === undefined) {
      state = emptyState();
      states.set(seriesId, state);
    }
    addReading(state, ts, value);
  }
  await writeRows(client, 'rollups_1m', bucket, series, states);
  await client.query('DELETE FROM rollups_1m_stale WHERE bucket = $1 AND series_id = ANY($2::integer[])', [
    bucket,
    series,
  ]);
  const hour = hourOf(bucket);
  await shareHour(client, hour);
  await client.query(
    `INSERT INTO rollups_1h_stale (bucket, series_id)
       SELECT $1, s FROM unnest($2::integer[]) AS s ORDER BY s
     ON CONFLICT DO NOTHING`,
    [hour, series],
  );
  outcome.readings += readings.rows.length;
  outcome.minuteRows += series.length;
  return true;
}

/** An hour mark waits while a minute of its series in that hour is stale: the minute's rewrite comes first. */
const NO_STALE_MINUTE = `NOT EXISTS (SELECT 1 FROM rollups_1m_stale m WHERE m.series_id = h.series_id
                           AND m.bucket >= h.bucket AND m.bucket < h.bucket + ${HOUR_MS})`;

async function hourStep(client: pg.ClientBase, now: number, outcome: RefreshOutcome): Promise<boolean> {
  const next = await client.query<{ bucket: number }>(
    `SELECT h.bucket FROM rollups_1h_stale h WHERE h.bucket <= $1 AND ${NO_STALE_MINUTE}
       ORDER BY h.bucket LIMIT 1`,
    [hourOf(lastClosedHour(now))],
  );
  const hour = next.rows[0]?.bucket;
  if (hour === undefined) return false;
  await excludeBucket(client, '1h', hour);
  const series = await column(
    client,
    `SELECT h.series_id FROM rollups_1h_stale h WHERE h.bucket = $1 AND ${NO_STALE_MINUTE}
       ORDER BY h.series_id LIMIT $2`,
    [hour, PG_REFRESH_HOUR_ROWS],
  );
  if (series.length === 0) return true;
  const minutes = await client.query<[number, ...StoredRollupRow]>({
    text: `SELECT series_id, count, sum, m2, min, max, first_ts, first_value, last_ts, last_value, sketch
             FROM rollups_1m WHERE bucket >= $1 AND bucket < $2 AND series_id = ANY($3::integer[])
             ORDER BY series_id, bucket`,
    values: [hour, hour + HOUR_MS, series],
    rowMode: 'array',
  });
  const states = new Map<number, RollupState>();
  for (const [seriesId, ...row] of minutes.rows) {
    let state = states.get(seriesId);
    if (state === undefined) {
      state = emptyState();
      states.set(seriesId, state);
    }
    mergeState(state, stateOf(row));
  }
  await writeRows(client, 'rollups_1h', hour, series, states);
  await client.query('DELETE FROM rollups_1h_stale WHERE bucket = $1 AND series_id = ANY($2::integer[])', [
    hour,
    series,
  ]);
  outcome.hourRows += series.length;
  return true;
}

/** Writes each series' state into `bucket`, or deletes its row when it has none (raw gone, or never there). */
async function writeRows(
  client: pg.ClientBase,
  table: Table,
  bucket: number,
  series: readonly number[],
  states: ReadonlyMap<number, RollupState>,
): Promise<void> {
  const kept = series.filter((s) => (states.get(s)?.count ?? 0) > 0);
  const gone = series.filter((s) => (states.get(s)?.count ?? 0) === 0);
  if (gone.length > 0) {
    await client.query(`DELETE FROM ${table} WHERE bucket = $1 AND series_id = ANY($2::integer[])`, [
      bucket,
      gone,
    ]);
  }
  if (kept.length === 0) return;
  // Columns of rowOf, count … sketch, each as an array parameter.
  const columns: unknown[][] = Array.from({ length: 10 }, () => []);
  for (const s of kept) {
    const row = rowOf(states.get(s)!);
    for (let c = 0; c < 9; c++) columns[c]!.push(row[c]);
    columns[9]!.push(Buffer.from(row[9].buffer, row[9].byteOffset, row[9].byteLength));
  }
  await client.query(
    `INSERT INTO ${table} (series_id, bucket, count, sum, m2, min, max, first_ts, first_value,
       last_ts, last_value, sketch)
     SELECT sid, $2, c, s, m2, mn, mx, fts, fv, lts, lv, sk
       FROM unnest($1::integer[], $3::bigint[], $4::float8[], $5::float8[], $6::float8[], $7::float8[],
         $8::bigint[], $9::float8[], $10::bigint[], $11::float8[], $12::bytea[])
         AS u(sid, c, s, m2, mn, mx, fts, fv, lts, lv, sk)
       ORDER BY sid
     ON CONFLICT (series_id, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum,
       m2 = excluded.m2, min = excluded.min, max = excluded.max, first_ts = excluded.first_ts,
       first_value = excluded.first_value, last_ts = excluded.last_ts,
       last_value = excluded.last_value, sketch = excluded.sketch`,
    [kept, bucket, ...columns],
  );
}

async function column(client: pg.ClientBase, sql: string, values: unknown[]): Promise<number[]> {
  const { rows } = await client.query<[number]>({ text: sql, values, rowMode: 'array' });
  return rows.map((r) => r[0]);
}
