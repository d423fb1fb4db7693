import { describe, expect, it } from 'vitest';
import { type InjectedSpike, scoreDetections } from '../../bench/lib/detection-score.js';

const spike = (deviceId: string, metric: string, ts: number, afterWarmup = true): InjectedSpike => ({
  deviceId,
  metric,
  ts,
  afterWarmup,
});
const hit = (deviceId: string, metric: string, ts: number) => ({ deviceId, metric, ts });

describe('scoreDetections', () => {
  it('counts matches on device, metric and ts, and the misses and false alarms by metric', () => {
    const score = scoreDetections(
      [
        spike('d1', 'temperature', 1000),
        spike('d1', 'humidity', 2000),
        spike('d2', 'temperature', 1000, false),
        spike('d2', 'pressure', 5000),
      ],
      [
        hit('d1', 'temperature', 1000),
        hit('d2', 'temperature', 1000),
        hit('d2', 'pressure', 5000),
        hit('d3', 'humidity', 7000),
      ],
    );
    expect(score).toEqual({
      injected: 4,
      injectedAfterWarmup: 3,
      detections: 4,
      duplicateDetections: 0,
      truePositives: 3,
      // the warm-up spike was caught, but counts for neither side of the after-warm-up recall
      truePositivesAfterWarmup: 2,
      precision: 3 / 4,
      recall: 3 / 4,
      recallAfterWarmup: 2 / 3,
      falsePositivesByMetric: { humidity: 1 },
      missedByMetric: { humidity: 1 },
      missedAfterWarmupByMetric: { humidity: 1 },
    });
  });

  it('does not count a detection on another metric, device or ts of the spike', () => {
    const score = scoreDetections(
      [spike('d1', 'temperature', 1000)],
      [hit('d1', 'humidity', 1000), hit('d2', 'temperature', 1000), hit('d1', 'temperature', 1001)],
    );
    expect(score.truePositives).toBe(0);
    expect(score.precision).toBe(0);
    expect(score.recall).toBe(0);
    expect(score.falsePositivesByMetric).toEqual({ humidity: 1, temperature: 2 });
    expect(score.missedByMetric).toEqual({ temperature: 1 });
  });

  it('leaves precision undefined without detections, and recall without spikes', () => {
    const none = scoreDetections([spike('d1', 'temperature', 1000, false)], []);
    expect(none.precision).toBeNull();
    expect(none.recall).toBe(0);
    expect(none.recallAfterWarmup).toBeNull();
    expect(none.missedByMetric).toEqual({ temperature: 1 });
    expect(none.missedAfterWarmupByMetric).toEqual({});

    const quiet = scoreDetections([], [hit('d1', 'temperature', 1000)]);
    expect(quiet.recall).toBeNull();
    expect(quiet.precision).toBe(0);
    expect(quiet.falsePositivesByMetric).toEqual({ temperature: 1 });
  });

  it('counts a repeated detection once, so it neither inflates nor deflates precision', () => {
    const score = scoreDetections(
      [spike('d1', 'temperature', 1000), spike('d1', 'temperature', 3000)],
      [hit('d1', 'temperature', 1000), hit('d1', 'temperature', 1000), hit('d1', 'temperature', 2000)],
    );
    expect(score.detections).toBe(2);
    expect(score.duplicateDetections).toBe(1);
    expect(score.truePositives).toBe(1);
    expect(score.precision).toBe(0.5);
    expect(score.recall).toBe(0.5);
    expect(score.falsePositivesByMetric).toEqual({ temperature: 1 });
  });

  it('counts a spike listed twice once, after warm-up if either listing is', () => {
    const score = scoreDetections(
      [spike('d1', 'temperature', 1000, false), spike('d1', 'temperature', 1000, true)],
      [hit('d1', 'temperature', 1000)],
    );
    expect(score.injected).toBe(1);
    expect(score.injectedAfterWarmup).toBe(1);
    expect(score.recall).toBe(1);
    expect(score.recallAfterWarmup).toBe(1);
  });
});
