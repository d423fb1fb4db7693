// The re-aggregation job on the writer thread (storage/rollup-refresh.ts):
// rewrites stale closed minutes from raw readings, then stale closed hours
// from their minutes, in slices of a few milliseconds that ingest commits
// pass between. One minute at a time: its raw readings are read once, in key
// order, for every stale series of that minute together, unless the writer
// folded them as it stored them (minute-folds.ts): then only the series the
// fold cannot vouch for are read.
import { performance } from 'node:perf_hooks';
import type { Database } from 'better-sqlite3';
import { addReading, emptyState, mergeState, type RollupState } from '../../../core/rollup-state.js';
import type { RefreshOutcome } from '../../port.js';
import {
  emptyOutcome,
  HOUR_MS,
  hourOf,
  lastClosedHour,
  lastClosedMinute,
  MINUTE_MS,
  minuteOf,
  REFRESH_HOUR_ROWS,
  REFRESH_MAX_DEFER_MS,
  REFRESH_QUIET_MS,
  REFRESH_SCAN_ROWS,
  REFRESH_WRITE_ROWS,
  rowOf,
  type StoredRollupRow,
  stateOf,
} from '../../rollup-refresh.js';
import { type FleetRefresher, prepareFleetRefresher } from './fleet-refresher.js';
import type { FoldedMinute, MinuteFolds } from './minute-folds.js';
import type { StaleMarks } from './stale-marks.js';

/** One minute being rebuilt. */
interface MinuteJob {
  bucket: number;
  /** the series marked stale when the job began, in the order they are written */
  series: number[];
  stale: Set<number>;
  /** series that took readings in this minute since the job began: their marks stay */
  touched: Set<number>;
  states: Map<number, RollupState>;
  cursorTs: number;
  cursorSeries: number;
  scanned: boolean;
  written: number;
}

export interface RollupRefresher {
  /**
   * Works until `deadline` (performance.now()) or until nothing closed is
   * stale; true when work is left. With `patient`, the background job's way,
   * a minute still taking readings waits (REFRESH_QUIET_MS) while quiet ones
   * are rewritten.
   */
  step(deadline: number, now: number, patient?: boolean): boolean;
  /** Everything closed at `now`, at once. */
  runAll(now: number): RefreshOutcome;
  /** Retention is deleting raw readings before `before`: a minute there can no longer be rebuilt. */
  prunedBefore(before: number): void;
  /** Sums of the work done since the last call. */
  takeOutcome(): RefreshOutcome;
}

