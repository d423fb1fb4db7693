// One range function's state per (series, bucket), columnar: only the fields
// the function needs are kept (count and sum for avg_over_time), in typed
// arrays, so 5000 series × 1440 minutes is two 57 MB arrays, not 7 million
// objects. Merging follows bucket-aggregates.ts (Chan et al. for m2).

import { DDSketch } from '../../../core/ddsketch.js';
import { type MergeTarget, mergeStored, newBucket } from '../bucket-aggregates.js';
import type { RangeFunction } from './promql-plan.js';

/** A merged state: one window's, or a scratch copy of one cell's. */
export type CellState = MergeTarget;

export function emptyState(withSketch: boolean): CellState {
  return newBucket(withSketch);
}

/** Chan et al.'s merge of (count, sum, m2, …) into `into`, the series queries' own (bucket-aggregates.ts). */
export function mergeInto(
  into: CellState,
  count: number,
  sum: number,
  m2: number,
  min: number,
  max: number,
  lastTs: number,
  last: number,
): void {
  mergeStored(into, count, sum, m2, min, max, lastTs, last, undefined);
}

/** The value Prometheus' `fn_over_time` gives for a window; null when it holds no readings. */
export function windowValue(fn: RangeFunction, s: CellState, quantile: number | undefined): number | null {
  if (s.count === 0) return null;
  switch (fn) {
    case 'count':
      return s.count;
    case 'sum':
      return s.sum;
    case 'avg':
      return s.sum / s.count;
    case 'min':
      return s.min;
    case 'max':
      return s.max;
    case 'last':
      return s.last;
    // Prometheus' stddev_over_time is the population deviation (n, not n - 1).
    case 'stddev':
      return Math.sqrt(Math.max(0, s.m2) / s.count);
    case 'quantile': {
      const estimate = s.sketch?.quantile(quantile ?? 0.5) ?? null;
      // A sketch bin's midpoint may lie just outside the data: a quantile never does.
      return estimate === null ? null : Math.min(s.max, Math.max(s.min, estimate));
    }
  }
}

const NEEDS: Record<RangeFunction, { sum?: true; m2?: true; minMax?: true; last?: true; sketch?: true }> = {
  count: {},
  sum: { sum: true },
  avg: { sum: true },
  min: { minMax: true },
  max: { minMax: true },
  last: { last: true },
  stddev: { sum: true, m2: true },
  quantile: { minMax: true, sketch: true },
};

export function needsSketch(fn: RangeFunction): boolean {
  return NEEDS[fn].sketch === true;
}

/** `size` cells of one series, each (count, and what `fn` needs). */
export function createCells(fn: RangeFunction, size: number) {
  const need = NEEDS[fn];
  const count = new Float64Array(size);
  const sum = need.sum || need.m2 ? new Float64Array(size) : null;
  const m2 = need.m2 ? new Float64Array(size) : null;
  const min = need.minMax ? new Float64Array(size).fill(Number.POSITIVE_INFINITY) : null;
  const max = need.minMax ? new Float64Array(size).fill(Number.NEGATIVE_INFINITY) : null;
  const lastTs = need.last ? new Float64Array(size).fill(Number.NEGATIVE_INFINITY) : null;
  const last = need.last ? new Float64Array(size).fill(Number.NaN) : null;
  const sketches: (DDSketch | null)[] | null = need.sketch ? new Array(size).fill(null) : null;
  const scratch = emptyState(false);

  function read(i: number, into: CellState): void {
    into.count = count[i]!;
    into.sum = sum?.[i] ?? 0;
    into.m2 = m2?.[i] ?? 0;
    into.min = min?.[i] ?? Number.POSITIVE_INFINITY;
    into.max = max?.[i] ?? Number.NEGATIVE_INFINITY;
    into.lastTs = lastTs?.[i] ?? Number.NEGATIVE_INFINITY;
    into.last = last?.[i] ?? Number.NaN;
  }

  function write(i: number, from: CellState): void {
    count[i] = from.count;
    if (sum !== null) sum[i] = from.sum;
    if (m2 !== null) m2[i] = from.m2;
    if (min !== null) min[i] = from.min;
    if (max !== null) max[i] = from.max;
    if (lastTs !== null) lastTs[i] = from.lastTs;
    if (last !== null) last[i] = from.last;
  }

  function sketchAt(i: number): DDSketch | null {
    if (sketches === null) return null;
    let s = sketches[i];
    if (s === null || s === undefined) {
      s = new DDSketch();
      sketches[i] = s;
    }
    return s;
  }

  return {
    /** A stored rollup row as the tier readers give it: bucket, count, sum, m2, min, max, last_ts, last_value, sketch. */
    addStored(i: number, row: readonly unknown[]): void {
      const r = row as [number, number, number, number, number, number, number, number, Uint8Array?];
      read(i, scratch);
      mergeInto(scratch, r[1], r[2], r[3], r[4], r[5], r[6], r[7]);
      write(i, scratch);
      const sketch = r[8];
      if (sketch !== undefined && sketch !== null) sketchAt(i)?.mergeEncoded(sketch);
    },
    addReading(i: number, ts: number, value: number): void {
      read(i, scratch);
      mergeInto(scratch, 1, value, 0, value, value, ts, value);
      write(i, scratch);
      sketchAt(i)?.add(value);
    },
    /**
     * Takes one reading back out of cell i, where the state allows it:
     * count, sum and m2 (Welford's update reversed; exact but for rounding),
     * and min or max only when the reading was not the extreme. Returns false
     * when the cell must be rebuilt from its raw readings instead (sketches).
     */
    remove(i: number, value: number): boolean {
      read(i, scratch);
      if (scratch.count <= 1) {
        this.reset(i);
        return true;
      }
      if (
        sketches !== null ||
        (min !== null && value <= scratch.min) ||
        (max !== null && value >= scratch.max)
      )
        return false;
      const n = scratch.count - 1;
      const mean = scratch.sum / scratch.count;
      const sumLeft = scratch.sum - value;
      scratch.m2 -= (value - mean) * (value - sumLeft / n);
      scratch.count = n;
      scratch.sum = sumLeft;
      write(i, scratch);
      return true;
    },
    reset(i: number): void {
      write(i, emptyState(false));
      if (sketches !== null) sketches[i] = null;
    },
    /** Merges cells [from, to) into `into`. */
    mergeRange(from: number, to: number, into: CellState): void {
      for (let i = from; i < to; i++) {
        if (count[i] === 0) continue;
        read(i, scratch);
        mergeInto(
          into,
          scratch.count,
          scratch.sum,
          scratch.m2,
          scratch.min,
          scratch.max,
          scratch.lastTs,
          scratch.last,
        );
        const s = sketches?.[i];
        if (s !== null && s !== undefined) into.sketch?.merge(s);
      }
    },
  };
}

export type Cells = ReturnType<typeof createCells>;
