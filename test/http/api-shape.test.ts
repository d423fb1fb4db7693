// The HTTP layer as data: the new routes (readings, dead letters, export)
// over the in-memory query service, and one error shape for everything
// outside /api/v1/, unknown routes and schema refusals included, while a
// plugin under /api/v1 keeps the handlers it sets itself.
import type { FastifyInstance } from 'fastify';
import { afterEach, describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import { createFakeQueryService, type FakeQueryService } from '../query/fake-query-service.js';
import { httpServerWith } from './http-fixture.js';

const T = Date.UTC(2025, 5, 1, 12);

function fake(): FakeQueryService {
  const q = createFakeQueryService();
  for (let i = 0; i < 5; i++) {
    q.add({ deviceId: 'pi-1', metric: 'temp', ts: T + i * 1000, value: 20 + i });
    q.add({ deviceId: 'pi-2', metric: 'temp', ts: T + i * 1000, value: 10 });
  }
  q.addDeadLetter({
    id: 7,
    receivedAt: T,
    deviceId: 'pi-1',
    topic: 'devices/pi-1/telemetry',
    code: 'GW_ERR_PAYLOAD_NOT_JSON',
    rejections: [{ index: 0, code: 'GW_ERR_PAYLOAD_NOT_JSON' }],
    rejectedCount: 1,
    acceptedCount: 0,
    payload: new TextEncoder().encode('oops'),
    payloadBytes: 4,
  });
  return q;
}

let app: FastifyInstance | undefined;
afterEach(async () => {
  await app?.close();
  app = undefined;
});

async function get(url: string, query: FakeQueryService = fake()) {
  app = httpServerWith({ query });
  return app.inject({ method: 'GET', url });
}

describe('GET /api/readings, /api/dead-letters, /api/export', () => {
  it("answers one series' readings and the dead letters, as the CLI prints them", async () => {
    const readings = await get(`/api/readings?device=pi-1&metric=temp&from=${T + 1000}&limit=2`);
    expect(readings.statusCode).toBe(200);
    expect(readings.json()).toEqual({
      deviceId: 'pi-1',
      metric: 'temp',
      readings: [
        { ts: T + 1000, value: 21 },
        { ts: T + 2000, value: 22 },
      ],
    });
    const dead = await get('/api/dead-letters?device=pi-1');
    expect(dead.json()).toEqual({
      deadLetters: [
        {
          id: 7,
          receivedAt: T,
          deviceId: 'pi-1',
          topic: 'devices/pi-1/telemetry',
          code: 'GW_ERR_PAYLOAD_NOT_JSON',
          rejections: [{ index: 0, code: 'GW_ERR_PAYLOAD_NOT_JSON' }],
          rejectedCount: 1,
          acceptedCount: 0,
          payloadBytes: 4,
          payload: 'oops',
          payloadBase64: Buffer.from('oops').toString('base64'),
        },
      ],
    });
  });

  it('streams an export as NDJSON and CSV, every reading once, in time order', async () => {
    const q = fake();
    const ndjson = await get(`/api/export?from=${T}&to=${T + 60_000}&format=ndjson`, q);
    expect(ndjson.statusCode).toBe(200);
    expect(ndjson.headers['content-type']).toBe('application/x-ndjson');
    const rows = ndjson.body
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as { ts: number });
    expect(rows).toHaveLength(10);
    expect(rows[0]).toEqual({ device: 'pi-1', metric: 'temp', ts: T, value: 20, unit: null });
    expect(rows.map((r) => r.ts)).toEqual([...rows.map((r) => r.ts)].sort((a, b) => a - b));
    const csv = await get(`/api/export?device=pi-2&from=${T}&to=${T + 60_000}&format=csv`);
    expect(csv.headers['content-type']).toBe('text/csv; charset=utf-8');
    expect(csv.body.split('\n').slice(0, 2)).toEqual([
      'device,metric,ts,value,unit',
      `pi-2,temp,${new Date(T).toISOString()},10,`,
    ]);
  });

  it('answers an empty export with the CSV header alone, and NDJSON with nothing', async () => {
    const csv = await get(`/api/export?device=nobody&from=${T}&format=csv`);
    expect(csv.statusCode).toBe(200);
    expect(csv.body).toBe('device,metric,ts,value,unit\n');
    expect((await get(`/api/export?device=nobody&from=${T}&format=ndjson`)).body).toBe('');
  });

  it('refuses parquet over HTTP, and answers a store that fails at the start with its code', async () => {
    const parquet = await get(`/api/export?from=${T}&format=parquet`);
    expect(parquet.statusCode).toBe(400);
    expect(parquet.json()).toMatchObject({ error: { code: 'GW_ERR_QUERY_INVALID', param: 'format' } });
    const busy = fake();
    busy.failNext(new GatewayError('GW_ERR_STORAGE_BUSY'));
    const failed = await get(`/api/export?from=${T}&format=csv`, busy);
    expect(failed.statusCode).toBe(503);
    expect(failed.json()).toMatchObject({ error: { code: 'GW_ERR_STORAGE_BUSY' } });
  });
});

describe('one error shape outside /api/v1/', () => {
  it.each(['/nope', '/api/nope', '/api/devices/pi-1/latest/extra'])(
    'GET %s answers 404 GW_ERR_ROUTE_NOT_FOUND',
    async (url) => {
      const res = await get(url);
      expect(res.statusCode).toBe(404);
      expect(res.json()).toEqual({ error: { code: 'GW_ERR_ROUTE_NOT_FOUND', message: expect.any(String) } });
    },
  );

  it('answers a method no route takes, and a request fastify cannot parse, in the same shape', async () => {
    app = httpServerWith({ query: fake() });
    app.post('/echo', async (req) => req.body);
    const post = await app.inject({ method: 'DELETE', url: '/api/devices' });
    expect(post.statusCode).toBe(404);
    expect(post.json()).toMatchObject({ error: { code: 'GW_ERR_ROUTE_NOT_FOUND' } });
    const bad = await app.inject({
      method: 'POST',
      url: '/echo',
      headers: { 'content-type': 'application/json' },
      payload: '{not json',
    });
    expect(bad.statusCode).toBe(400);
    expect(bad.json()).toEqual({ error: { code: 'GW_ERR_HTTP_REQUEST', message: expect.any(String) } });
  });

  it("leaves /api/v1 (the Prometheus-compatible API) Prometheus' own error shape", async () => {
    app = httpServerWith({ query: fake() });
    expect((await app.inject('/api/v1/query')).json()).toMatchObject({
      status: 'error',
      errorType: 'bad_data',
    });
    expect((await app.inject('/api/v1/nope')).json()).toMatchObject({
      status: 'error',
      errorType: 'not_found',
    });
    expect((await app.inject('/api/nope')).json()).toMatchObject({
      error: { code: 'GW_ERR_ROUTE_NOT_FOUND' },
    });
  });
});