export function prepareRollupRefresher(
  db: Database,
  marks: StaleMarks,
  folds?: MinuteFolds,
): RollupRefresher {
  const nextMinute = db
    .prepare('SELECT bucket FROM rollups_1m_stale WHERE bucket <= ? ORDER BY bucket LIMIT 1')
    .pluck();
  const minuteAfter = db
    .prepare('SELECT bucket FROM rollups_1m_stale WHERE bucket > ? AND bucket <= ? ORDER BY bucket LIMIT 1')
    .pluck();
  const staleSeries = db.prepare('SELECT series_id FROM rollups_1m_stale WHERE bucket = ?').pluck();
  const scan = db
    .prepare(
      `SELECT ts, series_id, value FROM readings
         WHERE (ts, series_id) > (?, ?) AND ts < ? ORDER BY ts, series_id LIMIT ?`,
    )
    .raw(true);
  const upsertMinute = prepareUpsert(db, 'rollups_1m');
  const deleteMinute = db.prepare('DELETE FROM rollups_1m WHERE series_id = ? AND bucket = ?');
  const clearMinute = db.prepare('DELETE FROM rollups_1m_stale WHERE bucket = ? AND series_id = ?');
  const markHour = db.prepare('INSERT OR IGNORE INTO rollups_1h_stale (bucket, series_id) VALUES (?, ?)');
  const fleet: FleetRefresher = prepareFleetRefresher(db, folds);
  let job: MinuteJob | undefined;
  let outcome = emptyOutcome();
  const patience = createPatience(marks);

  function begin(now: number, patient: boolean): boolean {
    folds?.evict(now);
    const last = minuteOf(lastClosedMinute(now));
    let bucket = nextMinute.get(last) as number | undefined;
    // One index seek per minute passed over: the stale minutes are few, the marks many.
    while (patient && bucket !== undefined && patience.busy(bucket, now)) {
      bucket = minuteAfter.get(bucket, last) as number | undefined;
    }
    if (bucket === undefined) return false;
    patience.begun(bucket);
    const series = staleSeries.all(bucket) as number[];
    job = {
      bucket,
      series,
      stale: new Set(series),
      touched: marks.watch(bucket),
      states: new Map(),
      cursorTs: bucket,
      cursorSeries: -1,
      scanned: false,
      written: 0,
    };
    const folded = folds?.minute(bucket);
    if (folded !== undefined) takeFromFold(job, folded);
    return true;
  }

  function scanSome(j: MinuteJob): void {
    const rows = scan.all(j.cursorTs, j.cursorSeries, j.bucket + MINUTE_MS, REFRESH_SCAN_ROWS) as [
      number,
      number,
      number,
    ][];
    foldRows(j, rows);
    outcome.readings += rows.length;
  }

  const writeSome = db.transaction((j: MinuteJob): number[] => {
    const cleared: number[] = [];
    const markFleet = fleet.marker();
    const end = Math.min(j.series.length, j.written + REFRESH_WRITE_ROWS);
    const hour = hourOf(j.bucket);
    for (; j.written < end; j.written++) {
      const seriesId = j.series[j.written]!;
      // Readings came in while the minute was read: the mark stays, the next pass redoes it.
      if (j.touched.has(seriesId)) {
        outcome.left++;
        continue;
      }
      const state = j.states.get(seriesId);
      if (state === undefined) deleteMinute.run(seriesId, j.bucket);
      else upsertMinute.run(seriesId, j.bucket, ...rowOf(state));
      clearMinute.run(j.bucket, seriesId);
      markHour.run(hour, seriesId);
      markFleet(j.bucket, seriesId);
      cleared.push(seriesId);
      outcome.minuteRows++;
    }
    return cleared;
  });

  function writeMinuteSome(j: MinuteJob): void {
    const cleared = writeSome.immediate(j);
    for (const seriesId of cleared) marks.cleared(j.bucket, seriesId);
    if (j.written >= j.series.length) {
      marks.unwatch();
      job = undefined;
    }
  }

  const rebuildHours = prepareHourRebuild(db);

  function step(deadline: number, now: number, patient = false): boolean {
    do {
      if (fleet.busy()) {
        fleet.step(deadline, now);
        continue;
      }
      if (job === undefined && !begin(now, patient)) {
        const done = rebuildHours(now);
        outcome.hourRows += done;
        // The fleet windows last: each is read across every series, so once for all the minutes rewritten.
        return done > 0 || fleet.step(deadline, now);
      }
      const j = job!;
      if (!j.scanned) scanSome(j);
      else writeMinuteSome(j);
    } while (performance.now() < deadline);
    return true;
  }

  return {
    step,
    runAll(now) {
      const before = outcome;
      outcome = emptyOutcome();
      while (step(Number.POSITIVE_INFINITY, now)) {
        // Until nothing closed is stale.
      }
      const done = outcome;
      outcome = before;
      for (const key of Object.keys(done) as (keyof RefreshOutcome)[]) outcome[key] += done[key];
      return done;
    },
    prunedBefore(before) {
      marks.prunedBefore(before);
      folds?.prunedBefore(before);
      patience.prunedBefore(before);
      fleet.prunedBefore(before);
      if (job !== undefined && job.bucket < before) {
        marks.unwatch();
        job = undefined;
      }
    },
    takeOutcome() {
      const done = outcome;
      outcome = emptyOutcome();
      return done;
    },
  };
}

/** Takes the stale series' states from the writer's fold; only the series it cannot vouch for are left to scan. */
function takeFromFold(j: MinuteJob, folded: FoldedMinute): void {
  // The fold's states are live: a series that takes a reading from here on is `touched`, and not written.
  const unsure = new Set<number>();
  for (const seriesId of j.series) {
    if (folded.dirty.has(seriesId)) unsure.add(seriesId);
    else {
      const state = folded.states.get(seriesId);
      if (state !== undefined) j.states.set(seriesId, state);
    }
  }
  j.stale = unsure;
  j.scanned = unsure.size === 0;
}

