// A recursive-descent parser for the PromQL subset the stored tiers can
// answer exactly (docs/grafana.md lists it). Anything outside it is refused
// with GW_ERR_PROMQL_UNSUPPORTED naming the construct, never approximated.
// Grammar as in Prometheus' promql/parser (generated_parser.y), cut down:
//   expr     := agg | call | selector
//   agg      := AGG [by (labels)] ( expr ) [by (labels)]
//   call     := FN_over_time ( [number ,] selector [ duration ] )
//   selector := name [{ matchers }] | { matchers }   (a bare "string" in braces is the name, Prometheus 3)

import { durationMs, invalid, type Token, tokenize, unsupported } from './promql-lexer.js';
import {
  AGGREGATIONS,
  type Aggregation,
  type LabelMatcher,
  LOOKBACK_MS,
  type MatchOp,
  type PromPlan,
  RANGE_FUNCTIONS,
  type RangeFunction,
} from './promql-plan.js';

const KNOWN_AGGREGATIONS = ['stddev', 'stdvar', 'topk', 'bottomk', 'quantile', 'count_values', 'group'];
const MATCH_OPS: readonly string[] = ['=', '!=', '=~', '!~'];

interface Selector {
  metric: string;
  matchers: LabelMatcher[];
}

export function parsePromQL(input: string): PromPlan {
  if (input.trim() === '') throw invalid('empty query');
  const p = parser(tokenize(input));
  const plan = p.expr();
  p.expectEnd();
  return plan;
}

type Cursor = ReturnType<typeof cursor>;

function cursor(tokens: Token[]) {
  let i = 0;
  const peek = (k = 0): Token => tokens[Math.min(i + k, tokens.length - 1)]!;
  const next = (): Token => tokens[Math.min(i++, tokens.length - 1)]!;
  const isPunct = (text: string, k = 0) => peek(k).kind === 'punct' && peek(k).text === text;
  const expect = (text: string): void => {
    const t = next();
    if (t.text !== text || (t.kind !== 'punct' && t.kind !== 'op'))
      throw invalid(`expected "${text}" at position ${t.at}, found ${describe(t)}`);
  };
  return { peek, next, isPunct, expect };
}

function parser(tokens: Token[]) {
  const c = cursor(tokens);
  const { peek, next, isPunct, expect } = c;
  const { selectorBody, rangeOf, braces } = selectors(c);

  function expr(): PromPlan {
    const t = peek();
    if (t.kind === 'number' || t.kind === 'string')
      throw unsupported(`a bare ${t.kind === 'number' ? 'number' : 'string'} as an expression`);
    if (t.kind === 'op') throw unsupported(`unary operator ${t.text}`);
    if (isPunct('(')) throw unsupported('parenthesised sub-expressions');
    let plan: PromPlan;
    if (t.kind === 'ident' && isAggregationName(t.text)) plan = aggregation();
    else if (t.kind === 'ident' && isPunct('(', 1)) plan = call();
    else plan = instantSelector();
    return trailing(plan);
  }

  /** What may not follow a complete expression in the subset. */
  function trailing(plan: PromPlan): PromPlan {
    const t = peek();
    if (t.kind === 'op') throw unsupported(`binary operator ${t.text}`);
    if (t.kind === 'ident' && ['and', 'or', 'unless'].includes(t.text))
      throw unsupported(`set operator ${t.text}`);
    if (t.kind === 'ident' && t.text === 'offset') throw unsupported('offset modifiers');
    return plan;
  }

  function isAggregationName(name: string): boolean {
    return (AGGREGATIONS as readonly string[]).includes(name) || KNOWN_AGGREGATIONS.includes(name);
  }

  function aggregation(): PromPlan {
    const name = next();
    if (!(AGGREGATIONS as readonly string[]).includes(name.text))
      throw unsupported(`aggregation ${name.text} (supported: ${AGGREGATIONS.join(', ')})`);
    let by = grouping();
    expect('(');
    if (isPunct(')')) throw invalid(`${name.text}() needs an expression`);
    const inner = expr();
    if (isPunct(',')) throw unsupported(`a parameter to ${name.text}`);
    expect(')');
    const after = grouping();
    if (after !== undefined) {
      if (by !== undefined) throw invalid('grouping given twice');
      by = after;
    }
    if (inner.aggregation !== undefined) throw unsupported('an aggregation of an aggregation');
    return { ...inner, keepName: false, aggregation: { op: name.text as Aggregation, by: by ?? [] } };
  }

  function grouping(): string[] | undefined {
    const t = peek();
    if (t.kind !== 'ident' || (t.text !== 'by' && t.text !== 'without')) return undefined;
    next();
    if (t.text === 'without') throw unsupported('without (...); use by (device)');
    expect('(');
    const labels: string[] = [];
    while (!isPunct(')')) {
      const label = next();
      if (label.kind !== 'ident') throw invalid(`expected a label name at position ${label.at}`);
      if (label.text !== 'device')
        throw unsupported(`grouping by ${label.text}; only by (device) is supported`);
      labels.push(label.text);
      if (!isPunct(')')) expect(',');
    }
    expect(')');
    return labels;
  }

  function call(): PromPlan {
    const name = next().text;
    const fn = rangeFunction(name);
    expect('(');
    let quantile: number | undefined;
    if (fn === 'quantile') {
      const q = next();
      if (q.kind !== 'number') throw unsupported('quantile_over_time takes a number literal as φ');
      quantile = q.value as number;
      if (!(quantile >= 0 && quantile <= 1)) throw invalid(`quantile φ must lie in [0, 1], got ${q.text}`);
      expect(',');
    }
    const selector = selectorBody();
    const rangeMs = rangeOf(name);
    if (isPunct(',')) throw invalid(`${name} takes one range selector`);
    expect(')');
    return { ...selector, fn, rangeMs, keepName: false, ...(quantile === undefined ? {} : { quantile }) };
  }

  function instantSelector(): PromPlan {
    const selector = selectorBody();
    if (isPunct('[')) throw unsupported('a range vector as the result; wrap it in a *_over_time function');
    return { ...selector, fn: 'last', rangeMs: LOOKBACK_MS, keepName: true };
  }

  function expectEnd(): void {
    const t = peek();
    if (t.kind !== 'end') {
      trailing({} as PromPlan);
      throw invalid(`unexpected ${describe(t)} at position ${t.at}`);
    }
  }

  return { expr, expectEnd, braces, name: () => next().text };
}

