// What every backend's query service answers for the row reads: export pages
// by key (every reading once, in key order, whatever the page size), and one
// series' readings and the dead letters as the plain reader gives them.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { ReadingRow } from '../../storage/port.js';
import { exportPages } from '../../storage/query/export-stream.js';
import type { ExportQuery, ExportRow, QueryService } from '../../storage/query-port.js';
import type { RollupStoreUnderTest } from './contract.js';
import { makeBatch, type ReadingSpec } from './make-batch.js';

const T0 = Date.UTC(2025, 0, 1, 10);

/** Several series share each timestamp, so pages end in the middle of a tie. */
function fleet(): ReadingSpec[] {
  const out: ReadingSpec[] = [];
  for (let i = 0; i < 12; i++) {
    for (const device of ['dev_1', 'devX1', 'dev-2']) {
      for (const metric of ['temp', 'hum']) {
        out.push({ device, metric, ts: T0 + i * 1000, value: i + device.length / 10 });
      }
    }
  }
  return out;
}

async function exportAll(query: QueryService, q: ExportQuery, pageRows: number): Promise<ExportRow[]> {
  const rows: ExportRow[] = [];
  for await (const page of exportPages(query, q, pageRows)) {
    expect(page.length).toBeLessThanOrEqual(pageRows);
    rows.push(...page);
  }
  return rows;
}

const key = (r: { device: string; metric: string; ts: number }) => `${r.device}/${r.metric}/${r.ts}`;

export function exportContract(name: string, make: () => Promise<RollupStoreUnderTest>): void {
  describe(`storage contract, export and row reads: ${name}`, () => {
    let store: RollupStoreUnderTest;
    let query: QueryService;
    beforeEach(async () => {
      store = await make();
      query = store.query();
    });
    afterEach(async () => {
      await query.close();
      await store.cleanup();
    });

    it('exports every reading in [from, to) once, in time order, across pages that split ties', async () => {
      const all = fleet();
      await store.writer.write(makeBatch(all));
      const q = { from: T0 + 1000, to: T0 + 9000 };
      const expected = all.filter((r) => r.ts >= q.from && r.ts < q.to);
      for (const pageRows of [1, 5, 7, expected.length, 1000]) {
        const rows = await exportAll(query, q, pageRows);
        expect(rows.map(key).sort()).toEqual(expected.map(key).sort());
        expect(new Set(rows.map(key)).size).toBe(rows.length);
        expect(rows.map((r) => r.ts)).toEqual([...rows.map((r) => r.ts)].sort((a, b) => a - b));
        expect(rows.every((r) => r.unit === null)).toBe(true);
      }
    });

    it('filters by device glob (an _ in an id is no wildcard) and by metric', async () => {
      const all = fleet();
      await store.writer.write(makeBatch(all));
      const rows = await exportAll(query, { device: 'dev_*', metric: 'hum', from: T0, to: T0 + 60_000 }, 4);
      const expected = all.filter((r) => r.device === 'dev_1' && r.metric === 'hum');
      expect(rows.map(key).sort()).toEqual(expected.map(key).sort());
      expect(rows.find((r) => r.ts === T0)).toEqual({
        device: 'dev_1',
        metric: 'hum',
        ts: T0,
        value: expected[0]!.value,
        unit: null,
      });
      expect(await exportAll(query, { device: 'nobody', from: T0, to: T0 + 60_000 }, 4)).toEqual([]);
    });

    it('carries the unit a payload format stated for the series, and null where none was', async () => {
      const batch = makeBatch([
        { device: 'tas-1', metric: 'BME280.Temperature', ts: T0, value: 21.5 },
        { device: 'tas-1', metric: 'BME280.Pressure', ts: T0, value: 1013 },
      ]);
      batch.seriesMeta = [{ deviceId: 'tas-1', metric: 'BME280.Temperature', unit: '°C', deviceClass: null }];
      await store.writer.write(batch);
      const rows = await exportAll(query, { device: 'tas-*', from: T0, to: T0 + 1 }, 10);
      expect(rows.map((r) => [r.metric, r.unit]).sort()).toEqual([
        ['BME280.Pressure', null],
        ['BME280.Temperature', '°C'],
      ]);
    });

    it("answers one series' readings and the dead letters", async () => {
      await store.writer.write(
        makeBatch(fleet(), {
          deadLetters: [1, 2, 3].map((i) => ({
            receivedAt: T0 + i,
            deviceId: i === 2 ? 'dev-2' : 'dev_1',
            topic: 'devices/x/telemetry',
            code: 'GW_ERR_PAYLOAD_NOT_JSON',
            rejections: [{ index: 0, code: 'GW_ERR_PAYLOAD_NOT_JSON' }],
            rejectedCount: 1,
            acceptedCount: 0,
            payload: new Uint8Array([0x7b, i]),
            payloadBytes: 2,
          })),
        }),
      );
      const readings: ReadingRow[] = await query.readings({
        deviceId: 'devX1',
        metric: 'temp',
        from: T0 + 1000,
        limit: 2,
      });
      expect(readings).toEqual([
        { ts: T0 + 1000, value: 1.5 },
        { ts: T0 + 2000, value: 2.5 },
      ]);
      expect(await query.readings({ deviceId: 'devX1', metric: 'nope' })).toEqual([]);
      const dead = await query.deadLetters({ deviceId: 'dev_1', limit: 5 });
      expect(dead.map((d) => d.receivedAt)).toEqual([T0 + 3, T0 + 1]);
      expect(dead[0]).toMatchObject({ code: 'GW_ERR_PAYLOAD_NOT_JSON', payloadBytes: 2 });
      expect([...dead[0]!.payload]).toEqual([0x7b, 3]);
      expect(await query.deadLetters({ limit: 1 })).toHaveLength(1);
    });
  });
}
