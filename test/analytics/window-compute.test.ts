import { describe, expect, it } from 'vitest';
import { DETECTOR_DEFAULTS } from '../../pipelines/analytics-workers/anomaly-detector.js';
import { computeWindows, type WindowResult } from '../../pipelines/analytics-workers/window-compute.js';
import { mulberry32 } from './random.js';

const T0 = Date.UTC(2025, 0, 1);

/** Gaussian noise (Box-Muller) from the seeded generator. */
const gaussian = (rand: () => number) =>
  Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

describe('computeWindows', () => {
  it('groups by series and minute whatever the input order', () => {
    const rows: Array<[number, number, number]> = [
      [2, T0 + 61_000, 5],
      [0, T0 + 2_000, 2],
      [2, T0 + 1_000, 4],
      [0, T0 + 1_000, 1],
      [0, T0 + 60_000, 3],
    ];
    const { states } = computeWindows({
      detect: false,
      series: Uint32Array.from(rows.map((r) => r[0])),
      ts: Float64Array.from(rows.map((r) => r[1])),
      value: Float64Array.from(rows.map((r) => r[2])),
      detector: new Float64Array(0),
      detectorOptions: DETECTOR_DEFAULTS,
    });
    expect(Array.from(states.series)).toEqual([0, 0, 2, 2]);
    expect(Array.from(states.bucket)).toEqual([T0, T0 + 60_000, T0, T0 + 60_000]);
    expect(Array.from(states.count)).toEqual([2, 1, 1, 1]);
    expect(Array.from(states.first)).toEqual([1, 3, 4, 5]);
    expect(Array.from(states.last)).toEqual([2, 3, 4, 5]);
  });

  it('finds injected spikes in noisy, drifting series with state carried from task to task', () => {
    const rand = mulberry32(42);
    const seriesCount = 50;
    const spikes = new Set<string>();
    let detector = new Float64Array(0);
    const found = new Set<string>();
    let falseAlarms = 0;
    for (let minute = 0; minute < 30; minute++) {
      const series: number[] = [];
      const ts: number[] = [];
      const value: number[] = [];
      for (let s = 0; s < seriesCount; s++) {
        for (let sec = 0; sec < 60; sec += 5) {
          const t = T0 + minute * 60_000 + sec * 1000;
          // A slow daily swing plus noise of 0.15, like the simulator's temperature.
          let v = 21 + s * 0.1 + Math.sin(t / 3_600_000) * 3 + 0.15 * gaussian(rand);
          if (minute > 3 && rand() < 0.01) {
            v += (rand() < 0.5 ? -1 : 1) * 15;
            spikes.add(`${s}:${t}`);
          }
          series.push(s);
          ts.push(t);
          value.push(v);
        }
      }
      const result: WindowResult = computeWindows({
        detect: true,
        series: Uint32Array.from(series),
        ts: Float64Array.from(ts),
        value: Float64Array.from(value),
        detector,
        detectorOptions: DETECTOR_DEFAULTS,
      });
      detector = result.detector as Float64Array<ArrayBuffer>;
      for (let i = 0; i < result.anomalies.series.length; i++) {
        const key = `${result.anomalies.series[i]}:${result.anomalies.ts[i]}`;
        if (spikes.has(key)) found.add(key);
        else falseAlarms++;
      }
    }
    expect(spikes.size).toBeGreaterThan(100);
    expect(found.size / spikes.size).toBeGreaterThan(0.97);
    expect(falseAlarms / (found.size + falseAlarms)).toBeLessThan(0.03);
  });
});
