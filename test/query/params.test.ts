import { describe, expect, it } from 'vitest';
import {
  BUCKETS,
  parseAnomalyParams,
  parseDeviceId,
  parseSeriesParams,
  QueryParamError,
} from '../../storage/query/params.js';

const NOW = Date.UTC(2025, 5, 1, 12, 0, 0);
const base = { device: 'dev-1', metric: 'temp' };

function refused(fn: () => unknown): QueryParamError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(QueryParamError);
    return err as QueryParamError;
  }
  throw new Error('expected a QueryParamError');
}

describe('parseSeriesParams', () => {
  it('applies the defaults: last hour, 1m buckets, count,min,max,avg', () => {
    expect(parseSeriesParams(base, { now: NOW })).toEqual({
      bucket: '1m',
      query: {
        device: 'dev-1',
        metric: 'temp',
        from: NOW - 3_600_000,
        to: NOW,
        bucketMs: 60_000,
        aggs: ['count', 'min', 'max', 'avg'],
      },
    });
  });

  it('reads relative, ISO 8601 and epoch times, every bucket and every aggregate', () => {
    for (const [name, ms] of Object.entries(BUCKETS)) {
      const { query } = parseSeriesParams(
        {
          ...base,
          device: 'sim-*',
          from: '2025-06-01T00:00:00Z',
          to: String(NOW),
          bucket: name,
          agg: 'count, min,max,avg,sum,stddev,p50,p95,p99,last,avg',
        },
        { now: NOW },
      );
      expect(query).toMatchObject({ device: 'sim-*', from: Date.UTC(2025, 5, 1), to: NOW, bucketMs: ms });
      expect(query.aggs).toEqual([
        'count',
        'min',
        'max',
        'avg',
        'sum',
        'stddev',
        'p50',
        'p95',
        'p99',
        'last',
      ]);
    }
    expect(parseSeriesParams({ ...base, from: '-15m', to: 'now' }, { now: NOW }).query).toMatchObject({
      from: NOW - 900_000,
      to: NOW,
    });
  });

  it.each([
    [{ metric: 'temp' }, 'GW_ERR_QUERY_PARAM_MISSING', 'device'],
    [{ device: 'dev-1' }, 'GW_ERR_QUERY_PARAM_MISSING', 'metric'],
    [{ ...base, device: '' }, 'GW_ERR_QUERY_PARAM_MISSING', 'device'],
    [{ ...base, device: 'dev/1' }, 'GW_ERR_QUERY_INVALID', 'device'],
    [{ ...base, device: 'x'.repeat(65) }, 'GW_ERR_QUERY_INVALID', 'device'],
    [{ ...base, metric: 'te*' }, 'GW_ERR_QUERY_INVALID', 'metric'],
    [{ ...base, from: 'yesterday' }, 'GW_ERR_QUERY_INVALID', 'from'],
    [{ ...base, to: '2025-02-30' }, 'GW_ERR_QUERY_INVALID', 'to'],
    [{ ...base, from: '-1h', to: '-2h' }, 'GW_ERR_QUERY_INVALID', 'to'],
    [{ ...base, from: 'now', to: 'now' }, 'GW_ERR_QUERY_INVALID', 'to'],
    [{ ...base, bucket: '2m' }, 'GW_ERR_QUERY_INVALID', 'bucket'],
    [{ ...base, bucket: '' }, 'GW_ERR_QUERY_INVALID', 'bucket'],
    [{ ...base, agg: 'avg,median' }, 'GW_ERR_QUERY_INVALID', 'agg'],
    [{ ...base, agg: 'avg,' }, 'GW_ERR_QUERY_INVALID', 'agg'],
    [{ ...base, agg: ['avg', 'min'] }, 'GW_ERR_QUERY_INVALID', 'agg'],
    [{ ...base, bukcet: '5m' }, 'GW_ERR_QUERY_INVALID', 'bukcet'],
  ])('refuses %j with %s naming %s', (raw, code, param) => {
    const err = refused(() => parseSeriesParams(raw, { now: NOW }));
    expect(err.code).toBe(code);
    expect(err.param).toBe(param);
  });

  it('refuses absurd ranges with their own code, counting aligned buckets', () => {
    const err = refused(() => parseSeriesParams({ ...base, from: '-365d', bucket: '30s' }, { now: NOW }));
    expect(err.code).toBe('GW_ERR_QUERY_TOO_MANY_BUCKETS');
    expect(err.param).toBe('bucket');
    // A week of 1-minute buckets is a reasonable request and stays within the default cap.
    expect(parseSeriesParams({ ...base, from: '-7d', bucket: '1m' }, { now: NOW }).query.bucketMs).toBe(
      60_000,
    );
    // Exactly at the cap passes; an unaligned range touching one more bucket does not.
    const aligned = { ...base, from: String(NOW - 10 * 60_000), to: String(NOW) };
    expect(() => parseSeriesParams(aligned, { now: NOW, maxBuckets: 10 })).not.toThrow();
    const shifted = { ...base, from: String(NOW - 10 * 60_000 + 1), to: String(NOW + 1) };
    expect(refused(() => parseSeriesParams(shifted, { now: NOW, maxBuckets: 10 })).code).toBe(
      'GW_ERR_QUERY_TOO_MANY_BUCKETS',
    );
  });
});

describe('parseAnomalyParams', () => {
  it('defaults to the last 24 hours, all devices, 100 records', () => {
    expect(parseAnomalyParams({}, { now: NOW })).toEqual({ from: NOW - 86_400_000, to: NOW, limit: 100 });
    expect(parseAnomalyParams({ device: 'sim-?', limit: '5', from: '-1h' }, { now: NOW })).toEqual({
      device: 'sim-?',
      from: NOW - 3_600_000,
      to: NOW,
      limit: 5,
    });
  });

  it.each([
    [{ limit: '0' }, 'limit'],
    [{ limit: '10001' }, 'limit'],
    [{ limit: '1.5' }, 'limit'],
    [{ device: 'a b' }, 'device'],
    [{ from: 'soon' }, 'from'],
    [{ metric: 'temp' }, 'metric'],
  ])('refuses %j naming %s', (raw, param) => {
    const err = refused(() => parseAnomalyParams(raw, { now: NOW }));
    expect(err.code).toBe('GW_ERR_QUERY_INVALID');
    expect(err.param).toBe(param);
  });
});

describe('parseDeviceId', () => {
  it('takes an id, not a glob', () => {
    expect(parseDeviceId('kitchen-pi.2')).toBe('kitchen-pi.2');
    expect(refused(() => parseDeviceId('sim-*', 'id'))).toMatchObject({
      code: 'GW_ERR_QUERY_INVALID',
      param: 'id',
    });
    expect(refused(() => parseDeviceId(undefined))).toMatchObject({
      code: 'GW_ERR_QUERY_PARAM_MISSING',
      param: 'device',
    });
  });
});
