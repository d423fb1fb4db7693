// The mergeable state of one rollup bucket, and the aggregates it answers.
// Mean and variance are kept as (count, sum, m2) and merged with Chan et al.'s
// pairwise formula, which stays accurate where a sum of squares would cancel
// (a pressure of 1013 ± 0.15 hPa). The same merge serves a late reading
// joining its minute, a minute joining its hour, and a fleet-wide bucket.

import { DDSketch } from './ddsketch.js';

export interface RollupState {
  count: number;
  sum: number;
  /** sum of squared deviations from the mean */
  m2: number;
  min: number;
  max: number;
  firstTs: number;
  first: number;
  lastTs: number;
  last: number;
  sketch: DDSketch;
}

export function emptyState(): RollupState {
  return {
    count: 0,
    sum: 0,
    m2: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    firstTs: Number.POSITIVE_INFINITY,
    first: Number.NaN,
    lastTs: Number.NEGATIVE_INFINITY,
    last: Number.NaN,
    sketch: new DDSketch(),
  };
}

/** Adds one reading (Welford's update). */
export function addReading(state: RollupState, ts: number, value: number): void {
  const n = state.count + 1;
  const delta = value - (state.count === 0 ? 0 : state.sum / state.count);
  state.sum += value;
  state.m2 += delta * (value - state.sum / n);
  state.count = n;
  if (value < state.min) state.min = value;
  if (value > state.max) state.max = value;
  if (ts < state.firstTs) {
    state.firstTs = ts;
    state.first = value;
  }
  if (ts >= state.lastTs) {
    state.lastTs = ts;
    state.last = value;
  }
  state.sketch.add(value);
}

/** Merges `other` into `into`. `other` is left as it was. */
export function mergeState(into: RollupState, other: RollupState): void {
  if (other.count === 0) return;
  if (into.count === 0) {
    Object.assign(into, other, { sketch: new DDSketch() });
    into.sketch.merge(other.sketch);
    return;
  }
  const n = into.count + other.count;
  const delta = other.sum / other.count - into.sum / into.count;
  into.m2 += other.m2 + (delta * delta * into.count * other.count) / n;
  into.sum += other.sum;
  into.count = n;
  into.min = Math.min(into.min, other.min);
  into.max = Math.max(into.max, other.max);
  if (other.firstTs < into.firstTs) {
    into.firstTs = other.firstTs;
    into.first = other.first;
  }
  if (other.lastTs >= into.lastTs) {
    into.lastTs = other.lastTs;
    into.last = other.last;
  }
  into.sketch.merge(other.sketch);
}

/** Sample standard deviation (n - 1), as SQL databases' stddev(); null below two readings. */
export function stddevOf(state: Pick<RollupState, 'count' | 'm2'>): number | null {
  return state.count < 2 ? null : Math.sqrt(Math.max(0, state.m2) / (state.count - 1));
}
