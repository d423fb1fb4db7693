// Per-series anomaly detection: an EWMA z-score with warm-up and clipped
// (Huber) updates. The mean and variance follow diurnal swings and drift,
// while a spike moves them by at most CLIP standard deviations times ALPHA,
// so one outlier neither hides the next nor inflates the noise estimate.
// The state is a few numbers per series so it can travel with each task:
// the pool's workers keep nothing between tasks.

export const DETECTOR_FIELDS = 4; // n, mean, variance, newest ts
export const DETECTOR_DEFAULTS: DetectorOptions = {
  alpha: 0.05,
  warmup: 15,
  threshold: 6,
  clip: 3,
  smallSample: 10,
};

export interface DetectorOptions {
  alpha: number;
  /** readings before a series can raise an anomaly */
  warmup: number;
  /** |value - mean| / stddev above this is an anomaly (once the baseline is old) */
  threshold: number;
  /** residuals are clipped to this many stddevs before they update the state */
  clip: number;
  /**
   * A variance from a handful of readings is often far too small: the
   * threshold is raised by the factor (1 + smallSample / n) for a baseline of
   * n readings (×1.67 right after a warm-up of 15, ×1.1 after 100 readings).
   * Measured on the simulator's sensors, this removes the false alarms just
   * after warm-up at no cost in recall (docs/analytics.md).
   */
  smallSample: number;
}

export interface Verdict {
  anomalous: boolean;
  score: number;
  /** the range of values the baseline expected: mean ± the effective threshold in stddevs */
  low: number;
  high: number;
}

/** The newest ts this series' baseline has taken in; -Infinity when it has taken none. */
export function newestTs(state: Float64Array, at: number): number {
  return state[at]! > 0 ? state[at + 3]! : Number.NEGATIVE_INFINITY;
}

/**
 * Feeds one reading to the series whose state starts at `at`, in ts order
 * (the caller checks ts > newestTs). Returns its verdict against the
 * baseline before this reading, or null while the series warms up.
 */
export function observe(
  state: Float64Array,
  at: number,
  ts: number,
  value: number,
  options: DetectorOptions,
): Verdict | null {
  const n = state[at]!;
  state[at + 3] = ts;
  const mean = state[at + 1]!;
  const variance = state[at + 2]!;
  if (!isWarm(n, options)) {
    // Cumulative mean and variance until the EWMA has enough history (Welford).
    const next = n + 1;
    const delta = value - mean;
    const nextMean = mean + delta / next;
    state[at] = next;
    state[at + 1] = nextMean;
    state[at + 2] = n === 0 ? 0 : (variance * n + delta * (value - nextMean)) / next;
    return null;
  }
  const verdict = judge(state, at, value, options)!;
  const sd = deviation(mean, variance);
  const clipped = Math.max(-options.clip * sd, Math.min(options.clip * sd, value - mean));
  state[at] = n + 1;
  state[at + 1] = mean + options.alpha * clipped;
  state[at + 2] = (1 - options.alpha) * (variance + options.alpha * clipped * clipped);
  return verdict;
}

/**
 * The verdict on a value against the current baseline, leaving it as it is:
 * how a reading older than the series' newest is judged. Null while the
 * series warms up.
 */
export function judge(
  state: Float64Array,
  at: number,
  value: number,
  options: DetectorOptions,
): Verdict | null {
  const n = state[at]!;
  if (!isWarm(n, options)) return null;
  const mean = state[at + 1]!;
  const sd = deviation(mean, state[at + 2]!);
  const threshold = options.threshold * (1 + options.smallSample / n);
  const score = Math.abs(value - mean) / sd;
  return { anomalous: score > threshold, score, low: mean - threshold * sd, high: mean + threshold * sd };
}

/** Two readings at least: a variance needs them. */
function isWarm(n: number, options: DetectorOptions): boolean {
  return n >= Math.max(2, options.warmup);
}

/** A floor keeps a perfectly steady sensor from dividing by zero. */
function deviation(mean: number, variance: number): number {
  return Math.max(Math.sqrt(variance), 1e-4 * Math.abs(mean), 1e-9);
}
