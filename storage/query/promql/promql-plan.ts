// What a parsed PromQL expression of the supported subset asks for, and
// what a query evaluates it over. Pure data: it crosses to the query workers.

export type MatchOp = '=' | '!=' | '=~' | '!~';

export interface LabelMatcher {
  label: string;
  op: MatchOp;
  value: string;
}

export const RANGE_FUNCTIONS = ['avg', 'min', 'max', 'sum', 'count', 'last', 'stddev', 'quantile'] as const;
export type RangeFunction = (typeof RANGE_FUNCTIONS)[number];

export const AGGREGATIONS = ['avg', 'min', 'max', 'sum', 'count'] as const;
export type Aggregation = (typeof AGGREGATIONS)[number];

/** Prometheus' default lookback for a plain instant selector. */
export const LOOKBACK_MS = 300_000;

export interface PromPlan {
  metric: string;
  /** matchers on labels other than __name__ */
  matchers: LabelMatcher[];
  /** `fn_over_time`; a plain selector is `last` over the lookback */
  fn: RangeFunction;
  rangeMs: number;
  /** φ of quantile_over_time */
  quantile?: number;
  /** a plain selector keeps __name__; functions and aggregations drop it, as in Prometheus */
  keepName: boolean;
  aggregation?: { op: Aggregation; by: string[] };
}

/** Steps from `start` to `end` inclusive, `step` apart; epoch ms. An instant query is start = end. */
export interface PromEvaluation {
  plan: PromPlan;
  start: number;
  end: number;
  step: number;
}

export interface PromSeries {
  labels: Record<string, string>;
  /** step times (epoch ms) and values, in time order; steps without data are left out */
  times: number[];
  values: number[];
}

export interface PromResult {
  series: PromSeries[];
  /** which stored data answered: a rollup tier with its bucket, or the raw readings */
  tier: 'raw' | '1m' | '1h';
  /** answered from the fleet tier (promql-fleet.ts), a row per minute rather than per series */
  fleet?: boolean;
}

/**
 * Times of /api/v1/series and the label routes (epoch ms, inclusive): only
 * series with readings then, at the granularity of the tier that still holds
 * them (a minute, past the 1-minute tier's retention an hour).
 */
export interface PromSeriesRange {
  from: number;
  to: number;
}

/** A stored series as the label API sees it. */
export interface PromSeriesLabels {
  device: string;
  metric: string;
  unit?: string | null;
}
