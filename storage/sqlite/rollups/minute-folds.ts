// Closing a minute from what the writer already saw. Every reading passes
// through the writer thread on its way into SQLite, so the writer folds the
// readings of the newest minutes into their rollup states and fleet windows
// as it stores them. The re-aggregation then writes those states instead of
// reading the minute back from raw: at 5000 devices × 3 metrics those two
// scans (one for the minutes, one for the fleet windows) read 900,000 rows a
// minute each and were about 80 % of its writer time (bench/refresh.ts).
//
// A fold stands in for raw only when it holds every raw reading of its
// minute. So a fold starts only for a minute that had no raw reading when
// this writer first stored into it (one index seek; after a restart, older
// minutes have readings and are read from raw, as before). What it cannot
// account for gives up the series or the minute, which is then read from raw:
// a multi-row insert that skipped some duplicates (it does not say which), a
// rolled-back batch, retention deleting raw readings, memory (old minutes).
import type { Database } from 'better-sqlite3';
import { addReading, emptyState, type RollupState } from '../../../core/rollup-state.js';
import { addToWindow, type SeriesWindow } from '../../fleet-rollup.js';
import { lastClosedMinute, MINUTE_MS, minuteOf } from '../../rollup-refresh.js';
import { SeriesIndex } from './series-index.js';

/** At most this many minutes are folded at once; a minute beyond it (a replay into an empty store) is read from raw. */
export const MAX_FOLDED_MINUTES = 12;
/**
 * A folded minute is dropped once it is this long before the newest closed
 * minute: 0 drops it when the next minute closes, a minute after its own
 * close. By then its rewrite and its two fleet windows are done, unless the
 * patient job deferred it (REFRESH_MAX_DEFER_MS), and it is then read from
 * raw. So is a late reading after that, with its minute. Each minute held
 * costs about 14 MB of writer heap at 15,000 series (a sketch per series), so
 * two are held most of the time.
 */
export const FOLD_KEEP_MS = 0;
/** Minutes known not to be foldable, remembered to save their seek; forgetting one only costs the seek again. */
const MAX_CLOSED = 10_000;

interface MinuteFold {
  /** false once dropped: what it holds may then include readings a rollback took back */
  held: boolean;
  states: SeriesIndex<RollupState>;
  /** series whose readings here the fold cannot vouch for */
  dirty: Set<number>;
  /**
   * Series with a reading on the minute's first ms, which belongs to the fleet
   * window ending there, not the next (storage/fleet-rollup.ts): that value,
   * and the series' other readings of the minute as a window. Rare; every
   * other series' window is its state's count, sum, min and max.
   */
  edges: Map<number, { value: number; inner: SeriesWindow | undefined }>;
}

export interface FoldedWindow {
  series: Iterator<[number, SeriesWindow]>;
  intact(): boolean;
}

/** What the re-aggregation may use of a folded minute. */
export interface FoldedMinute {
  /** per series: the state of every raw reading in the minute, unless the series is dirty */
  states: ReadonlyMap<number, RollupState>;
  /** series to read from raw */
  dirty: ReadonlySet<number>;
}

export interface MinuteFolds {
  /** In the batch's transaction, before its readings are inserted. */
  open(ts: ArrayLike<number>): void;
  /** The reading was stored (it was not a duplicate). */
  stored(seriesId: number, ts: number, value: number): void;
  /** The reading may or may not have been stored. */
  unsure(seriesId: number, ts: number): void;
  committed(): void;
  /** The batch's transaction rolled back: the minutes it stored in can no longer be vouched for. */
  rolledBack(): void;
  /** The minute's fold, if it holds every raw reading of the minute (but its dirty series). */
  minute(bucket: number): FoldedMinute | undefined;
  /**
   * The fleet window (end − 1 min, end], series by series, if every raw
   * reading in it was folded. Lazy, so that the refresher can take it in
   * slices: a series that takes a reading meanwhile carries a minute mark.
   * Until `intact()` turns false: a minute of it was dropped meanwhile (a
   * rollback may have left readings in it that raw does not hold), and the
   * window must be read from raw instead.
   */
  window(end: number): FoldedWindow | undefined;
  /** Drops minutes too old to keep (FOLD_KEEP_MS). */
  evict(now: number): void;
  /** Retention is deleting raw readings before `before`. */
  prunedBefore(before: number): void;
}

