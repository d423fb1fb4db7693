// The fleet tier both sides share: per metric and per window (e − 1 min, e],
// the statistics across series of each series' window value, so that
// `avg(avg_over_time(x[1m]))` over a day of 5000 devices reads 1440 rows
// instead of 7.2 million. It is Prometheus' recording rule (or a TimescaleDB
// continuous aggregate over a GROUP BY of the series) kept exact: the writer
// rebuilds a window from raw readings once the re-aggregation has rewritten a
// minute it touches, and queries answer from raw any window a stale mark
// still touches (storage/query/promql/promql-fleet.ts).
//
// The windows are Prometheus' (t − R, t], not the tiers' [b, b + B): a
// reading at exactly e belongs to window e, so each reading is in one window
// and no edge needs correcting.

import { MINUTE_MS } from './rollup-refresh.js';

/** The range functions whose per-series window value the tier keeps statistics of. */
export const FLEET_FNS = ['avg', 'min', 'max', 'sum', 'count'] as const;
export type FleetFn = (typeof FLEET_FNS)[number];

/**
 * A window's row after its key: how many series had readings in it, then
 * for each function f the sum, min and max over series of f's window value.
 */
export const FLEET_COLUMNS = [
  'series',
  ...FLEET_FNS.flatMap((f) => [`${f}_sum`, `${f}_min`, `${f}_max`]),
] as const;

export type FleetStats = Float64Array;

export function newFleetStats(): FleetStats {
  const s = new Float64Array(FLEET_COLUMNS.length);
  for (let k = 0; k < FLEET_FNS.length; k++) {
    s[2 + 3 * k] = Number.POSITIVE_INFINITY;
    s[3 + 3 * k] = Number.NEGATIVE_INFINITY;
  }
  return s;
}

/** The window (e − 1 min, e] a reading at `ts` belongs to: e is ts rounded up to the minute. */
export function fleetWindowOf(ts: number): number {
  const r = ts % MINUTE_MS;
  return r === 0 ? ts : ts - r + MINUTE_MS;
}

/** One series' readings in a window, as (count, sum, min, max). */
export type SeriesWindow = [count: number, sum: number, min: number, max: number];

export function addToWindow(w: SeriesWindow | undefined, value: number): SeriesWindow {
  if (w === undefined) return [1, value, value, value];
  w[0]++;
  w[1] += value;
  if (value < w[2]) w[2] = value;
  if (value > w[3]) w[3] = value;
  return w;
}

/** Adds one series' window (count > 0) to the stats across series. */
export function addSeries(stats: FleetStats, w: SeriesWindow): void {
  const [count, sum, min, max] = w;
  stats[0]!++;
  for (let k = 0; k < FLEET_FNS.length; k++) {
    const v = seriesValue(FLEET_FNS[k]!, count, sum, min, max);
    stats[1 + 3 * k]! += v;
    if (v < stats[2 + 3 * k]!) stats[2 + 3 * k] = v;
    if (v > stats[3 + 3 * k]!) stats[3 + 3 * k] = v;
  }
}

function seriesValue(fn: FleetFn, count: number, sum: number, min: number, max: number): number {
  switch (fn) {
    case 'avg':
      return sum / count;
    case 'min':
      return min;
    case 'max':
      return max;
    case 'sum':
      return sum;
    case 'count':
      return count;
  }
}

/** The stats of many series' windows, as one fleet row. */
export function statsOf(windows: Iterable<SeriesWindow>): FleetStats {
  const stats = newFleetStats();
  for (const w of windows) addSeries(stats, w);
  return stats;
}

/** Where `op`'s answer over `fn`'s values lies in a row: its column index after the key. */
export function fleetColumn(op: 'avg' | 'min' | 'max' | 'sum' | 'count', fn: FleetFn): number {
  if (op === 'count') return 0;
  const k = FLEET_FNS.indexOf(fn);
  return op === 'min' ? 2 + 3 * k : op === 'max' ? 3 + 3 * k : 1 + 3 * k;
}
