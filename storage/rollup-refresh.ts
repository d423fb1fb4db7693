// The re-aggregation both backends run (storage/sqlite/rollups/,
// storage/postgres/): how the rollup tiers stay equal to the raw readings.
//
// TimescaleDB's continuous aggregates are the model: storing a reading marks
// its (series, minute) stale in the same transaction, so a crash cannot lose
// the mark; a job off the event loop rewrites stale minutes from raw, then
// their hours from their minutes; queries answer whatever is still stale from
// raw ("real-time aggregates"). A late reading, a resend, a kill -9: each
// leaves a mark, and nothing is ever merged into a row twice.
import { DDSketch } from '../core/ddsketch.js';
import type { RollupState } from '../core/rollup-state.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;

/**
 * A minute is rewritten once it ended this long ago. Short: queries are
 * right before it as after, and readings that arrive later only mark the
 * minute again. Not zero: the readings of the closing second are mostly in
 * flight still.
 */
export const REFRESH_GRACE_MS = 5_000;

/**
 * The background job leaves a closed minute that took readings this recently
 * for later, and rewrites the older quiet ones first: while a backlog or a
 * late device is still filling a minute, a rewrite would be redone at once
 * (its series keep their marks). Runs that rewrite everything (runAll) wait
 * for nothing.
 */
export const REFRESH_QUIET_MS = 2_000;
/** ...but a minute left for later this long is rewritten anyway, busy or not. */
export const REFRESH_MAX_DEFER_MS = 60_000;

/** Work of one slice, so that an ingest commit waits behind at most one. */
export const REFRESH_SLICE_MS = 4;
/** raw readings read per statement while rebuilding a minute */
export const REFRESH_SCAN_ROWS = 1_024;
/** 1-minute rows written per transaction (~20 µs each with the sketch and the marks) */
export const REFRESH_WRITE_ROWS = 64;
/** 1-hour rows rebuilt per transaction (each merges up to 60 minute rows) */
export const REFRESH_HOUR_ROWS = 8;
/** how often an idle writer looks for minutes that have closed */
export const REFRESH_POLL_MS = 1_000;

export function minuteOf(ts: number): number {
  return Math.floor(ts / MINUTE_MS) * MINUTE_MS;
}

export function hourOf(ts: number): number {
  return Math.floor(ts / HOUR_MS) * HOUR_MS;
}

/** The newest minute start that is closed at `now` (minutes starting at or before it may be rewritten). */
export function lastClosedMinute(now: number): number {
  return now - MINUTE_MS - REFRESH_GRACE_MS;
}

export function lastClosedHour(now: number): number {
  return now - HOUR_MS - REFRESH_GRACE_MS;
}

/** A rollup row's columns, in the order both backends store and select them. */
export type StoredRollupRow = [
  count: number,
  sum: number,
  m2: number,
  min: number,
  max: number,
  firstTs: number,
  first: number,
  lastTs: number,
  last: number,
  sketch: Uint8Array,
];

export function rowOf(state: RollupState): StoredRollupRow {
  return [
    state.count,
    state.sum,
    state.m2,
    state.min,
    state.max,
    state.firstTs,
    state.first,
    state.lastTs,
    state.last,
    state.sketch.encode(),
  ];
}

export function stateOf(row: StoredRollupRow): RollupState {
  const [count, sum, m2, min, max, firstTs, first, lastTs, last, sketch] = row;
  return { count, sum, m2, min, max, firstTs, first, lastTs, last, sketch: DDSketch.decode(sketch) };
}

export function emptyOutcome(): { minuteRows: number; hourRows: number; readings: number; left: number } {
  return { minuteRows: 0, hourRows: 0, readings: 0, left: 0 };
}
