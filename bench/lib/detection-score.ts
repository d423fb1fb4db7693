// Scores the gateway's anomaly detections against the simulator's injected
// spikes. A detection matches a spike only on the same device, metric and ts:
// the detector judges single readings, so a near miss is a miss.

export interface SeriesReading {
  deviceId: string;
  metric: string;
  /** epoch ms, the reading's ts as the device sent it */
  ts: number;
}

export interface InjectedSpike extends SeriesReading {
  /** whether the detector's warm-up for this series was over when the spike was sent */
  afterWarmup: boolean;
}

export interface DetectionScore {
  /** distinct injected spikes */
  injected: number;
  injectedAfterWarmup: number;
  /** distinct detections; a repeat of the same (device, metric, ts) counts once */
  detections: number;
  /** detections seen more than once, counted beyond the first */
  duplicateDetections: number;
  truePositives: number;
  truePositivesAfterWarmup: number;
  /** null when there was nothing to divide by */
  precision: number | null;
  recall: number | null;
  recallAfterWarmup: number | null;
  falsePositivesByMetric: Record<string, number>;
  missedByMetric: Record<string, number>;
  missedAfterWarmupByMetric: Record<string, number>;
}

const keyOf = (r: SeriesReading): string => JSON.stringify([r.deviceId, r.metric, r.ts]);

const ratio = (part: number, whole: number): number | null => (whole === 0 ? null : part / whole);

function bump(counts: Record<string, number>, metric: string): void {
  counts[metric] = (counts[metric] ?? 0) + 1;
}

export function scoreDetections(
  spikes: readonly InjectedSpike[],
  detections: readonly SeriesReading[],
): DetectionScore {
  const injected = new Map<string, InjectedSpike>();
  for (const s of spikes) {
    const key = keyOf(s);
    // Should the same reading be listed twice, one listing after warm-up settles it.
    const seen = injected.get(key);
    if (seen === undefined || (!seen.afterWarmup && s.afterWarmup)) injected.set(key, s);
  }
  const detected = new Map<string, SeriesReading>();
  let duplicateDetections = 0;
  for (const d of detections) {
    const key = keyOf(d);
    if (detected.has(key)) duplicateDetections++;
    else detected.set(key, d);
  }

  let truePositives = 0;
  let truePositivesAfterWarmup = 0;
  let injectedAfterWarmup = 0;
  const missedByMetric: Record<string, number> = {};
  const missedAfterWarmupByMetric: Record<string, number> = {};
  for (const [key, s] of injected) {
    if (s.afterWarmup) injectedAfterWarmup++;
    if (detected.has(key)) {
      truePositives++;
      if (s.afterWarmup) truePositivesAfterWarmup++;
    } else {
      bump(missedByMetric, s.metric);
      if (s.afterWarmup) bump(missedAfterWarmupByMetric, s.metric);
    }
  }
  const falsePositivesByMetric: Record<string, number> = {};
  for (const [key, d] of detected) if (!injected.has(key)) bump(falsePositivesByMetric, d.metric);

  return {
    injected: injected.size,
    injectedAfterWarmup,
    detections: detected.size,
    duplicateDetections,
    truePositives,
    truePositivesAfterWarmup,
    precision: ratio(truePositives, detected.size),
    recall: ratio(truePositives, injected.size),
    recallAfterWarmup: ratio(truePositivesAfterWarmup, injectedAfterWarmup),
    falsePositivesByMetric,
    missedByMetric,
    missedAfterWarmupByMetric,
  };
}
