// The /api/v1 routes in process (fastify inject): Prometheus' envelope and
// error shape on every route, form bodies, and the anomaly records as the
// gateway_anomaly_score series. A fake query service stands behind them;
// the PromQL answers themselves are checked on real stores (promql-tiers,
// promtool tests).
import { afterEach, describe, expect, it } from 'vitest';
import type { AnomalyRecord } from '../../storage/port.js';
import { httpServerWith } from '../http/http-fixture.js';
import { createFakeQueryService } from '../query/fake-query-service.js';

const MINUTE = 60_000;
const T0 = Date.UTC(2026, 0, 5, 10);

function anomaly(deviceId: string, ts: number, score: number): AnomalyRecord {
  return {
    deviceId,
    metric: 'temperature',
    ts,
    value: 30,
    score,
    expectedLow: 18,
    expectedHigh: 24,
    state: 'raised',
  } as AnomalyRecord;
}

let app: ReturnType<typeof httpServerWith> | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

describe('/api/v1', () => {
  it('answers anomaly records as gateway_anomaly_score, from a POST form body', async () => {
    const query = createFakeQueryService({
      anomalies: [
        anomaly('pi-a', T0 + 30_000, 4.5),
        anomaly('pi-a', T0 + 2 * MINUTE, 6),
        anomaly('pi-b', T0 + MINUTE, 3),
      ],
    });
    app = httpServerWith({ query });
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/query_range',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      payload: new URLSearchParams({
        query: 'max_over_time(gateway_anomaly_score{device="pi-a"}[1m])',
        start: String(T0 / 1000),
        end: String((T0 + 3 * MINUTE) / 1000),
        step: '60',
      }).toString(),
    });
    expect(res.statusCode).toBe(200);
    expect(res.json()).toEqual({
      status: 'success',
      data: {
        resultType: 'matrix',
        result: [
          {
            metric: { device: 'pi-a' },
            values: [
              [(T0 + MINUTE) / 1000, '4.5'],
              [(T0 + 2 * MINUTE) / 1000, '6'],
            ],
          },
        ],
      },
    });
  });

  it("answers every error in Prometheus' shape", async () => {
    app = httpServerWith({ query: createFakeQueryService() });
    const cases: [string, number, string][] = [
      ['/api/v1/query?query=rate(x%5B1m%5D)', 400, 'bad_data'],
      ['/api/v1/query_range?query=x&start=1&end=0&step=15', 400, 'bad_data'],
      ['/api/v1/query_range?query=x&start=1&end=2', 400, 'bad_data'],
      ['/api/v1/query_range?query=x&start=yesterday&end=2&step=1', 400, 'bad_data'],
      ['/api/v1/series', 400, 'bad_data'],
      ['/api/v1/nothing-here', 404, 'not_found'],
      // The fake implements no PromQL: the stored-data routes are unavailable, in the same shape.
      ['/api/v1/query?query=temperature', 503, 'unavailable'],
    ];
    for (const [url, status, errorType] of cases) {
      const res = await app.inject({ method: 'GET', url });
      expect(res.statusCode, url).toBe(status);
      expect(res.json(), url).toEqual({ status: 'error', errorType, error: expect.any(String) });
    }
    const res = await app.inject({
      method: 'POST',
      url: '/api/v1/query',
      headers: { 'content-type': 'application/json' },
      payload: '{"query":',
    });
    expect(res.json()).toMatchObject({ status: 'error', errorType: 'bad_data' });
  });

  it('answers buildinfo', async () => {
    app = httpServerWith({});
    const res = await app.inject({ method: 'GET', url: '/api/v1/status/buildinfo' });
    expect(res.json()).toMatchObject({ status: 'success', data: { version: '2.42.0' } });
  });
});
