// Label matching on the stored series, and the `avg/min/max/sum/count by
// (device)` aggregations over per-series step values.
//
// A stored series has the labels __name__ (the metric) and device, and unit
// where its payload format stated one (docs/sensors.md). A matcher on an
// absent label sees the empty string, as Prometheus does: {unit="°C"} does
// not match a series without a unit, {unit!="°C"} does.

import { GatewayError } from '../../../core/errors.js';
import type { LabelMatcher, PromPlan, PromSeries } from './promql-plan.js';
import type { StoredSeries } from './promql-source.js';

export interface Selected extends StoredSeries {
  labels: Record<string, string>;
}

export function selectSeries(stored: readonly StoredSeries[], plan: PromPlan): Selected[] {
  const tests = plan.matchers.map((m) => matcherTest(m, seriesLabel));
  return stored
    .filter((s) => tests.every((test) => test(s)))
    .sort((a, b) => (a.device < b.device ? -1 : a.device > b.device ? 1 : 0))
    .map((s) => ({
      ...s,
      labels: {
        ...(plan.keepName ? { __name__: plan.metric } : {}),
        device: s.device,
        ...(s.unit == null ? {} : { unit: s.unit }),
      },
    }));
}

/**
 * A matcher as a test on anything with labels; `label` reads one (absent: '').
 * Prometheus regexes are anchored at both ends (RE2); JavaScript's syntax agrees on the common subset.
 */
export function matcherTest<T>(m: LabelMatcher, label: (s: T, name: string) => string): (s: T) => boolean {
  if (m.op === '=') return (s) => label(s, m.label) === m.value;
  if (m.op === '!=') return (s) => label(s, m.label) !== m.value;
  let re: RegExp;
  try {
    re = new RegExp(`^(?:${m.value})$`, 'u');
  } catch (err) {
    throw new GatewayError(
      'GW_ERR_PROMQL_INVALID',
      [`invalid regular expression ${JSON.stringify(m.value)}`],
      {
        cause: err,
      },
    );
  }
  return m.op === '=~' ? (s) => re.test(label(s, m.label)) : (s) => !re.test(label(s, m.label));
}

/** A series' stored label other than __name__; absent: ''. The label routes read series the same way. */
export function seriesLabel(s: { device: string; unit?: string | null }, name: string): string {
  return name === 'device' ? s.device : name === 'unit' ? (s.unit ?? '') : '';
}

interface Group {
  labels: Record<string, string>;
  /** step time -> [accumulated value, series counted] */
  steps: Map<number, [number, number]>;
}

export function aggregateSeries(series: PromSeries[], plan: PromPlan): PromSeries[] {
  const kept = series.filter((s) => s.times.length > 0);
  const agg = plan.aggregation;
  if (agg === undefined) return kept;
  const groups = new Map<string, Group>();
  for (const s of kept) {
    const labels: Record<string, string> = {};
    for (const label of agg.by) if (s.labels[label] !== undefined) labels[label] = s.labels[label]!;
    const key = JSON.stringify(labels);
    let g = groups.get(key);
    if (g === undefined) {
      g = { labels, steps: new Map() };
      groups.set(key, g);
    }
    addToGroup(g, s, agg.op);
  }
  return [...groups.values()].map((g) => groupSeries(g, agg.op));
}

function addToGroup(g: Group, s: PromSeries, op: string): void {
  for (let i = 0; i < s.times.length; i++) {
    const t = s.times[i]!;
    const v = s.values[i]!;
    const acc = g.steps.get(t);
    if (acc === undefined) {
      g.steps.set(t, [op === 'count' ? 1 : v, 1]);
      continue;
    }
    acc[1]++;
    if (op === 'sum' || op === 'avg') acc[0] += v;
    else if (op === 'count') acc[0]++;
    else if (op === 'min' ? v < acc[0] : v > acc[0]) acc[0] = v;
  }
}

function groupSeries(g: Group, op: string): PromSeries {
  const out: PromSeries = { labels: g.labels, times: [], values: [] };
  for (const [t, [v, n]] of [...g.steps.entries()].sort((a, b) => a[0] - b[0])) {
    out.times.push(t);
    out.values.push(op === 'avg' ? v / n : v);
  }
  return out;
}
