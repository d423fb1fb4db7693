import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { StorageWriter, WriteBatch, WriteResult } from '../../storage/port.js';
import { parseRetention, retentionPolicy } from '../../storage/retention-policy.js';
import { createRetention } from '../../storage/retention-scheduler.js';
import { openSqliteReader } from '../../storage/sqlite/sqlite-reader.js';
import { openSqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { makeBatch, series } from './make-batch.js';

const NOW = Date.UTC(2025, 5, 10);
const DAY = 86_400_000;

describe('retention', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'gw-retention-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('parses durations and forever; refuses the rest with GW_ERR_CONFIG_INVALID', () => {
    expect(parseRetention('x', '7d')).toBe(7 * DAY);
    expect(parseRetention('x', '36h')).toBe(36 * 3_600_000);
    expect(parseRetention('x', '90m')).toBe(90 * 60_000);
    expect(parseRetention('x', '1500')).toBe(1500);
    expect(parseRetention('x', 'forever')).toBeNull();
    expect(parseRetention('x', '0')).toBeNull();
    expect(retentionPolicy({ retentionRaw: '7d', retention1m: '90d', retention1h: 'forever' })).toEqual({
      raw: 7 * DAY,
      '1m': 90 * DAY,
      '1h': null,
    });
    for (const bad of ['', '7 days', '-1d', '1y']) {
      expect(() => parseRetention('retentionRaw', bad)).toThrow(
        expect.objectContaining({ code: 'GW_ERR_CONFIG_INVALID' }),
      );
    }
  });

  it('deletes expired raw readings in bounded steps, one at a time through the writer', async () => {
    const path = join(dir, 'gw.db');
    const writer = await openSqliteWriter({ path });
    // 2500 readings older than 7 days, 100 newer.
    await writer.write(makeBatch(series('dev-1', 'temp', NOW - 9 * DAY, 2500, 1000)));
    await writer.write(makeBatch(series('dev-1', 'temp', NOW - DAY, 100, 1000)));
    const steps: number[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const observed: Pick<StorageWriter, 'write'> = {
      async write(batch: WriteBatch): Promise<WriteResult> {
        inFlight++;
        maxInFlight = Math.max(maxInFlight, inFlight);
        try {
          const result = await writer.write(batch);
          steps.push(result.pruned ?? -1);
          return result;
        } finally {
          inFlight--;
        }
      },
    };
    const retention = createRetention({
      writer: observed,
      policy: { raw: 7 * DAY, '1m': null, '1h': null },
      stepRows: 1000,
      pauseMs: 0,
      now: () => NOW,
    });
    expect(await retention.runOnce()).toEqual({ raw: 2500, '1m': 0, '1h': 0 });
    expect(steps).toEqual([1000, 1000, 500]);
    expect(maxInFlight).toBe(1);
    await retention.stop();
    await writer.close();
    const reader = openSqliteReader({ path });
    expect(await reader.countReadings()).toBe(100);
    await reader.close();
  });

  it('deletes the fleet tier with the 1-minute tier it summarises', async () => {
    const path = join(dir, 'gw.db');
    const writer = await openSqliteWriter({ path });
    // Two minutes of a reading a second from each start: windows m, m + 1 min and m + 2 min, old and new.
    await writer.write(makeBatch(series('dev-1', 'temp', NOW - 9 * DAY, 120, 1000)));
    await writer.write(makeBatch(series('dev-2', 'temp', NOW - DAY, 120, 1000)));
    await writer.refreshRollups({ now: NOW });
    const windows = () => {
      const db = new Database(path, { readonly: true });
      try {
        return db.prepare('SELECT window_end FROM rollups_fleet_1m ORDER BY window_end').pluck().all();
      } finally {
        db.close();
      }
    };
    expect(windows()).toHaveLength(6);
    const retention = createRetention({
      writer,
      policy: { raw: null, '1m': 7 * DAY, '1h': null },
      stepRows: 1000,
      pauseMs: 0,
      now: () => NOW,
    });
    await retention.runOnce();
    await retention.stop();
    expect(windows()).toEqual([NOW - DAY, NOW - DAY + 60_000, NOW - DAY + 120_000]);
    await writer.close();
  });
});
