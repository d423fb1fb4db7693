// Evaluates a PromQL plan over a backend's PromSource, in a query worker.
//
// A `fn_over_time(x[R])` value at step t covers (t − R, t] and is stamped t.
// The tiers hold [b, b + B) buckets. When start, step and R are multiples of
// B (1 h, else 1 min), every window is a union of whole "shifted" buckets
// (b, b + B], and each of those is its tier bucket minus the readings at
// exactly b plus the readings at exactly b + B. Both edges are read raw
// (one index seek per bucket edge). A reading on a cell's start edge is taken
// back out of the cell where its state allows (count, sum, m2; min and max
// when it was not the extreme); otherwise, as for sketches, the cell is
// rebuilt from its raw readings, one read per bucket for all such series. Anything else (a 15 s step, a 90 s range, an
// unaligned start) is answered from the raw readings. Either way the answer
// is exact: tiers are never used for a window they do not tile.

import { GatewayError } from '../../../core/errors.js';
import { HOUR_MS, MINUTE_MS } from '../bucket-aggregates.js';
import type { TierSink } from '../tier-range.js';
import { aggregateSeries, type Selected, selectSeries } from './promql-aggregate.js';
import { type CellState, createCells, emptyState, needsSketch, windowValue } from './promql-cells.js';
import { fleetAnswers, fleetWindows } from './promql-fleet.js';
import type { PromEvaluation, PromPlan, PromResult, PromSeries } from './promql-plan.js';
import { rawWindows } from './promql-raw.js';
import type { PromSource, StoredSeries } from './promql-source.js';

/** Prometheus' own cap on points per series. */
export const MAX_POINTS = 11_000;
/** (series × bucket) cells one tier answer may hold: ~16 bytes each for avg_over_time. */
export const MAX_CELLS = 20_000_000;

/**
 * `rawOnly`: a source without tiers (the anomaly records behind
 * gateway/http/prometheus/anomaly-series.ts). `perSeries`: never the fleet
 * tier (promql-fleet.ts), the path it is checked against.
 */
export async function evaluatePromQL(
  source: PromSource,
  ev: PromEvaluation,
  options: { rawOnly?: boolean; perSeries?: boolean } = {},
): Promise<PromResult> {
  checkSteps(ev);
  const stored = await source.seriesOf(ev.plan.metric);
  const selected = selectSeries(stored, ev.plan);
  const bucketMs = options.rawOnly === true ? 0 : tierBucket(ev);
  const tier = bucketMs === HOUR_MS ? '1h' : bucketMs === MINUTE_MS ? '1m' : 'raw';
  if (selected.length === 0) return { series: [], tier };
  const fleet = source.fleet;
  if (
    fleet !== undefined &&
    bucketMs !== 0 &&
    options.perSeries !== true &&
    selected.length === stored.length &&
    fleetAnswers(ev.plan)
  )
    return {
      series: await fleetWindows({ ...source, fleet }, selected, ev, stepTimes(ev)),
      tier,
      fleet: true,
    };
  const perSeries =
    bucketMs === 0
      ? await rawWindows(source, selected, ev)
      : await tierWindows(source, selected, ev, bucketMs);
  return { series: aggregateSeries(perSeries, ev.plan), tier };
}

function checkSteps(ev: PromEvaluation): void {
  if (!(ev.end >= ev.start))
    throw new GatewayError('GW_ERR_PROMQL_INVALID', ['end timestamp must not be before start time']);
  if (ev.start !== ev.end && !(ev.step > 0))
    throw new GatewayError('GW_ERR_PROMQL_INVALID', [
      'zero or negative query resolution step widths are not accepted',
    ]);
  const points = ev.start === ev.end ? 1 : Math.floor((ev.end - ev.start) / ev.step) + 1;
  if (points > MAX_POINTS)
    throw new GatewayError('GW_ERR_PROMQL_INVALID', [
      `exceeded maximum resolution of ${MAX_POINTS} points per timeseries. Try decreasing the query resolution (?step=XX)`,
    ]);
}

/** The coarsest tier whose buckets tile every window, or 0 for the raw readings. */
export function tierBucket(ev: PromEvaluation): number {
  const step = ev.start === ev.end ? 0 : ev.step;
  for (const b of [HOUR_MS, MINUTE_MS]) {
    if (ev.start % b === 0 && step % b === 0 && ev.plan.rangeMs % b === 0) return b;
  }
  return 0;
}

function stepTimes(ev: PromEvaluation): number[] {
  if (ev.start === ev.end) return [ev.start];
  const times: number[] = [];
  for (let t = ev.start; t <= ev.end; t += ev.step) times.push(t);
  return times;
}