export function prepareMinuteFolds(db: Database): MinuteFolds {
  const anyIn = db.prepare('SELECT 1 FROM readings WHERE ts >= ? AND ts < ? LIMIT 1').pluck();
  const minutes = new Map<number, MinuteFold>();
  const closed = new Set<number>();
  // the folded minutes the open batch stores in
  const batchMinutes = new Set<number>();
  // a batch's readings mostly share a minute: the last one looked up
  let lastBucket = Number.NaN;
  let lastFold: MinuteFold | undefined;

  function close(bucket: number): void {
    const fold = minutes.get(bucket);
    if (fold !== undefined) fold.held = false;
    minutes.delete(bucket);
    lastBucket = Number.NaN;
    if (closed.size >= MAX_CLOSED) closed.clear();
    closed.add(bucket);
  }

  return {
    open(ts) {
      let last = Number.NaN;
      for (let i = 0; i < ts.length; i++) {
        const bucket = minuteOf(ts[i]!);
        if (bucket === last) continue;
        last = bucket;
        if (minutes.has(bucket)) {
          batchMinutes.add(bucket);
          continue;
        }
        if (closed.has(bucket)) continue;
        if (minutes.size < MAX_FOLDED_MINUTES && anyIn.get(bucket, bucket + MINUTE_MS) === undefined) {
          minutes.set(bucket, { held: true, states: new SeriesIndex(), dirty: new Set(), edges: new Map() });
          batchMinutes.add(bucket);
        } else close(bucket);
      }
    },
    stored(seriesId, ts, value) {
      const bucket = minuteOf(ts);
      if (bucket !== lastBucket) {
        lastBucket = bucket;
        lastFold = minutes.get(bucket);
      }
      const fold = lastFold;
      // dirty is nearly always empty: its size spares a hashed lookup per reading.
      if (fold === undefined || (fold.dirty.size > 0 && fold.dirty.has(seriesId))) return;
      let state = fold.states.get(seriesId);
      if (state === undefined) {
        state = emptyState();
        fold.states.set(seriesId, state);
      }
      if (ts === bucket) {
        // The readings so far are all inner ones.
        const inner: SeriesWindow | undefined =
          state.count > 0 ? [state.count, state.sum, state.min, state.max] : undefined;
        fold.edges.set(seriesId, { value, inner });
      } else if (fold.edges.size > 0) {
        const edge = fold.edges.get(seriesId);
        if (edge !== undefined) edge.inner = addToWindow(edge.inner, value);
      }
      addReading(state, ts, value);
    },
    unsure(seriesId, ts) {
      const fold = minutes.get(minuteOf(ts));
      if (fold === undefined) return;
      fold.dirty.add(seriesId);
      fold.states.delete(seriesId);
      fold.edges.delete(seriesId);
    },
    committed() {
      batchMinutes.clear();
    },
    rolledBack() {
      for (const bucket of batchMinutes) close(bucket);
      batchMinutes.clear();
    },
    minute(bucket) {
      const fold = minutes.get(bucket);
      return fold && { states: fold.states.entries, dirty: fold.dirty };
    },
    window(end) {
      // Its readings are those of minute end − 1 min but the one at its start, and those at `end`.
      const before = minutes.get(end - MINUTE_MS);
      const at = minutes.get(end);
      if (before === undefined || at === undefined || before.dirty.size > 0 || at.dirty.size > 0)
        return undefined;
      return { series: windowOf(before, at), intact: () => before.held && at.held };
    },
    evict(now) {
      const oldest = minuteOf(lastClosedMinute(now)) - FOLD_KEEP_MS;
      for (const bucket of minutes.keys()) if (bucket < oldest) close(bucket);
    },
    prunedBefore(before) {
      for (const bucket of minutes.keys()) if (bucket < before) close(bucket);
    },
  };
}

function* windowOf(before: MinuteFold, at: MinuteFold): Generator<[number, SeriesWindow]> {
  for (const [seriesId, state] of before.states.entries) {
    const edge = before.edges.get(seriesId);
    let w: SeriesWindow | undefined =
      edge === undefined ? [state.count, state.sum, state.min, state.max] : edge.inner && [...edge.inner];
    const next = at.edges.get(seriesId);
    if (next !== undefined) w = addToWindow(w, next.value);
    if (w !== undefined) yield [seriesId, w];
  }
  for (const [seriesId, edge] of at.edges)
    if (!before.states.has(seriesId)) yield [seriesId, [1, edge.value, edge.value, edge.value]];
}
