// The forward log through the real writer thread: commit order, late
// readings, the cursor only where advance() puts it (across a reopen), the
// backlog cap, and the pages turned into upstream messages within limits.

import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeMessages } from '../../pipelines/forward/encode-messages.js';
import { tempDir } from '../../simulators/run-cli.js';
import { readForwardStatus } from '../../storage/sqlite/forward-log.js';
import { openSqliteWriter, type SqliteWriter } from '../../storage/sqlite/sqlite-writer.js';
import { makeBatch } from '../storage/make-batch.js';

const open: SqliteWriter[] = [];
afterEach(async () => {
  for (const w of open.splice(0)) await w.close();
});

async function writer(path: string, maxBacklogReadings = 0): Promise<SqliteWriter> {
  const w = await openSqliteWriter({ path, forward: { maxBacklogReadings } });
  open.push(w);
  return w;
}

const NOW = Date.now();

describe('forward log (SQLite)', () => {
  it('pages in commit order, late readings included, and keeps the cursor where advance() put it', async () => {
    const path = join(tempDir(), 'edge.db');
    const w = await writer(path);
    await w.write(makeBatch([{ device: 'a', metric: 't', ts: NOW, value: 1 }]));
    // A reading an hour old committed after a newer one: it is owed all the same.
    await w.write(makeBatch([{ device: 'b', metric: 't', ts: NOW - 3_600_000, value: 2 }]));
    await w.write(makeBatch([{ device: 'a', metric: 'h', ts: NOW + 1, value: 3 }]));
    const log = w.forward!;
    const page = await log.page(0, 2);
    expect(page.batches.map((b) => [...b.readings.ts])).toEqual([[NOW], [NOW - 3_600_000]]);
    expect(page.readings).toBe(2);
    await log.advance(page.batches[1]!.seq);
    const status = await log.status();
    expect(status).toMatchObject({ cursor: page.batches[1]!.seq, backlogReadings: 1, forwardedReadings: 2 });
    const clientId = status.clientId;
    expect(clientId).toMatch(/^sensor-gateway-edge-[0-9a-f]{12}$/);

    await w.close();
    const again = await writer(path);
    const reopened = await again.forward!.status();
    expect(reopened).toMatchObject({ cursor: status.cursor, backlogReadings: 1, clientId });
    const rest = await again.forward!.page(reopened.cursor, 100);
    expect(rest.batches.map((b) => b.readings.value[0])).toEqual([3]);
  });

  it('with --forward-max-backlog drops the oldest whole batches, counted, and a reader sees the same state', async () => {
    const path = join(tempDir(), 'edge.db');
    const w = await writer(path, 3);
    for (let i = 0; i < 4; i++) {
      await w.write(
        makeBatch([
          { device: 'a', metric: 't', ts: NOW + i, value: i },
          { device: 'a', metric: 'h', ts: NOW + i, value: i },
        ]),
      );
    }
    const status = await w.forward!.status();
    expect(status).toMatchObject({ backlogReadings: 2, backlogBatches: 1, droppedReadings: 6 });
    const page = await w.forward!.page(0, 100);
    expect([...page.batches[0]!.readings.ts]).toEqual([NOW + 3, NOW + 3]);
    const db = new Database(path, { readonly: true });
    try {
      expect(readForwardStatus(db)).toEqual(status);
    } finally {
      db.close();
    }
  });

  it('without the forward option the writer offers no forward log', async () => {
    const w = await openSqliteWriter({ path: join(tempDir(), 'plain.db') });
    open.push(w);
    expect(w.forward).toBeUndefined();
  });
});

describe('encodeMessages', () => {
  it('one device per message, entries per ts, within the readings and bytes limits', () => {
    const readings = Array.from({ length: 30 }, (_, i) => ({
      device: i % 2 === 0 ? 'even' : 'odd',
      metric: ['t', 'h', 'p'][i % 3]!,
      ts: NOW + Math.floor(i / 6),
      value: i,
    }));
    const batch = { seq: 1, committedAt: NOW, readings: makeBatch(readings).readings };
    const messages = encodeMessages([batch], 'devices/', { maxReadings: 4, maxBytes: 10_000 });
    expect(new Set(messages.map((m) => m.topic))).toEqual(
      new Set(['devices/even/telemetry', 'devices/odd/telemetry']),
    );
    expect(messages.every((m) => m.readings <= 4)).toBe(true);
    const back = messages.flatMap((m) => {
      const device = m.topic.split('/')[1]!;
      const entries = JSON.parse(m.payload.toString()) as Array<{
        ts: number;
        values: Record<string, number>;
      }>;
      expect(entries.reduce((n, e) => n + Object.keys(e.values).length, 0)).toBe(m.readings);
      return entries.flatMap((e) =>
        Object.entries(e.values).map(([metric, value]) => `${device}|${metric}|${e.ts}|${value}`),
      );
    });
    expect(back.sort()).toEqual(readings.map((r) => `${r.device}|${r.metric}|${r.ts}|${r.value}`).sort());

    const small = encodeMessages([batch], 'x/', { maxReadings: 1000, maxBytes: 120 });
    expect(small.every((m) => m.payload.length <= 120)).toBe(true);
    expect(small.reduce((n, m) => n + m.readings, 0)).toBe(30);
  });
});
