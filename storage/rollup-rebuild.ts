// What both backends' rollup recovery (StorageWriter.recoverRollups in
// port.ts) compute in JS: where the rebuild starts, the 1-minute states of raw
// readings built as a pool worker builds them, and the 1-hour merges.
import { addReading, emptyState, mergeState, type RollupState } from '../core/rollup-state.js';
import type { RollupRecoveryOptions } from './port.js';

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** the key of the analytics watermark in the gateway_state table */
export const WATERMARK_KEY = 'analytics_watermark';

/**
 * R: the first minute whose rollups may lack readings that were only in
 * memory at the stop. Minutes before W were closed and committed, but
 * corrections for minutes up to latenessMs (plus the minute itself) before
 * W may still have sat in the late buffer.
 *
 * Two more lower bounds keep a stale W (all traffic late, a clock that jumped)
 * from reaching back further than a rebuild can be right:
 * - the newest stored reading: at the stop, memory held no reading older than
 *   (stop time − lateness − a minute), and the stop came after the newest
 *   reading's arrival, which was at most maxFutureMs before its ts;
 * - raw retention: minutes whose readings may be pruned are kept as stored,
 *   never rebuilt from what is left of them.
 * null: no reading stored, nothing to rebuild.
 */
export function rebuildStart(
  watermark: number,
  newestTs: number | null,
  options: Pick<RollupRecoveryOptions, 'latenessMs' | 'maxFutureMs' | 'rawKeptSince'>,
): number | null {
  if (newestTs === null) return null;
  const floorMinute = (t: number) => Math.floor(t / MINUTE_MS) * MINUTE_MS;
  let from = floorMinute(watermark - options.latenessMs - MINUTE_MS);
  from = Math.max(from, floorMinute(newestTs - options.maxFutureMs - options.latenessMs - 2 * MINUTE_MS));
  if (options.rawKeptSince !== null) from = Math.max(from, floorMinute(options.rawKeptSince) + MINUTE_MS);
  return from;
}

export function hourOf(bucket: number): number {
  return Math.floor(bucket / HOUR_MS) * HOUR_MS;
}

export interface BucketState {
  seriesId: number;
  bucket: number;
  state: RollupState;
}

/**
 * One state per (series, minute) of readings fed in ts order: emptyState,
 * then addReading per reading, as computeWindows does
 * (pipelines/analytics-workers/window-compute.ts). A rebuilt row is then the
 * row the analytics write for the same readings in one window.
 */
export class MinuteStates {
  readonly #bySeries = new Map<number, Map<number, RollupState>>();
  #rows = 0;

  add(seriesId: number, ts: number, value: number): void {
    let minutes = this.#bySeries.get(seriesId);
    if (minutes === undefined) {
      minutes = new Map();
      this.#bySeries.set(seriesId, minutes);
    }
    const bucket = Math.floor(ts / MINUTE_MS) * MINUTE_MS;
    let state = minutes.get(bucket);
    if (state === undefined) {
      state = emptyState();
      minutes.set(bucket, state);
      this.#rows++;
    }
    addReading(state, ts, value);
  }

  get rows(): number {
    return this.#rows;
  }

  seriesIds(): number[] {
    return [...this.#bySeries.keys()];
  }

  /** in (series, bucket) order: the order both backends write rows in */
  sorted(): BucketState[] {
    const out: BucketState[] = [];
    for (const seriesId of [...this.#bySeries.keys()].sort((a, b) => a - b)) {
      const minutes = this.#bySeries.get(seriesId)!;
      for (const bucket of [...minutes.keys()].sort((a, b) => a - b)) {
        out.push({ seriesId, bucket, state: minutes.get(bucket)! });
      }
    }
    return out;
  }
}

/** 1-hour states of 1-minute rows given in (series, bucket) order, merged in that order. */
export function mergeHours(minutes: Iterable<BucketState>): BucketState[] {
  const out: BucketState[] = [];
  let current: BucketState | undefined;
  for (const { seriesId, bucket, state } of minutes) {
    const hour = hourOf(bucket);
    if (current === undefined || current.seriesId !== seriesId || current.bucket !== hour) {
      current = { seriesId, bucket: hour, state: emptyState() };
      out.push(current);
    }
    mergeState(current.state, state);
  }
  return out;
}
