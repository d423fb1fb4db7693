// Start-up recovery of the rollups an unclean stop lost (port.ts
// StorageWriter.recoverRollups), in the writer thread, in one transaction.
//
// Only rollups are rebuilt. Anomalies are not: the detectors' EWMA state lived
// in memory and warms up again, and readings are not judged twice.
// A reading stored raw although it came too late for the analytics becomes
// part of its rebuilt minute: the minute then equals its raw readings.
import { performance } from 'node:perf_hooks';
import type { Database } from 'better-sqlite3';
import type { RollupRecovery, RollupRecoveryOptions } from '../../port.js';
import {
  type BucketState,
  hourOf,
  MinuteStates,
  mergeHours,
  rebuildStart,
  WATERMARK_KEY,
} from '../../rollup-rebuild.js';
import { fromStored, type StoredRow } from './apply-rollups.js';

export type RollupRecoverer = (options: RollupRecoveryOptions) => RollupRecovery;

type Table = 'rollups_1m' | 'rollups_1h';

export function prepareRollupRecovery(db: Database): RollupRecoverer {
  const readWatermark = db.prepare('SELECT value FROM gateway_state WHERE key = ?').pluck();
  // The primary key starts with ts: one seek.
  const newestTs = db.prepare('SELECT max(ts) FROM readings').pluck();
  // W is set, not raised: a graceful stop closes every open minute, even one
  // ahead of the clock (device clocks run up to --max-future-ms ahead), and a
  // W left there would put R after minutes this run may still lose.
  const setWatermark = db.prepare(
    `INSERT INTO gateway_state (key, value) VALUES (?, ?)
     ON CONFLICT (key) DO UPDATE SET value = excluded.value`,
  );
  const dropWatermark = db.prepare('DELETE FROM gateway_state WHERE key = ?');
  // The primary key (ts, series_id) hands them over in ts order, without a sort.
  const readingsFrom = db
    .prepare('SELECT series_id, ts, value FROM readings WHERE ts >= ? ORDER BY ts')
    .raw();
  const minuteKeysFrom = db.prepare('SELECT series_id, bucket FROM rollups_1m WHERE bucket >= ?').raw();
  const deleteMinutesFrom = db.prepare('DELETE FROM rollups_1m WHERE bucket >= ?');
  const minutesOfSeries = db.prepare(
    `SELECT bucket, count, sum, m2, min, max, first_ts AS firstTs, first_value AS first, last_ts AS lastTs,
       last_value AS last, sketch FROM rollups_1m WHERE series_id = ? AND bucket >= ? ORDER BY bucket`,
  );
  const deleteHoursOfSeries = db.prepare('DELETE FROM rollups_1h WHERE series_id = ? AND bucket >= ?');
  const insert = {
    rollups_1m: insertStatement(db, 'rollups_1m'),
    rollups_1h: insertStatement(db, 'rollups_1h'),
  };

  const write = (table: Table, rows: readonly BucketState[]): void => {
    const statement = insert[table];
    for (const { seriesId, bucket, state: s } of rows) {
      statement.run(
        seriesId,
        bucket,
        s.count,
        s.sum,
        s.m2,
        s.min,
        s.max,
        s.firstTs,
        s.first,
        s.lastTs,
        s.last,
        s.sketch.encode(),
      );
    }
  };

  const recover = db.transaction((options: RollupRecoveryOptions): Omit<RollupRecovery, 'ms'> => {
    const watermark = readWatermark.get(WATERMARK_KEY) as number | undefined;
    const outcome: Omit<RollupRecovery, 'ms'> = {
      from: null,
      readings: 0,
      minuteRows: 0,
      minuteRowsDeleted: 0,
      hourRows: 0,
    };
    // No watermark: a fresh database, or the last run had analytics off.
    const from =
      watermark === undefined ? null : rebuildStart(watermark, newestTs.get() as number | null, options);
    if (from !== null) {
      outcome.from = from;
      const states = new MinuteStates();
      // Read to the end before writing: better-sqlite3 runs nothing else on a connection mid-iteration.
      for (const [seriesId, ts, value] of readingsFrom.iterate(from) as IterableIterator<
        [number, number, number]
      >) {
        states.add(seriesId, ts, value);
        outcome.readings++;
      }
      const rebuilt = states.sorted();
      const rebuiltKeys = new Set(rebuilt.map((r) => `${r.seriesId}:${r.bucket}`));
      const touched = new Set(states.seriesIds());
      for (const [seriesId, bucket] of minuteKeysFrom.all(from) as Array<[number, number]>) {
        if (rebuiltKeys.has(`${seriesId}:${bucket}`)) continue;
        // Its raw readings are gone (retention): the row goes, as a rebuild from raw would have it.
        outcome.minuteRowsDeleted++;
        touched.add(seriesId);
      }
      deleteMinutesFrom.run(from);
      write('rollups_1m', rebuilt);
      outcome.minuteRows = rebuilt.length;

      // The hours holding rebuilt minutes, each a merge of its 1-minute rows in
      // bucket order (minutes before R as stored). Series untouched since R
      // keep their hour rows: no minute of theirs changed.
      const firstHour = hourOf(from);
      for (const seriesId of [...touched].sort((a, b) => a - b)) {
        const minutes = (
          minutesOfSeries.all(seriesId, firstHour) as Array<StoredRow & { bucket: number }>
        ).map((row) => ({
          seriesId,
          bucket: row.bucket,
          state: fromStored(row),
        }));
        const hours = mergeHours(minutes);
        deleteHoursOfSeries.run(seriesId, firstHour);
        write('rollups_1h', hours);
        outcome.hourRows += hours.length;
      }
    }
    if (options.closedBefore === null) dropWatermark.run(WATERMARK_KEY);
    else setWatermark.run(WATERMARK_KEY, options.closedBefore);
    return outcome;
  });

  return (options) => {
    const started = performance.now();
    const outcome = recover.immediate(options);
    return { ...outcome, ms: performance.now() - started };
  };
}

function insertStatement(db: Database, table: Table) {
  return db.prepare(
    `INSERT INTO ${table} (series_id, bucket, count, sum, m2, min, max, first_ts, first_value,
       last_ts, last_value, sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  );
}
