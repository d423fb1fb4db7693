import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import { parsePromQL, parseSeriesSelector } from '../../storage/query/promql/promql-parser.js';

function refusal(query: string): string {
  try {
    parsePromQL(query);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return (err as GatewayError).code;
  }
  throw new Error(`accepted: ${query}`);
}

describe('PromQL subset parser', () => {
  it('reads selectors, functions and aggregations', () => {
    expect(parsePromQL('temperature')).toEqual({
      metric: 'temperature',
      matchers: [],
      fn: 'last',
      rangeMs: 300_000,
      keepName: true,
    });
    expect(parsePromQL('avg_over_time(temperature{device="kitchen-pi", unit!~"K|F"}[1m])')).toEqual({
      metric: 'temperature',
      matchers: [
        { label: 'device', op: '=', value: 'kitchen-pi' },
        { label: 'unit', op: '!~', value: 'K|F' },
      ],
      fn: 'avg',
      rangeMs: 60_000,
      keepName: false,
    });
    expect(parsePromQL('quantile_over_time(0.95, temp[1h30m])')).toMatchObject({
      fn: 'quantile',
      quantile: 0.95,
      rangeMs: 5_400_000,
    });
    expect(parsePromQL('sum by (device) (count_over_time(temp{device=~"sim-.*"}[5m]))')).toMatchObject({
      fn: 'count',
      aggregation: { op: 'sum', by: ['device'] },
    });
    expect(parsePromQL('avg(max_over_time(temp[1m])) by (device)')).toMatchObject({
      aggregation: { op: 'avg', by: ['device'] },
    });
    expect(parsePromQL('min(temp)')).toMatchObject({
      fn: 'last',
      keepName: false,
      aggregation: { op: 'min', by: [] },
    });
  });

  it("reads Prometheus 3's quoted names", () => {
    expect(parsePromQL('{"BME280.Temperature", device="x"}')).toMatchObject({
      metric: 'BME280.Temperature',
      matchers: [{ label: 'device', op: '=', value: 'x' }],
    });
    expect(parsePromQL('last_over_time({__name__="BME280.Temperature"}[2m])')).toMatchObject({
      metric: 'BME280.Temperature',
    });
  });

  it('refuses what the subset does not answer, naming it', () => {
    for (const q of [
      'rate(temp[1m])',
      'temp + 1',
      'temp offset 5m',
      'temp @ 1700000000',
      'avg_over_time(temp[10m:1m])',
      'topk(3, temp)',
      'sum without (device) (temp)',
      'sum by (unit) (temp)',
      '{__name__=~"temp.*"}',
      '{device="x"}',
      'avg(sum(temp))',
      '42',
      'temp and temp',
      'temp[5m]',
    ]) {
      expect(refusal(q), q).toBe('GW_ERR_PROMQL_UNSUPPORTED');
    }
  });

  it('refuses malformed queries', () => {
    for (const q of [
      '',
      'temp{',
      'avg_over_time(temp)',
      'temp{device=x}',
      'quantile_over_time(2, t[1m])',
      '"a"',
    ]) {
      expect(['GW_ERR_PROMQL_INVALID', 'GW_ERR_PROMQL_UNSUPPORTED'], q).toContain(refusal(q));
    }
    expect(refusal('temp{')).toBe('GW_ERR_PROMQL_INVALID');
    expect(refusal('avg_over_time(temp)')).toBe('GW_ERR_PROMQL_INVALID');
  });

  it('reads match[] selectors, __name__ regexes included', () => {
    expect(parseSeriesSelector('temp')).toEqual([{ label: '__name__', op: '=', value: 'temp' }]);
    expect(parseSeriesSelector('{__name__=~"te.*", device!=""}')).toEqual([
      { label: '__name__', op: '=~', value: 'te.*' },
      { label: 'device', op: '!=', value: '' },
    ]);
  });
});
