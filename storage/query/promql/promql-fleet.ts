// Fleet-wide aggregations from the fleet tier (storage/fleet-rollup.ts):
// `op(fn_over_time(x[1m]))` without grouping, over every series of a metric,
// reads a row per minute instead of a (series, minute) cell each. The row of
// window (e − 1 min, e] holds, for each fn, the sum, min and max over series
// of that series' window value, and how many series had readings, which is
// all op needs: avg is the mean over series of each series' window value,
// as in Prometheus, not the mean of the readings. A window a stale mark
// touches (a late reading, the open minute, a row not yet rebuilt) is
// answered from its raw readings instead, so the answer equals what the raw
// readings give, as every tier's does.
//
// Over a range of k minutes only what the minutes combine into exactly is
// answered here: sum(sum_over_time), sum(count_over_time),
// min(min_over_time), max(max_over_time). Anything else goes per series.

import {
  addToWindow,
  FLEET_FNS,
  type FleetFn,
  fleetColumn,
  fleetWindowOf,
  type SeriesWindow,
  statsOf,
} from '../../fleet-rollup.js';
import { MINUTE_MS } from '../bucket-aggregates.js';
import type { Selected } from './promql-aggregate.js';
import type { PromEvaluation, PromPlan, PromSeries } from './promql-plan.js';
import type { PromSource } from './promql-source.js';

const OVER_MINUTES = new Set(['sum/sum', 'sum/count', 'min/min', 'max/max']);

/** Whether the fleet tier answers this plan, when its selector matches every series of the metric. */
export function fleetAnswers(plan: PromPlan): boolean {
  const agg = plan.aggregation;
  if (agg === undefined || agg.by.length > 0) return false;
  if (!(FLEET_FNS as readonly string[]).includes(plan.fn)) return false;
  if (plan.rangeMs === MINUTE_MS) return true;
  return plan.rangeMs % MINUTE_MS === 0 && OVER_MINUTES.has(`${agg.op}/${plan.fn}`);
}

/** `times`: the evaluation's steps, whole minutes. */
export async function fleetWindows(
  source: Required<Pick<PromSource, 'fleet'>> & PromSource,
  selected: Selected[],
  ev: PromEvaluation,
  times: number[],
): Promise<PromSeries[]> {
  const { plan } = ev;
  const from = times[0]! - plan.rangeMs + MINUTE_MS;
  const to = times[times.length - 1]!;
  const read = await source.fleet(plan.metric, from, to);
  const stale = new Set(read.stale);
  const windows = new Map<number, ArrayLike<number>>();
  for (const row of read.rows) if (!stale.has(row[0]!)) windows.set(row[0]!, row.slice(1));
  const wanted = [...stale].filter((e) => e >= from && e <= to).sort((a, b) => a - b);
  await fromRaw(source, selected, wanted, windows);

  const op = plan.aggregation!.op;
  const column = fleetColumn(op, plan.fn as FleetFn);
  const out: PromSeries = { labels: {}, times: [], values: [] };
  for (const t of times) {
    let v: number | undefined;
    for (let e = t - plan.rangeMs + MINUTE_MS; e <= t; e += MINUTE_MS) {
      const w = windows.get(e);
      if (w === undefined || w[0] === 0) continue;
      // One window: any op; several: only the combinations OVER_MINUTES allows.
      const x = op === 'avg' ? w[column]! / w[0]! : w[column]!;
      v = v === undefined ? x : op === 'min' ? Math.min(v, x) : op === 'max' ? Math.max(v, x) : v + x;
    }
    if (v !== undefined) {
      out.times.push(t);
      out.values.push(v);
    }
  }
  return out.times.length === 0 ? [] : [out];
}

/** The stats of each stale window from its raw readings, a run of consecutive windows per read. */
async function fromRaw(
  source: PromSource,
  selected: Selected[],
  stale: number[],
  windows: Map<number, ArrayLike<number>>,
): Promise<void> {
  const ids = selected.map((s) => s.id);
  for (let i = 0; i < stale.length; ) {
    let j = i;
    while (j + 1 < stale.length && stale[j + 1] === stale[j]! + MINUTE_MS) j++;
    const first = stale[i]!;
    const last = stale[j]!;
    const perWindow = new Map<number, Map<number, SeriesWindow>>();
    await source.readings(ids, first - MINUTE_MS, last, (seriesId, ts, value) => {
      const e = fleetWindowOf(ts);
      let series = perWindow.get(e);
      if (series === undefined) {
        series = new Map();
        perWindow.set(e, series);
      }
      series.set(seriesId, addToWindow(series.get(seriesId), value));
    });
    for (let e = first; e <= last; e += MINUTE_MS) windows.set(e, statsOf(perWindow.get(e)?.values() ?? []));
    i = j + 1;
  }
}