/** Adds a scanned page of raw rows to the job's states (stale series only) and moves its cursor past them. */
function foldRows(j: MinuteJob, rows: [number, number, number][]): void {
  for (const [ts, seriesId, value] of rows) {
    if (!j.stale.has(seriesId)) continue;
    let state = j.states.get(seriesId);
    if (state === undefined) {
      state = emptyState();
      j.states.set(seriesId, state);
    }
    addReading(state, ts, value);
  }
  const last = rows[rows.length - 1];
  if (last !== undefined) {
    j.cursorTs = last[0];
    j.cursorSeries = last[1];
  }
  if (rows.length < REFRESH_SCAN_ROWS) j.scanned = true;
}

/** Which stale minutes the patient job leaves for later: those still taking readings, for a while. */
function createPatience(marks: StaleMarks) {
  // minute -> when the patient job first left it for later
  const deferredSince = new Map<number, number>();
  return {
    /** Still filling: rewriting it now would be redone, unless it has waited long enough already. */
    busy(bucket: number, now: number): boolean {
      const at = marks.lastStoredAt(bucket);
      if (at === undefined || now - at >= REFRESH_QUIET_MS) return false;
      const since = deferredSince.get(bucket);
      if (since === undefined) {
        deferredSince.set(bucket, now);
        return true;
      }
      return now - since < REFRESH_MAX_DEFER_MS;
    },
    begun(bucket: number): void {
      deferredSince.delete(bucket);
      // Readings stored from here on are the job's `touched`, and make the minute busy again.
      marks.forget(bucket);
    },
    prunedBefore(before: number): void {
      for (const bucket of deferredSince.keys()) if (bucket < before) deferredSince.delete(bucket);
    },
  };
}

/** Rebuilds stale closed hours from their 1-minute rows, a few per transaction; returns how many. */
function prepareHourRebuild(db: Database): (now: number) => number {
  const upsertHour = prepareUpsert(db, 'rollups_1h');
  const deleteHour = db.prepare('DELETE FROM rollups_1h WHERE series_id = ? AND bucket = ?');
  const nextHours = db
    .prepare('SELECT bucket, series_id FROM rollups_1h_stale WHERE bucket <= ? ORDER BY bucket LIMIT ?')
    .raw(true);
  const minuteStaleIn = db
    .prepare('SELECT 1 FROM rollups_1m_stale WHERE series_id = ? AND bucket >= ? AND bucket < ? LIMIT 1')
    .pluck();
  const minutesOfHour = db
    .prepare(
      `SELECT count, sum, m2, min, max, first_ts, first_value, last_ts, last_value, sketch
         FROM rollups_1m WHERE series_id = ? AND bucket >= ? AND bucket < ?`,
    )
    .raw(true);
  const clearHour = db.prepare('DELETE FROM rollups_1h_stale WHERE bucket = ? AND series_id = ?');
  const rebuild = db.transaction((now: number): number => {
    const hours = nextHours.all(hourOf(lastClosedHour(now)), REFRESH_HOUR_ROWS) as [number, number][];
    let done = 0;
    for (const [bucket, seriesId] of hours) {
      // A minute of it still waits: the hour follows once the minute is rewritten.
      if (minuteStaleIn.get(seriesId, bucket, bucket + HOUR_MS) !== undefined) continue;
      const state = emptyState();
      for (const row of minutesOfHour.all(seriesId, bucket, bucket + HOUR_MS) as StoredRollupRow[]) {
        mergeState(state, stateOf(row));
      }
      if (state.count === 0) deleteHour.run(seriesId, bucket);
      else upsertHour.run(seriesId, bucket, ...rowOf(state));
      clearHour.run(bucket, seriesId);
      done++;
    }
    return done;
  });
  return (now) => rebuild.immediate(now);
}

function prepareUpsert(db: Database, table: 'rollups_1m' | 'rollups_1h') {
  return db.prepare(
    `INSERT INTO ${table} (series_id, bucket, count, sum, m2, min, max, first_ts, first_value,
       last_ts, last_value, sketch) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (series_id, bucket) DO UPDATE SET count = excluded.count, sum = excluded.sum,
       m2 = excluded.m2, min = excluded.min, max = excluded.max, first_ts = excluded.first_ts,
       first_value = excluded.first_value, last_ts = excluded.last_ts,
       last_value = excluded.last_value, sketch = excluded.sketch`,
  );
}
