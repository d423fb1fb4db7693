import Fastify from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import { createApiRoutes } from '../../gateway/http/api-routes.js';
import { createFakeQueryService, type FakeQueryService } from '../query/fake-query-service.js';
import { httpServerWith, zeroTotals } from './http-fixture.js';

const NOW = Date.now();
const T = Math.floor(NOW / 60_000) * 60_000 - 10 * 60_000;

function fake(): FakeQueryService {
  const q = createFakeQueryService();
  for (let i = 0; i < 10; i++) {
    q.add({ deviceId: 'pi-1', metric: 'temp', ts: T + i * 30_000, value: i });
    q.add({ deviceId: 'pi-2', metric: 'temp', ts: T + i * 30_000 + 1, value: 100 });
  }
  q.addAnomaly({
    deviceId: 'pi-2',
    metric: 'temp',
    ts: T,
    value: 100,
    score: 6,
    expectedLow: 1,
    expectedHigh: 9,
    state: 'raised',
  });
  return q;
}

let app: ReturnType<typeof httpServerWith> | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

/** null: a gateway without a query backend */
async function get(url: string, query: FakeQueryService | null = fake()) {
  app = httpServerWith(query === null ? {} : { query });
  const res = await app.inject({ method: 'GET', url });
  return {
    status: res.statusCode,
    body: res.json() as Record<string, unknown>,
    type: res.headers['content-type'],
  };
}

describe('GET /api/*', () => {
  it('lists devices', async () => {
    const r = await get('/api/devices');
    expect(r.status).toBe(200);
    expect(r.body).toEqual({
      devices: [
        { deviceId: 'pi-1', firstSeen: T, lastSeen: T + 270_000 },
        { deviceId: 'pi-2', firstSeen: T + 1, lastSeen: T + 270_001 },
      ],
    });
  });

  it('gives the latest reading per metric, 404 for a device without readings, 400 for a glob', async () => {
    expect(await get('/api/devices/pi-1/latest')).toMatchObject({
      status: 200,
      body: { deviceId: 'pi-1', readings: [{ metric: 'temp', ts: T + 270_000, value: 9 }] },
    });
    expect(await get('/api/devices/nobody/latest')).toMatchObject({
      status: 404,
      body: { error: { code: 'GW_ERR_QUERY_NOT_FOUND', param: 'id' } },
    });
    expect(await get('/api/devices/pi-*/latest')).toMatchObject({
      status: 400,
      body: { error: { code: 'GW_ERR_QUERY_INVALID', param: 'id' } },
    });
  });

  it("lists the union of the devices' metrics, each with how many devices have it", async () => {
    const q = fake();
    q.add({ deviceId: 'pi-2', metric: 'hum', ts: T, value: 40 });
    expect(await get('/api/metrics', q)).toMatchObject({
      status: 200,
      body: {
        metrics: [
          { metric: 'hum', devices: 1 },
          { metric: 'temp', devices: 2 },
        ],
      },
    });
  });

  it('answers a series with the tier, for one device and for a glob', async () => {
    const q = fake();
    const one = await get(
      `/api/series?device=pi-1&metric=temp&from=${T}&to=${T + 300_000}&bucket=5m&agg=count,avg,p50`,
      q,
    );
    expect(one).toMatchObject({ status: 200, type: expect.stringContaining('application/json') });
    expect(one.body).toEqual({
      device: 'pi-1',
      metric: 'temp',
      from: T,
      to: T + 300_000,
      bucket: '5m',
      bucketMs: 300_000,
      aggs: ['count', 'avg', 'p50'],
      tier: '1m',
      devices: 1,
      points: expect.any(Array),
    });
    const counted = (one.body.points as Array<{ values: { count: number } }>).reduce(
      (n, p) => n + p.values.count,
      0,
    );
    expect(counted).toBe(10);
    expect(q.calls[0]).toEqual({
      method: 'series',
      arg: {
        device: 'pi-1',
        metric: 'temp',
        from: T,
        to: T + 300_000,
        bucketMs: 300_000,
        aggs: ['count', 'avg', 'p50'],
      },
    });
    const fleet = await get(`/api/series?device=pi-*&metric=temp&from=-1h&bucket=1h&agg=max`);
    expect(fleet.body).toMatchObject({ tier: '1h', devices: 2 });
    expect((fleet.body.points as Array<{ values: { max: number } }>).map((p) => p.values.max)).toContain(100);
  });

  it.each([
    ['/api/series?metric=temp', 'GW_ERR_QUERY_PARAM_MISSING', 'device'],
    ['/api/series?device=pi-1&metric=temp&bucket=7m', 'GW_ERR_QUERY_INVALID', 'bucket'],
    ['/api/series?device=pi-1&metric=temp&agg=avg,mode', 'GW_ERR_QUERY_INVALID', 'agg'],
    ['/api/series?device=pi-1&metric=temp&from=last%20week', 'GW_ERR_QUERY_INVALID', 'from'],
    ['/api/series?device=pi-1&metric=temp&from=now&to=-1h', 'GW_ERR_QUERY_INVALID', 'to'],
    ['/api/series?device=pi-1&metric=temp&bucket=1m&bucket=5m', 'GW_ERR_QUERY_INVALID', 'bucket'],
    ['/api/series?device=pi-1&metric=temp&from=-3650d&bucket=30s', 'GW_ERR_QUERY_TOO_MANY_BUCKETS', 'bucket'],
    ['/api/series?device=pi-1&metric=temp&limit=5', 'GW_ERR_QUERY_INVALID', 'limit'],
    ['/api/anomalies?limit=-1', 'GW_ERR_QUERY_INVALID', 'limit'],
    ['/api/anomalies?device=%2F', 'GW_ERR_QUERY_INVALID', 'device'],
    ['/api/devices?x=1', 'GW_ERR_QUERY_INVALID', 'x'],
    ['/api/metrics?device=pi-1', 'GW_ERR_QUERY_INVALID', 'device'],
  ])('GET %s answers 400 %s naming %s', async (url, code, param) => {
    const q = fake();
    const r = await get(url, q);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ error: { code, param, message: expect.any(String) } });
    expect(q.calls).toEqual([]);
  });

  it('lists anomalies newest first, filtered by device', async () => {
    expect(await get('/api/anomalies?device=pi-2')).toMatchObject({
      status: 200,
      body: { anomalies: [{ deviceId: 'pi-2', value: 100, score: 6, state: 'raised' }] },
    });
    expect(await get('/api/anomalies?device=pi-1')).toMatchObject({ status: 200, body: { anomalies: [] } });
  });

  it('answers 503 GW_ERR_QUERY_UNAVAILABLE without a query service, and storage failures by code', async () => {
    expect(await get('/api/devices', null)).toMatchObject({
      status: 503,
      body: { error: { code: 'GW_ERR_QUERY_UNAVAILABLE' } },
    });
    const busy = fake();
    busy.failNext(new GatewayError('GW_ERR_STORAGE_BUSY'));
    expect(await get('/api/series?device=pi-1&metric=temp', busy)).toMatchObject({
      status: 503,
      body: { error: { code: 'GW_ERR_STORAGE_BUSY' } },
    });
    const broken = fake();
    broken.failNext(new TypeError('boom'));
    expect(await get('/api/anomalies', broken)).toMatchObject({
      status: 500,
      body: { error: { code: 'GW_ERR_STORAGE_IO' } },
    });
  });

  it('serves running totals for the dashboard and leaves the operations routes as they were', async () => {
    const totals = { ...zeroTotals(), readingsStored: 42, rejected: 3 };
    app = httpServerWith({ totals, connectedClients: () => 7 });
    const stats = await app.inject('/api/stats');
    expect(stats.json()).toEqual({ at: expect.any(Number), connectedClients: 7, totals });
    expect((await app.inject('/healthz')).statusCode).toBe(200);
    expect((await app.inject('/readyz')).json()).toEqual({ status: 'ready' });
    expect((await app.inject('/metrics')).statusCode).toBe(200);
  });
});

