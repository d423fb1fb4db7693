// The contract every storage backend passes (SQLite now, PostgreSQL later),
// in the manner of aedes' abstract-persistence suite.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { DeadLetter, StorageReader, StorageWriter } from '../../storage/port.js';
import { makeBatch, series } from './make-batch.js';

export interface StorageUnderTest {
  writer: StorageWriter;
  /** a new reader on the same store; the suite closes it */
  reader: () => StorageReader;
  cleanup: () => Promise<void>;
}

const T0 = Date.UTC(2025, 0, 1);

function deadLetter(overrides: Partial<DeadLetter> = {}): DeadLetter {
  return {
    receivedAt: T0,
    deviceId: 'dev-1',
    topic: 'devices/dev-1/telemetry',
    code: 'GW_ERR_PAYLOAD_NOT_JSON',
    rejections: [{ index: 0, code: 'GW_ERR_PAYLOAD_NOT_JSON' }],
    rejectedCount: 1,
    acceptedCount: 0,
    payload: new Uint8Array([0x7b, 0x00, 0xff, 0x7d]),
    payloadBytes: 4,
    ...overrides,
  };
}

export function storageContract(name: string, make: () => Promise<StorageUnderTest>): void {
  describe(`storage contract: ${name}`, () => {
    let store: StorageUnderTest;
    let reader: StorageReader;

    beforeEach(async () => {
      store = await make();
      reader = store.reader();
    });
    afterEach(async () => {
      await reader.close();
      await store.cleanup();
    });

    it('reads back what it wrote, per series, ordered by ts, within [from, to)', async () => {
      const rows = [
        ...series('dev-1', 'temp', T0, 5),
        ...series('dev-1', 'hum', T0, 3),
        ...series('dev-2', 'temp', T0, 4),
      ];
      // Written out of ts order on purpose: the read order must not depend on it.
      const result = await store.writer.write(makeBatch([...rows].reverse()));
      expect(result).toMatchObject({ inserted: 12, duplicates: 0, deadLetters: 0 });
      expect(result.commitMs).toBeGreaterThanOrEqual(0);

      const temp1 = await reader.readings({ deviceId: 'dev-1', metric: 'temp' });
      expect(temp1).toEqual(series('dev-1', 'temp', T0, 5).map(({ ts, value }) => ({ ts, value })));
      expect(
        await reader.readings({ deviceId: 'dev-1', metric: 'temp', from: T0 + 1000, to: T0 + 3000 }),
      ).toEqual([
        { ts: T0 + 1000, value: 0.5 },
        { ts: T0 + 2000, value: 1 },
      ]);
      expect(await reader.readings({ deviceId: 'dev-1', metric: 'temp', limit: 2 })).toHaveLength(2);
      expect(await reader.readings({ deviceId: 'dev-1', metric: 'nope' })).toEqual([]);
      expect(await reader.countReadings()).toBe(12);
      expect(await reader.countReadings({ deviceId: 'dev-2' })).toBe(4);
      expect(await reader.metricSummary()).toEqual([
        { metric: 'hum', count: 3, min: 0, avg: 0.5, max: 1 },
        { metric: 'temp', count: 9, min: 0, avg: expect.closeTo(8 / 9, 6), max: 2 },
      ]);
      expect(await reader.metricSummary({ from: T0 + 4000 })).toEqual([
        { metric: 'temp', count: 1, min: 2, avg: 2, max: 2 },
      ]);
    });

    it('stores a retransmitted reading once and counts it as a duplicate', async () => {
      // 150 rows: enough to cross any multi-row statement size a backend may use.
      const rows = series('dev-1', 'temp', T0, 150);
      expect(await store.writer.write(makeBatch(rows))).toMatchObject({ inserted: 150, duplicates: 0 });
      expect(await store.writer.write(makeBatch(rows))).toMatchObject({ inserted: 0, duplicates: 150 });
      const overlapping = series('dev-1', 'temp', T0 + 100_000, 150);
      expect(await store.writer.write(makeBatch(overlapping))).toMatchObject({
        inserted: 100,
        duplicates: 50,
      });
      expect(await reader.countReadings()).toBe(250);
      // Same ts, another series: not a duplicate.
      expect(await store.writer.write(makeBatch(series('dev-1', 'hum', T0, 1)))).toMatchObject({
        inserted: 1,
      });
    });

    it('stores a reading repeated within one batch once', async () => {
      const rows = series('dev-1', 'temp', T0, 100);
      const result = await store.writer.write(makeBatch([...rows, ...rows.slice(0, 30), ...rows.slice(90)]));
      expect(result).toMatchObject({ inserted: 100, duplicates: 40 });
      expect(await reader.countReadings()).toBe(100);
    });

    it('round-trips dead letters, newest first, filtered by device', async () => {
      const older = deadLetter({
        receivedAt: T0,
        rejections: [
          { index: 0, metric: 'temp', code: 'GW_ERR_VALUE_NOT_NUMBER' },
          { index: 2, code: 'GW_ERR_READING_SHAPE' },
        ],
        code: 'GW_ERR_VALUE_NOT_NUMBER',
        rejectedCount: 2,
        acceptedCount: 3,
        payloadBytes: 4096,
      });
      const newer = deadLetter({
        receivedAt: T0 + 1,
        deviceId: null,
        topic: 'bogus/topic',
        code: 'GW_ERR_TOPIC_INVALID',
      });
      const result = await store.writer.write(makeBatch([], { deadLetters: [older, newer] }));
      expect(result).toMatchObject({ inserted: 0, duplicates: 0, deadLetters: 2 });

      const all = await reader.deadLetters();
      expect(all.map((d) => d.topic)).toEqual(['bogus/topic', 'devices/dev-1/telemetry']);
      const [n, o] = all;
      expect(n).toMatchObject({ deviceId: null, code: 'GW_ERR_TOPIC_INVALID', receivedAt: T0 + 1 });
      expect(o).toMatchObject({
        deviceId: 'dev-1',
        code: 'GW_ERR_VALUE_NOT_NUMBER',
        rejections: older.rejections,
        rejectedCount: 2,
        acceptedCount: 3,
        payloadBytes: 4096,
      });
      expect(typeof o?.id).toBe('number');
      expect(Array.from(o?.payload ?? [])).toEqual([0x7b, 0x00, 0xff, 0x7d]);
      expect(await reader.deadLetters({ deviceId: 'dev-1' })).toHaveLength(1);
      expect(await reader.deadLetters({ limit: 1 })).toMatchObject([{ topic: 'bogus/topic' }]);
    });

    it('keeps first_seen and raises last_seen to the newest sighting, to a minute', async () => {
      const seen = (deviceId: string, seenAt: number) => ({ deviceId, seenAt });
      await store.writer.write(makeBatch([], { devices: [seen('dev-1', T0 + 10), seen('dev-1', T0 + 20)] }));
      await store.writer.write(
        makeBatch([], { devices: [seen('dev-1', T0 + 120_000), seen('dev-2', T0 + 30)] }),
      );
      // A late, older sighting moves neither.
      await store.writer.write(makeBatch([], { devices: [seen('dev-1', T0 + 5)] }));
      expect(await reader.devices()).toEqual([
        { deviceId: 'dev-1', firstSeen: T0 + 10, lastSeen: T0 + 120_000 },
        { deviceId: 'dev-2', firstSeen: T0 + 30, lastSeen: T0 + 30 },
      ]);
    });

    it('settles writes in the order they were submitted', async () => {
      const settled: number[] = [];
      const writes = Array.from({ length: 20 }, (_, i) =>
        store.writer
          .write(makeBatch(series(`dev-${i % 3}`, 'temp', T0 + i * 100, 50)))
          .then(() => settled.push(i)),
      );
      expect(store.writer.health().pendingBatches).toBe(20);
      await Promise.all(writes);
      expect(settled).toEqual(Array.from({ length: 20 }, (_, i) => i));
      expect(store.writer.health()).toEqual({ state: 'ok', pendingBatches: 0 });
    });

    it('finishes pending writes on close, then rejects writes with GW_ERR_STORAGE_CLOSED', async () => {
      const pending = store.writer.write(makeBatch(series('dev-1', 'temp', T0, 100)));
      const closing = store.writer.close();
      expect(store.writer.health().state).toBe('closed');
      await expect(pending).resolves.toMatchObject({ inserted: 100 });
      await closing;
      await store.writer.close();
      await expect(store.writer.write(makeBatch(series('dev-1', 'temp', T0, 1)))).rejects.toMatchObject({
        code: 'GW_ERR_STORAGE_CLOSED',
      });
      expect(await reader.countReadings()).toBe(100);
    });

    it('accepts an empty batch', async () => {
      expect(await store.writer.write(makeBatch([]))).toMatchObject({
        inserted: 0,
        duplicates: 0,
        deadLetters: 0,
      });
      expect(await reader.countReadings()).toBe(0);
      expect(await reader.devices()).toEqual([]);
    });
  });
}