async function tierWindows(
  source: PromSource,
  selected: Selected[],
  ev: PromEvaluation,
  bucketMs: number,
): Promise<PromSeries[]> {
  const first = ev.start - ev.plan.rangeMs;
  const size = (ev.end - first) / bucketMs;
  if (selected.length * size > MAX_CELLS) {
    throw new GatewayError('GW_ERR_PROMQL_TOO_LARGE', [
      `${selected.length} series × ${size} buckets of ${bucketMs / MINUTE_MS} min is over ${MAX_CELLS}; ` +
        'narrow the selector, shorten the range or use a step that is a multiple of 1h',
    ]);
  }
  const index = new Map(selected.map((s, i) => [s.id, i]));
  const cells = selected.map(() => createCells(ev.plan.fn, size));
  const cellOf = (seriesId: number, ts: number) => {
    const i = index.get(seriesId);
    const b = Math.floor((ts - first) / bucketMs);
    return i === undefined || b < 0 || b >= size ? undefined : { cells: cells[i]!, b };
  };
  const sink: TierSink = {
    withSketch: needsSketch(ev.plan.fn),
    addStoredRow(row) {
      const at = cellOf(row[9] as number, row[0] as number);
      at?.cells.addStored(at.b, row);
    },
    addReading(ts, value, seriesId?: number) {
      const at = cellOf(seriesId ?? -1, ts);
      at?.cells.addReading(at.b, ts, value);
    },
  };
  const device = selected.length === 1 ? selected[0]!.device : '*';
  await source.tier(
    bucketMs === HOUR_MS ? '1h' : '1m',
    { metric: ev.plan.metric, device, from: first, to: ev.end },
    sink,
  );
  await shiftEdges(source, selected, { first, size, bucketMs }, cells, index);
  return selected.map((s, i) => windowsOf(s, cells[i]!, ev, first, bucketMs));
}

/** Turns each [b, b + B) cell into (b, b + B]: see the header. */
async function shiftEdges(
  source: PromSource,
  selected: StoredSeries[],
  grid: { first: number; size: number; bucketMs: number },
  cells: ReturnType<typeof createCells>[],
  index: Map<number, number>,
): Promise<void> {
  const { first, size, bucketMs } = grid;
  const edges: number[] = [];
  for (let b = 0; b <= size; b++) edges.push(first + b * bucketMs);
  const onEdge: [number, number, number][] = [];
  await source.readingsAt(
    selected.map((s) => s.id),
    edges,
    (seriesId, ts, value) => onEdge.push([seriesId, ts, value]),
  );
  // Out of its own cell: taken back where the state allows, else the cell is rebuilt from raw, a bucket at a time.
  const rebuild = new Map<number, Set<number>>();
  for (const [seriesId, ts, value] of onEdge) {
    const b = (ts - first) / bucketMs;
    if (b >= size || cells[index.get(seriesId)!]!.remove(b, value)) continue;
    const ids = rebuild.get(b) ?? new Set<number>();
    rebuild.set(b, ids.add(seriesId));
  }
  for (const [b, ids] of rebuild) {
    for (const id of ids) cells[index.get(id)!]!.reset(b);
    const start = first + b * bucketMs;
    await source.readings([...ids], start, start + bucketMs - 1, (id, t, v) => {
      if (ids.has(id)) cells[index.get(id)!]!.addReading(b, t, v);
    });
  }
  // Into the cell before it, whose (b - B, b] it ends.
  for (const [seriesId, ts, value] of onEdge) {
    const b = (ts - first) / bucketMs - 1;
    if (b >= 0) cells[index.get(seriesId)!]!.addReading(b, ts, value);
  }
}

function windowsOf(
  s: Selected,
  cells: ReturnType<typeof createCells>,
  ev: PromEvaluation,
  first: number,
  bucketMs: number,
): PromSeries {
  const out: PromSeries = { labels: s.labels, times: [], values: [] };
  const span = ev.plan.rangeMs / bucketMs;
  const withSketch = needsSketch(ev.plan.fn);
  for (const t of stepTimes(ev)) {
    const to = (t - first) / bucketMs;
    const state: CellState = emptyState(withSketch);
    cells.mergeRange(to - span, to, state);
    const v = windowValue(ev.plan.fn, state, ev.plan.quantile);
    if (v !== null) {
      out.times.push(t);
      out.values.push(v);
    }
  }
  return out;
}

export type { PromPlan };
export { stepTimes };
