// Per-series anomaly detection: an EWMA z-score with warm-up and clipped
// (Huber) updates. The mean and variance follow diurnal swings and drift,
// while a spike moves them by at most CLIP standard deviations times ALPHA,
// so one outlier neither hides the next nor inflates the noise estimate.
// The state is four numbers per series so it can travel with each task:
// the pool's workers keep nothing between tasks.

export const DETECTOR_FIELDS = 4; // n, mean, variance, last ts
export const DETECTOR_DEFAULTS = { alpha: 0.05, warmup: 30, threshold: 6, clip: 3 };

export interface DetectorOptions {
  alpha: number;
  /** readings before a series can raise an anomaly */
  warmup: number;
  /** |value - mean| / stddev above this is an anomaly */
  threshold: number;
  /** residuals are clipped to this many stddevs before they update the state */
  clip: number;
}

export interface Verdict {
  score: number;
  low: number;
  high: number;
}

/**
 * Feeds one reading of series `s` (in ts order) to the detector state.
 * Returns a verdict when the reading is anomalous, null otherwise.
 */
export function observe(
  state: Float64Array,
  s: number,
  ts: number,
  value: number,
  options: DetectorOptions,
): Verdict | null {
  const at = s * DETECTOR_FIELDS;
  const n = state[at]!;
  if (n > 0 && ts <= state[at + 3]!) return null; // out of order: it was judged with its own minute
  state[at + 3] = ts;
  const mean = state[at + 1]!;
  const variance = state[at + 2]!;
  if (n < options.warmup) {
    // Cumulative mean and variance until the EWMA has enough history (Welford).
    const next = n + 1;
    const delta = value - mean;
    const nextMean = mean + delta / next;
    state[at] = next;
    state[at + 1] = nextMean;
    state[at + 2] = n === 0 ? 0 : (variance * n + delta * (value - nextMean)) / next;
    return null;
  }
  // A floor keeps a perfectly steady sensor from dividing by zero.
  const sd = Math.max(Math.sqrt(variance), 1e-4 * Math.abs(mean), 1e-9);
  const residual = value - mean;
  const score = Math.abs(residual) / sd;
  const clipped = Math.max(-options.clip * sd, Math.min(options.clip * sd, residual));
  state[at] = n + 1;
  state[at + 1] = mean + options.alpha * clipped;
  state[at + 2] = (1 - options.alpha) * (variance + options.alpha * clipped * clipped);
  if (score <= options.threshold) return null;
  return { score, low: mean - options.threshold * sd, high: mean + options.threshold * sd };
}
