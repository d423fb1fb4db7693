import { describe, expect, it } from 'vitest';
import { CLEARED, DEFAULT_CLEAR_AFTER, RAISED } from '../../pipelines/analytics-workers/alert-lifecycle.js';
import { DETECTOR_DEFAULTS } from '../../pipelines/analytics-workers/anomaly-detector.js';
import {
  type ScoreOptions,
  type ScoreResult,
  SLOT_FIELDS,
  scoreReadings,
} from '../../pipelines/analytics-workers/score-readings.js';
import { mulberry32 } from './random.js';

const T0 = Date.UTC(2025, 0, 1);
const OPTIONS: ScoreOptions = { ...DETECTOR_DEFAULTS, clearAfter: DEFAULT_CLEAR_AFTER };

/** Gaussian noise (Box-Muller) from the seeded generator. */
const gaussian = (rand: () => number) =>
  Math.sqrt(-2 * Math.log(1 - rand())) * Math.cos(2 * Math.PI * rand());

type Row = [slot: number, ts: number, value: number];

/** Scores tasks one after another, carrying the state as the analytics do. */
function scorer(options: ScoreOptions = OPTIONS) {
  let state = new Float64Array(0);
  return {
    run(rows: Row[], reset: number[] = []): ScoreResult {
      const result = scoreReadings({
        slot: Uint32Array.from(rows.map((r) => r[0])),
        ts: Float64Array.from(rows.map((r) => r[1])),
        value: Float64Array.from(rows.map((r) => r[2])),
        reset: Uint32Array.from(reset),
        state,
        options,
      });
      state = result.state as Float64Array<ArrayBuffer>;
      return result;
    },
    get state() {
      return state;
    },
  };
}

const transitions = (r: ScoreResult) =>
  Array.from(r.alerts.row, (row, i) => ({
    row,
    slot: r.alerts.slot[i],
    ts: r.alerts.ts[i],
    value: r.alerts.value[i],
    transition: r.alerts.transition[i],
  }));

/** Readings around 21 with a little noise, one a second. */
function normal(slot: number, from: number, count: number, rand = mulberry32(slot + 1)): Row[] {
  return Array.from({ length: count }, (_, i) => [slot, T0 + (from + i) * 1000, 21 + 0.15 * gaussian(rand)]);
}