describe('GET /api/openapi.json', () => {
  it('describes every API route, and every $ref resolves', async () => {
    const routes: string[] = [];
    const bare = Fastify();
    bare.addHook('onRoute', (r) => {
      if (r.method === 'GET' || (Array.isArray(r.method) && r.method.includes('GET'))) routes.push(r.url);
    });
    await bare.register(
      createApiRoutes({ stats: () => ({ at: 0, connectedClients: 0, totals: zeroTotals() }) }),
      {
        prefix: '/api',
      },
    );
    await bare.ready();
    const served = (await bare.inject('/api/openapi.json')).json() as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    await bare.close();
    expect(served.openapi).toMatch(/^3\./);
    const documented = Object.keys(served.paths).sort();
    expect(documented).toEqual([...new Set(routes.map((u) => u.replace(/:(\w+)/g, '{$1}')))].sort());

    const text = JSON.stringify(served);
    for (const [, ref] of text.matchAll(/"\$ref":"#\/([^"]+)"/g)) {
      const target = ref!
        .split('/')
        .reduce<unknown>((node, key) => (node as Record<string, unknown>)?.[key], served);
      expect(target, ref).toBeTypeOf('object');
    }
    const series = (served.paths['/api/series'] as { get: { parameters: Array<{ name: string }> } }).get;
    expect(series.parameters.map((p) => p.name)).toEqual(['device', 'metric', 'from', 'to', 'bucket', 'agg']);
  });
});
