// What a pool worker does with one task: the committed readings of one or
// more batches, in commit order. Each series' readings are fed to its
// detector in ts order, then its alert steps. Pure, so tests call it in-process.

import { type AlertTransition, LIFECYCLE_FIELDS, stepAlert } from './alert-lifecycle.js';
import { DETECTOR_FIELDS, type DetectorOptions, judge, newestTs, observe } from './anomaly-detector.js';

/** Numbers of state per series slot: the detector's, then the alert's. */
export const SLOT_FIELDS = DETECTOR_FIELDS + LIFECYCLE_FIELDS;

export interface ScoreOptions extends DetectorOptions {
  /** consecutive normal readings that clear a raised alert */
  clearAfter: number;
}

export interface ScoreTask {
  /** the series slot of each reading (pipelines/analytics/series-slots.ts) */
  slot: Uint32Array;
  ts: Float64Array;
  value: Float64Array;
  /** slots given to another series since the previous task: their state starts over */
  reset: Uint32Array;
  /** SLOT_FIELDS numbers per slot; moved to the worker and back */
  state: Float64Array;
  options: ScoreOptions;
}

/** One alert transition per row. `row` is the reading's index in the task. */
export interface AlertColumns {
  row: Uint32Array;
  slot: Uint32Array;
  ts: Float64Array;
  value: Float64Array;
  score: Float64Array;
  low: Float64Array;
  high: Float64Array;
  /** RAISED or CLEARED (alert-lifecycle.ts) */
  transition: Uint8Array;
}

export interface ScoreResult {
  alerts: AlertColumns;
  state: Float64Array;
  /** readings judged anomalous, whether or not they changed an alert */
  anomalous: number;
  /** readings older than their series' newest scored one: judged, not learnt from */
  late: number;
}

export function scoreReadings(task: ScoreTask): ScoreResult {
  const { slot, ts, value, options } = task;
  const state = ensureState(task.state, slot);
  for (const s of task.reset)
    if ((s + 1) * SLOT_FIELDS <= state.length) state.fill(0, s * SLOT_FIELDS, (s + 1) * SLOT_FIELDS);
  const alerts = new AlertBuilder();
  let anomalous = 0;
  let late = 0;
  for (const i of orderBySlotThenTs(slot, ts)) {
    const at = slot[i]! * SLOT_FIELDS;
    const t = ts[i]!;
    const v = value[i]!;
    const inOrder = t > newestTs(state, at);
    if (!inOrder) late++;
    const verdict = inOrder ? observe(state, at, t, v, options) : judge(state, at, v, options);
    if (verdict === null) continue;
    if (verdict.anomalous) anomalous++;
    const transition = stepAlert(state, at + DETECTOR_FIELDS, verdict, inOrder, options.clearAfter);
    if (transition !== null) alerts.push(i, slot[i]!, t, v, verdict, transition);
  }
  return { alerts: alerts.build(), state, anomalous, late };
}

class AlertBuilder {
  readonly #rows: number[] = [];
  readonly #numbers: number[][] = [[], [], [], [], [], []];
  readonly #transitions: number[] = [];

  push(
    row: number,
    slot: number,
    ts: number,
    value: number,
    verdict: { score: number; low: number; high: number },
    transition: AlertTransition,
  ): void {
    this.#rows.push(row);
    const columns = [slot, ts, value, verdict.score, verdict.low, verdict.high];
    for (let c = 0; c < columns.length; c++) this.#numbers[c]!.push(columns[c]!);
    this.#transitions.push(transition);
  }

  build(): AlertColumns {
    const [slot, ts, value, score, low, high] = this.#numbers as [number[], ...number[][]];
    return {
      row: Uint32Array.from(this.#rows),
      slot: Uint32Array.from(slot),
      ts: Float64Array.from(ts!),
      value: Float64Array.from(value!),
      score: Float64Array.from(score!),
      low: Float64Array.from(low!),
      high: Float64Array.from(high!),
      transition: Uint8Array.from(this.#transitions),
    };
  }
}

/**
 * Reading indexes grouped by slot (counting sort, O(n)), each slot's run in
 * ts order (usually already sorted: one device's batch is in order). Equal
 * ts keep their commit order.
 */
export function orderBySlotThenTs(slot: Uint32Array, ts: Float64Array): Uint32Array {
  const n = slot.length;
  let maxSlot = 0;
  for (let i = 0; i < n; i++) if (slot[i]! > maxSlot) maxSlot = slot[i]!;
  const starts = new Uint32Array(maxSlot + 2);
  for (let i = 0; i < n; i++) starts[slot[i]! + 1]!++;
  for (let s = 1; s < starts.length; s++) starts[s]! += starts[s - 1]!;
  const fill = starts.slice();
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[fill[slot[i]!]!++] = i;
  for (let s = 0; s <= maxSlot; s++) {
    const from = starts[s]!;
    const to = starts[s + 1]!;
    let sorted = true;
    for (let k = from + 1; k < to && sorted; k++) sorted = ts[order[k - 1]!]! <= ts[order[k]!]!;
    // TypedArray#sort is stable, so equal ts stay in commit order.
    if (!sorted) order.subarray(from, to).sort((a, b) => ts[a]! - ts[b]!);
  }
  return order;
}

/** Grows the state to cover every slot the task names (new slots start at zero). */
function ensureState(state: Float64Array, slot: Uint32Array): Float64Array {
  let maxSlot = -1;
  for (const s of slot) if (s > maxSlot) maxSlot = s;
  const needed = (maxSlot + 1) * SLOT_FIELDS;
  if (state.length >= needed) return state;
  // Doubling, so a growing fleet does not copy the state on every task.
  const grown = new Float64Array(Math.max(needed, state.length * 2));
  grown.set(state);
  return grown;
}