/** Selectors, their matchers and range durations. */
function selectors(c: Cursor) {
  const { peek, next, isPunct, expect } = c;

  function rangeOf(name: string): number {
    if (!isPunct('[')) throw invalid(`${name} needs a range selector such as x[1m]`);
    next();
    const d = next();
    if (d.kind !== 'duration' && d.kind !== 'number')
      throw invalid(`expected a duration such as 1m at position ${d.at}`);
    const ms = d.kind === 'duration' ? durationMs(d.text) : (d.value as number) * 1000;
    if (isPunct(':') || peek().text.startsWith(':')) throw unsupported('subqueries');
    expect(']');
    if (!(ms > 0)) throw invalid('the range must be positive');
    if (peek().kind === 'ident' && peek().text === 'offset') throw unsupported('offset modifiers');
    if (peek().kind === 'op' && peek().text === '@') throw unsupported('the @ modifier');
    return ms;
  }

  function selectorBody(): Selector {
    let metric: string | undefined;
    const t = peek();
    if (t.kind === 'ident') {
      if (isPunct('(', 1)) throw unsupported(`function ${t.text} inside a function`);
      metric = next().text;
    } else if (!isPunct('{'))
      throw invalid(`expected a metric selector at position ${t.at}, found ${describe(t)}`);
    const matchers: LabelMatcher[] = isPunct('{') ? braces() : [];
    for (const m of matchers.filter((x) => x.label === '__name__')) {
      if (m.op !== '=') throw unsupported(`${m.op} on __name__; name one metric`);
      if (metric !== undefined && metric !== m.value) throw invalid('two metric names in one selector');
      metric = m.value;
    }
    if (metric === undefined) throw unsupported('a selector without a metric name');
    if (peek().kind === 'op' && peek().text === '@') throw unsupported('the @ modifier');
    return { metric, matchers: matchers.filter((m) => m.label !== '__name__') };
  }

  function braces(): LabelMatcher[] {
    expect('{');
    const matchers: LabelMatcher[] = [];
    while (!isPunct('}')) {
      matchers.push(matcher());
      if (!isPunct('}')) expect(',');
    }
    expect('}');
    return matchers;
  }

  function matcher(): LabelMatcher {
    const label = next();
    if (label.kind !== 'ident' && label.kind !== 'string')
      throw invalid(`expected a label name at position ${label.at}, found ${describe(label)}`);
    const name = label.kind === 'string' ? (label.value as string) : label.text;
    // Prometheus 3: a quoted name alone in the braces is the metric name.
    if (label.kind === 'string' && (isPunct(',') || isPunct('}')))
      return { label: '__name__', op: '=', value: name };
    const op = next();
    if (op.kind !== 'op' || !MATCH_OPS.includes(op.text))
      throw invalid(`expected =, !=, =~ or !~ after ${name} at position ${op.at}`);
    const value = next();
    if (value.kind !== 'string') throw invalid(`expected a quoted label value at position ${value.at}`);
    return { label: name, op: op.text as MatchOp, value: value.value as string };
  }

  return { selectorBody, rangeOf, braces };
}

function rangeFunction(name: string): RangeFunction {
  const m = /^([a-z]+)_over_time$/.exec(name);
  if (m !== null && (RANGE_FUNCTIONS as readonly string[]).includes(m[1]!)) return m[1] as RangeFunction;
  const supported = RANGE_FUNCTIONS.map((f) => `${f}_over_time`).join(', ');
  throw unsupported(`function ${name} (supported: ${supported})`);
}

function describe(t: Token): string {
  return t.kind === 'end' ? 'the end of the query' : JSON.stringify(t.text);
}

/**
 * A series selector of `match[]` (/api/v1/series, the label routes): every
 * matcher, __name__ included, with any operator; no metric name is needed
 * when some matcher does not match the empty string, as in Prometheus.
 */
export function parseSeriesSelector(input: string): LabelMatcher[] {
  const tokens = tokenize(input);
  const p = parser(tokens);
  const matchers: LabelMatcher[] = [];
  if (tokens[0]?.kind === 'ident') matchers.push({ label: '__name__', op: '=', value: p.name() });
  if (tokens[matchers.length]?.kind === 'punct' && tokens[matchers.length]!.text === '{')
    matchers.push(...p.braces());
  p.expectEnd();
  if (matchers.length === 0) throw invalid(`match[] ${JSON.stringify(input)} is not a series selector`);
  return matchers;
}
