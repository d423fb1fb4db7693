// Start-up recovery of the rollups an unclean stop lost (port.ts
// StorageWriter.recoverRollups), inside the caller's transaction; the same
// steps as storage/sqlite/rollups/recover-rollups.ts, so both backends store
// the same rows.
//
// Only rollups are rebuilt. Anomalies are not: the detectors' EWMA state lived
// in memory and warms up again, and readings are not judged twice.
// A reading stored raw although it came too late for the analytics becomes
// part of its rebuilt minute: the minute then equals its raw readings.
import type pg from 'pg';
import type { RollupRecovery, RollupRecoveryOptions } from '../port.js';
import {
  type BucketState,
  hourOf,
  MinuteStates,
  mergeHours,
  rebuildStart,
  WATERMARK_KEY,
} from '../rollup-rebuild.js';
import { fromStored, type StoredRow, stateArrays } from './apply-rollups.js';

/** readings per round trip: bounds the memory a long rebuild holds in pg's result rows */
const PAGE = 50_000;
/** rows per INSERT: a few MB of array parameters */
const INSERT_ROWS = 5_000;

type Table = 'rollups_1m' | 'rollups_1h';

/** Runs inside the caller's transaction. */
export async function recoverPgRollups(
  client: pg.ClientBase,
  options: RollupRecoveryOptions,
): Promise<Omit<RollupRecovery, 'ms'>> {
  // Gateways sharing the store and starting together take turns.
  await client.query('SELECT pg_advisory_xact_lock(7008, hashtext(current_schema()))');
  const outcome: Omit<RollupRecovery, 'ms'> = {
    from: null,
    readings: 0,
    minuteRows: 0,
    minuteRowsDeleted: 0,
    hourRows: 0,
  };
  const { rows: stored } = await client.query<{ value: number }>(
    'SELECT value FROM gateway_state WHERE key = $1',
    [WATERMARK_KEY],
  );
  const watermark = stored[0]?.value;
  // No watermark: a fresh database, or the last run had analytics off.
  const newest =
    watermark === undefined
      ? null
      : ((await client.query<{ ts: number | null }>('SELECT max(ts) AS ts FROM readings')).rows[0]?.ts ??
        null);
  const from = watermark === undefined ? null : rebuildStart(watermark, newest, options);
  if (from !== null) {
    outcome.from = from;
    const states = new MinuteStates();
    // Keyset pages over the primary key (ts, series_id): ts order, as the analytics add readings.
    let page = await client.query<{ series_id: number; ts: number; value: number }>(
      'SELECT series_id, ts, value FROM readings WHERE ts >= $1 ORDER BY ts, series_id LIMIT $2',
      [from, PAGE],
    );
    for (;;) {
      for (const r of page.rows) states.add(r.series_id, r.ts, r.value);
      outcome.readings += page.rows.length;
      const last = page.rows.at(-1);
      if (page.rows.length < PAGE || last === undefined) break;
      page = await client.query(
        `SELECT series_id, ts, value FROM readings WHERE (ts, series_id) > ($1, $2)
         ORDER BY ts, series_id LIMIT $3`,
        [last.ts, last.series_id, PAGE],
      );
    }
    const rebuilt = states.sorted();
    const rebuiltKeys = new Set(rebuilt.map((r) => `${r.seriesId}:${r.bucket}`));
    const touched = new Set(states.seriesIds());
    const { rows: deleted } = await client.query<{ series_id: number; bucket: number }>(
      'DELETE FROM rollups_1m WHERE bucket >= $1 RETURNING series_id, bucket',
      [from],
    );
    for (const { series_id, bucket } of deleted) {
      if (rebuiltKeys.has(`${series_id}:${bucket}`)) continue;
      // Its raw readings are gone (retention): the row goes, as a rebuild from raw would have it.
      outcome.minuteRowsDeleted++;
      touched.add(series_id);
    }
    await insertStates(client, 'rollups_1m', rebuilt);
    outcome.minuteRows = rebuilt.length;

    // The hours holding rebuilt minutes, each a merge of its 1-minute rows in
    // bucket order (minutes before R as stored). Series untouched since R
    // keep their hour rows: no minute of theirs changed.
    if (touched.size > 0) {
      const firstHour = hourOf(from);
      const series = [...touched].sort((a, b) => a - b);
      const { rows: minutes } = await client.query<StoredRow>(
        `SELECT * FROM rollups_1m WHERE bucket >= $1 AND series_id = ANY($2::integer[])
         ORDER BY series_id, bucket`,
        [firstHour, series],
      );
      const hours = mergeHours(
        minutes.map((row) => ({ seriesId: row.series_id, bucket: row.bucket, state: fromStored(row) })),
      );
      await client.query('DELETE FROM rollups_1h WHERE bucket >= $1 AND series_id = ANY($2::integer[])', [
        firstHour,
        series,
      ]);
      await insertStates(client, 'rollups_1h', hours);
      outcome.hourRows = hours.length;
    }
  }
  // W is set, not raised: a graceful stop closes every open minute, even one
  // ahead of the clock (device clocks run up to --max-future-ms ahead), and a
  // W left there would put R after minutes this run may still lose.
  if (options.closedBefore === null) {
    await client.query('DELETE FROM gateway_state WHERE key = $1', [WATERMARK_KEY]);
  } else {
    await client.query(
      `INSERT INTO gateway_state (key, value) VALUES ($1, $2)
       ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
      [WATERMARK_KEY, options.closedBefore],
    );
  }
  return outcome;
}

/** rows in (series, bucket) order, into a table where none of their keys exists any more */
async function insertStates(
  client: pg.ClientBase,
  table: Table,
  rows: readonly BucketState[],
): Promise<void> {
  for (let i = 0; i < rows.length; i += INSERT_ROWS) {
    const part = rows.slice(i, i + INSERT_ROWS);
    const states = part.map((r) => r.state);
    await client.query(
      `INSERT INTO ${table} (series_id, bucket, count, sum, m2, min, max, first_ts, first_value,
         last_ts, last_value, sketch)
       SELECT * FROM unnest($1::integer[], $2::bigint[], $3::bigint[], $4::float8[], $5::float8[],
         $6::float8[], $7::float8[], $8::bigint[], $9::float8[], $10::bigint[], $11::float8[], $12::bytea[])`,
      [part.map((r) => r.seriesId), part.map((r) => r.bucket), ...stateArrays(states)],
    );
  }
}
