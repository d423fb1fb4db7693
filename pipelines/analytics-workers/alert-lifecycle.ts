// An alert per series with hysteresis: raised by an anomalous reading,
// cleared after `clearAfter` consecutive normal readings in ts order, so a
// series that flaps around the threshold raises one alert, not one per
// reading. Two numbers per series, next to the detector's.

import type { Verdict } from './anomaly-detector.js';

export const LIFECYCLE_FIELDS = 2; // raised (0 | 1), normal readings in a row since the last anomalous one
export const DEFAULT_CLEAR_AFTER = 5;

export const RAISED = 0;
export const CLEARED = 1;
export type AlertTransition = typeof RAISED | typeof CLEARED;

/**
 * Steps the alert of the series whose lifecycle state starts at `at` with
 * one verdict. `inOrder` is false for a reading older than the series'
 * newest: it may raise an alert (a far-off value was stored) but, being
 * outside the sequence, it does not count towards clearing one.
 */
export function stepAlert(
  state: Float64Array,
  at: number,
  verdict: Verdict,
  inOrder: boolean,
  clearAfter: number,
): AlertTransition | null {
  const raised = state[at] === 1;
  if (verdict.anomalous) {
    if (inOrder) state[at + 1] = 0;
    if (raised) return null;
    state[at] = 1;
    state[at + 1] = 0;
    return RAISED;
  }
  if (!raised || !inOrder) return null;
  const normal = state[at + 1]! + 1;
  if (normal < clearAfter) {
    state[at + 1] = normal;
    return null;
  }
  state[at] = 0;
  state[at + 1] = 0;
  return CLEARED;
}
