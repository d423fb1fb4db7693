// Windows the tiers do not tile, answered from the raw readings: each
// series' readings in (start − R, end], then for each step the readings in
// (t − R, t], two pointers over the sorted readings.

import { GatewayError } from '../../../core/errors.js';
import type { Selected } from './promql-aggregate.js';
import { emptyState, mergeInto, needsSketch, windowValue } from './promql-cells.js';
import type { PromEvaluation, PromSeries } from './promql-plan.js';
import type { PromSource } from './promql-source.js';

/** Raw readings one answer may read: about 24 bytes each while held. */
export const MAX_RAW_READINGS = 20_000_000;

export async function rawWindows(
  source: PromSource,
  selected: Selected[],
  ev: PromEvaluation,
): Promise<PromSeries[]> {
  const index = new Map(selected.map((s, i) => [s.id, i]));
  const readings = selected.map(() => ({ ts: [] as number[], values: [] as number[] }));
  let total = 0;
  await source.readings(
    selected.map((s) => s.id),
    ev.start - ev.plan.rangeMs,
    ev.end,
    (seriesId, ts, value) => {
      const r = readings[index.get(seriesId)!];
      if (r === undefined) return;
      if (++total > MAX_RAW_READINGS)
        throw new GatewayError('GW_ERR_PROMQL_TOO_LARGE', [
          `over ${MAX_RAW_READINGS} raw readings; use a start, step and range that are multiples of 1m so the rollups answer`,
        ]);
      r.ts.push(ts);
      r.values.push(value);
    },
  );
  return selected.map((s, i) => windows(s, sorted(readings[i]!), ev));
}

function sorted(r: { ts: number[]; values: number[] }): { ts: number[]; values: number[] } {
  const order = r.ts.map((_, i) => i).sort((a, b) => r.ts[a]! - r.ts[b]!);
  return { ts: order.map((i) => r.ts[i]!), values: order.map((i) => r.values[i]!) };
}

function windows(s: Selected, r: { ts: number[]; values: number[] }, ev: PromEvaluation): PromSeries {
  const out: PromSeries = { labels: s.labels, times: [], values: [] };
  const withSketch = needsSketch(ev.plan.fn);
  let lo = 0;
  let hi = 0;
  const steps = ev.start === ev.end ? 1 : Math.floor((ev.end - ev.start) / ev.step) + 1;
  for (let k = 0; k < steps; k++) {
    const t = ev.start + k * ev.step;
    while (hi < r.ts.length && r.ts[hi]! <= t) hi++;
    while (lo < hi && r.ts[lo]! <= t - ev.plan.rangeMs) lo++;
    const state = emptyState(withSketch);
    for (let i = lo; i < hi; i++) {
      const v = r.values[i]!;
      mergeInto(state, 1, v, 0, v, v, r.ts[i]!, v);
      state.sketch?.add(v);
    }
    const value = windowValue(ev.plan.fn, state, ev.plan.quantile);
    if (value !== null) {
      out.times.push(t);
      out.values.push(value);
    }
  }
  return out;
}
