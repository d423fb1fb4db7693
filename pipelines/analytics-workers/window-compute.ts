// What a pool worker does with one batch: group readings by series and
// minute, build each minute's mergeable state, and (for closed minutes)
// run anomaly detection in ts order. Pure, so tests call it in-process.

import { encodeStates, type StateColumns } from '../../core/rollup-columns.js';
import { addReading, emptyState, type RollupState } from '../../core/rollup-state.js';
import { DETECTOR_FIELDS, type DetectorOptions, observe } from './anomaly-detector.js';

export const MINUTE_MS = 60_000;

export interface WindowTask {
  /** true for closed minutes; late corrections are not judged again */
  detect: boolean;
  series: Uint32Array;
  ts: Float64Array;
  value: Float64Array;
  /** DETECTOR_FIELDS numbers per series id; moved to the worker and back */
  detector: Float64Array;
  detectorOptions: DetectorOptions;
}

export interface AnomalyColumns {
  series: Uint32Array;
  ts: Float64Array;
  value: Float64Array;
  score: Float64Array;
  low: Float64Array;
  high: Float64Array;
}

export interface WindowResult {
  states: StateColumns;
  anomalies: AnomalyColumns;
  detector: Float64Array;
}

export function computeWindows(task: WindowTask): WindowResult {
  const { series, ts, value } = task;
  const n = series.length;
  const order = orderBySeriesThenTs(series, ts);
  let detector = task.detector;
  if (task.detect) detector = ensureDetector(detector, series);

  const stateSeries: number[] = [];
  const stateBucket: number[] = [];
  const states: RollupState[] = [];
  const anomalies: number[][] = [[], [], [], [], [], []];
  let current: RollupState | undefined;
  let currentSeries = -1;
  let currentBucket = Number.NaN;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const s = series[i]!;
    const t = ts[i]!;
    const v = value[i]!;
    const bucket = Math.floor(t / MINUTE_MS) * MINUTE_MS;
    if (s !== currentSeries || bucket !== currentBucket) {
      current = emptyState();
      states.push(current);
      stateSeries.push(s);
      stateBucket.push(bucket);
      currentSeries = s;
      currentBucket = bucket;
    }
    addReading(current!, t, v);
    if (task.detect) {
      const verdict = observe(detector, s, t, v, task.detectorOptions);
      if (verdict !== null) {
        for (const [c, x] of [s, t, v, verdict.score, verdict.low, verdict.high].entries())
          anomalies[c]!.push(x);
      }
    }
  }
  return {
    states: encodeStates(stateSeries, stateBucket, states),
    anomalies: {
      series: Uint32Array.from(anomalies[0]!),
      ts: Float64Array.from(anomalies[1]!),
      value: Float64Array.from(anomalies[2]!),
      score: Float64Array.from(anomalies[3]!),
      low: Float64Array.from(anomalies[4]!),
      high: Float64Array.from(anomalies[5]!),
    },
    detector,
  };
}

/** Counting sort by series (O(n)), then each series' run by ts (usually already in order). */
function orderBySeriesThenTs(series: Uint32Array, ts: Float64Array): Uint32Array {
  const n = series.length;
  let maxSeries = 0;
  for (let i = 0; i < n; i++) if (series[i]! > maxSeries) maxSeries = series[i]!;
  const starts = new Uint32Array(maxSeries + 2);
  for (let i = 0; i < n; i++) starts[series[i]! + 1]!++;
  for (let s = 1; s < starts.length; s++) starts[s]! += starts[s - 1]!;
  const fill = starts.slice();
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[fill[series[i]!]!++] = i;
  for (let s = 0; s <= maxSeries; s++) {
    const from = starts[s]!;
    const to = starts[s + 1]!;
    let sorted = true;
    for (let k = from + 1; k < to && sorted; k++) sorted = ts[order[k - 1]!]! <= ts[order[k]!]!;
    if (!sorted) order.subarray(from, to).sort((a, b) => ts[a]! - ts[b]!);
  }
  return order;
}

function ensureDetector(detector: Float64Array, series: Uint32Array): Float64Array {
  let maxSeries = -1;
  for (const s of series) if (s > maxSeries) maxSeries = s;
  const needed = (maxSeries + 1) * DETECTOR_FIELDS;
  if (detector.length >= needed) return detector;
  const grown = new Float64Array(needed);
  grown.set(detector);
  return grown;
}
