// The unit a payload format stated for a series (docs/sensors.md) is a
// PromQL label: selectable, listed by the label routes, and carried in the
// answer; series without one have no unit label. And the series and label
// routes keep to start and end, as Prometheus' do. Real stores, both
// backends, behind the /api/v1 routes.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { StorageWriter } from '../../storage/port.js';
import { openPostgresWriter } from '../../storage/postgres/postgres-writer.js';
import { openPostgresQueryService } from '../../storage/postgres/query/postgres-query-service.js';
import type { QueryService } from '../../storage/query-port.js';
import { openSqliteQueryService } from '../../storage/sqlite/query/sqlite-query-service.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { httpServerWith } from '../http/http-fixture.js';
import { createTestSchema } from '../postgres/pg-schema.js';
import { makeBatch } from '../storage/make-batch.js';

interface Store {
  writer: StorageWriter;
  query: QueryService;
  cleanup: () => Promise<void>;
}

const stores: Record<string, () => Promise<Store>> = {
  sqlite: async () => {
    const dir = await mkdtemp(join(tmpdir(), 'gw-promql-unit-'));
    const path = join(dir, 'gw.db');
    const writer = await openSqliteWriter({ path });
    const query = openSqliteQueryService({ path });
    return {
      writer,
      query,
      cleanup: async () => {
        await query.close();
        await writer.close();
        await rm(dir, { recursive: true, force: true });
      },
    };
  },
  postgres: async () => {
    const schema = await createTestSchema();
    const writer = await openPostgresWriter({ url: schema.url });
    const query = openPostgresQueryService({ url: schema.url });
    return {
      writer,
      query,
      cleanup: async () => {
        await query.close();
        await writer.close();
        await schema.drop();
      },
    };
  },
};

let cleanup: (() => Promise<void>) | undefined;
let app: ReturnType<typeof httpServerWith> | undefined;
afterEach(async () => {
  await app?.close();
  await cleanup?.();
  app = undefined;
  cleanup = undefined;
});

describe.each(Object.keys(stores))('the unit label on %s', (name) => {
  it('selects by unit, lists it, and carries it in the answer', async () => {
    const store = await stores[name]!();
    cleanup = store.cleanup;
    const now = Date.now();
    const ts = Math.floor(now / 1000) * 1000 - 30_000;
    const batch = makeBatch([
      { device: 'tas-1', metric: 'temperature', ts, value: 21.5 },
      { device: 'sim-1', metric: 'temperature', ts, value: 19 },
    ]);
    batch.seriesMeta = [{ deviceId: 'tas-1', metric: 'temperature', unit: '°C', deviceClass: null }];
    await store.writer.write(batch);
    app = httpServerWith({ query: store.query, now: () => now });
    const get = async (url: string) => (await app!.inject({ method: 'GET', url })).json();

    const instant = await get(
      `/api/v1/query?query=${encodeURIComponent('temperature{unit="°C"}')}&time=${now / 1000}`,
    );
    expect(instant.data.result).toEqual([
      { metric: { __name__: 'temperature', device: 'tas-1', unit: '°C' }, value: [now / 1000, '21.5'] },
    ]);
    const without = await get(
      `/api/v1/query?query=${encodeURIComponent('temperature{unit=""}')}&time=${now / 1000}`,
    );
    expect(without.data.result).toEqual([
      { metric: { __name__: 'temperature', device: 'sim-1' }, value: [now / 1000, '19'] },
    ]);
    expect((await get('/api/v1/labels')).data).toEqual(['__name__', 'device', 'unit']);
    expect((await get('/api/v1/label/unit/values')).data).toEqual(['°C']);
    expect((await get(`/api/v1/series?match[]=${encodeURIComponent('{unit="°C"}')}`)).data).toEqual([
      { __name__: 'temperature', device: 'tas-1', unit: '°C' },
    ]);
  });
});

describe.each(Object.keys(stores))('start and end of the series and label routes on %s', (name) => {
  it('list only series with readings in the range, before and after the re-aggregation', async () => {
    const store = await stores[name]!();
    cleanup = store.cleanup;
    const now = Date.now();
    const old = Math.floor(now / 1000) * 1000 - 3 * 3_600_000;
    const recent = Math.floor(now / 1000) * 1000 - 30_000;
    await store.writer.write(
      makeBatch([
        { device: 'old-1', metric: 'temperature', ts: old, value: 20 },
        { device: 'new-1', metric: 'humidity', ts: recent, value: 40 },
      ]),
    );
    app = httpServerWith({ query: store.query, now: () => now });
    const get = async (url: string) => (await app!.inject({ method: 'GET', url })).json();
    const s = (ms: number) => String(ms / 1000);
    const series = (range: string) =>
      get(`/api/v1/series?match[]=${encodeURIComponent('{device=~".+"}')}${range}`);

    const check = async () => {
      expect((await series('')).data.map((x: { device: string }) => x.device)).toEqual(['new-1', 'old-1']);
      expect((await series(`&start=${s(now - 600_000)}&end=${s(now)}`)).data).toEqual([
        { __name__: 'humidity', device: 'new-1' },
      ]);
      expect((await series(`&start=${s(old - 3_600_000)}&end=${s(old + 3_600_000)}`)).data).toEqual([
        { __name__: 'temperature', device: 'old-1' },
      ]);
      // start alone leaves the end open, as Prometheus' maxTime.
      expect((await series(`&start=${s(now - 600_000)}`)).data).toHaveLength(1);
      expect((await series(`&end=${s(old + 60_000)}`)).data).toHaveLength(1);
      expect((await get(`/api/v1/label/__name__/values?start=${s(now - 600_000)}`)).data).toEqual([
        'humidity',
      ]);
      expect(
        (await get(`/api/v1/label/device/values?start=${s(old - 60_000)}&end=${s(old + 60_000)}`)).data,
      ).toEqual(['old-1']);
      expect((await get(`/api/v1/labels?start=${s(old + 600_000)}&end=${s(old + 1_200_000)}`)).data).toEqual(
        [],
      );
      expect((await get(`/api/v1/labels?start=${s(now)}&end=${s(now - 1000)}`)).errorType).toBe('bad_data');
    };
    await check();
    await store.writer.refreshRollups({ now });
    await check();
  });
});