describe('scoreReadings', () => {
  it('raises an alert for one far-off reading after 60 normal ones in one batch (issue 12)', () => {
    const s = scorer();
    expect(transitions(s.run(normal(0, 0, 60)))).toEqual([]);
    const far = s.run([[0, T0 + 60_000, 36]]);
    expect(transitions(far)).toEqual([{ row: 0, slot: 0, ts: T0 + 60_000, value: 36, transition: RAISED }]);
    expect(far.anomalous).toBe(1);
    expect(far.alerts.score[0]).toBeGreaterThan(OPTIONS.threshold);
    expect(far.alerts.low[0]).toBeLessThan(21);
    expect(far.alerts.high[0]).toBeGreaterThan(21);
    expect(far.alerts.high[0]).toBeLessThan(36);
  });

  it('feeds each series in ts order whatever the order of the task, as one reading at a time would', () => {
    const rand = mulberry32(7);
    const rows: Row[] = [
      ...normal(0, 0, 40),
      ...normal(3, 0, 40),
      [0, T0 + 40_000, 60],
      [3, T0 + 35_500, -10],
    ];
    const shuffled = [...rows];
    for (let i = shuffled.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [shuffled[i], shuffled[j]] = [shuffled[j]!, shuffled[i]!];
    }
    const once = scorer().run(shuffled);
    const oneByOne = scorer();
    const sorted = [...rows].sort((a, b) => a[1] - b[1] || a[0] - b[0]);
    const alerts = sorted.flatMap((r) => transitions(oneByOne.run([r])).map((t) => ({ ...t, row: 0 })));
    expect(once.late).toBe(0);
    expect(transitions(once).map((t) => ({ ...t, row: 0 }))).toEqual(
      expect.arrayContaining(alerts.map((a) => expect.objectContaining(a))),
    );
    expect(transitions(once)).toHaveLength(2);
    // row names the reading's index in the task it came in.
    for (const t of transitions(once)) expect(shuffled[t.row]).toEqual([t.slot, t.ts, t.value]);
    const used = 4 * SLOT_FIELDS;
    expect(Array.from(once.state.subarray(0, used))).toEqual(Array.from(oneByOne.state.subarray(0, used)));
  });

  it('clears a raised alert after clearAfter normal readings in a row; an anomalous one starts the count over', () => {
    const s = scorer();
    s.run(normal(0, 0, 60));
    expect(transitions(s.run([[0, T0 + 60_000, 40]]))[0]!.transition).toBe(RAISED);
    // Still raised: a second anomalous reading neither raises again nor lets 4 normal ones clear.
    const again = s.run([...normal(0, 61, 4), [0, T0 + 65_000, 40], ...normal(0, 66, 4)]);
    expect(transitions(again)).toEqual([]);
    expect(again.anomalous).toBe(1);
    const cleared = s.run(normal(0, 70, 3));
    expect(transitions(cleared)).toEqual([
      { row: 0, slot: 0, ts: T0 + 70_000, value: expect.any(Number), transition: CLEARED },
    ]);
    // Cleared: the next anomalous reading raises a new alert.
    expect(transitions(s.run([[0, T0 + 80_000, 40]]))[0]!.transition).toBe(RAISED);
  });

  it('judges a late reading against the current baseline without learning from it', () => {
    const s = scorer();
    s.run(normal(0, 0, 60));
    const before = Array.from(s.state);
    const late = s.run([[0, T0 + 30_500, 21.1]]);
    expect(late.late).toBe(1);
    expect(transitions(late)).toEqual([]);
    expect(Array.from(s.state)).toEqual(before);

    // A far-off late reading raises an alert (the value was stored)...
    const farLate = s.run([[0, T0 + 30_700, 50]]);
    expect(transitions(farLate)).toEqual([
      { row: 0, slot: 0, ts: T0 + 30_700, value: 50, transition: RAISED },
    ]);
    // ...but late normal readings are outside the sequence and do not clear it: in-order ones do.
    expect(transitions(s.run(normal(0, 40, 10).map(([slot, ts, v]) => [slot, ts + 0.5, v])))).toEqual([]);
    const cleared = s.run(normal(0, 60, 5));
    expect(transitions(cleared).map((t) => t.transition)).toEqual([CLEARED]);
  });

  it('says nothing while a series warms up, then judges', () => {
    const s = scorer();
    const warm = s.run([...normal(0, 0, OPTIONS.warmup - 1), [0, T0 + 100_000, 500]]);
    expect(warm.anomalous).toBe(0);
    expect(transitions(warm)).toEqual([]);
  });

  it('starts the state of a reset slot over', () => {
    const s = scorer();
    s.run([...normal(0, 0, 60), ...normal(1, 0, 60)]);
    // Slot 1 now names another series: its first readings are warm-up, not anomalies against slot 1's old baseline.
    const reset = s.run([[1, T0 + 60_000, 500]], [1]);
    expect(transitions(reset)).toEqual([]);
    expect(Array.from(s.state.subarray(SLOT_FIELDS, 2 * SLOT_FIELDS))).toEqual([
      1,
      500,
      0,
      T0 + 60_000,
      0,
      0,
    ]);
    expect(transitions(s.run([[0, T0 + 60_000, 500]]))).toHaveLength(1);
  });

  it('finds injected spikes in noisy, drifting series with state carried from task to task', () => {
    const rand = mulberry32(42);
    const seriesCount = 50;
    const spikes = new Set<string>();
    const s = scorer();
    const found = new Set<string>();
    let falseAlarms = 0;
    for (let task = 0; task < 300; task++) {
      const rows: Row[] = [];
      for (let slot = 0; slot < seriesCount; slot++) {
        for (let sec = 0; sec < 10; sec += 2) {
          const t = T0 + task * 10_000 + sec * 1000;
          // A slow daily swing plus noise of 0.15, like the simulator's temperature.
          let v = 21 + slot * 0.1 + Math.sin(t / 3_600_000) * 3 + 0.15 * gaussian(rand);
          if (task > 10 && rand() < 0.005) {
            v += (rand() < 0.5 ? -1 : 1) * 15;
            spikes.add(`${slot}:${t}`);
          }
          rows.push([slot, t, v]);
        }
      }
      const result = s.run(rows);
      result.alerts.slot.forEach((slot, i) => {
        if (result.alerts.transition[i] !== RAISED) return;
        const key = `${slot}:${result.alerts.ts[i]}`;
        if (spikes.has(key)) found.add(key);
        else falseAlarms++;
      });
    }
    expect(spikes.size).toBeGreaterThan(300);
    // A spike within clearAfter readings of the previous one finds its alert still raised.
    expect(found.size / spikes.size).toBeGreaterThan(0.95);
    expect(falseAlarms).toBe(0);
  });
});
