import { TestScheduler } from 'rxjs/testing';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../core/errors.js';
import { createIngestPipeline } from '../../pipelines/ingest-pipeline.js';
import type { IngestMessage } from '../../pipelines/telemetry.js';
import type { WriteBatch, WriteResult } from '../../storage/port.js';

interface Deferred {
  batch: WriteBatch;
  resolve: (r: WriteResult) => void;
  reject: (e: Error) => void;
}

function harness(opts: { highWater?: number; maxReadings?: number } = {}) {
  const scheduler = new TestScheduler(() => {});
  const writes: Deferred[] = [];
  const settled: string[] = [];
  const pipeline = createIngestPipeline({
    write: (batch) => new Promise((resolve, reject) => writes.push({ batch, resolve, reject })),
    limits: { maxPayloadBytes: 1024, maxReadingsPerMessage: 100, maxFutureMs: 60_000, maxPastMs: 60_000 },
    batchMaxReadings: opts.maxReadings ?? 100,
    batchMaxDelayMs: 5,
    writeMaxInFlight: 2,
    highWaterReadings: opts.highWater ?? 1000,
    deadLetterPayloadBytes: 64,
    observer: { parsed() {}, settled() {} },
    scheduler,
  });
  const message = (device: string, value: number, qos: 0 | 1 = 1) =>
    new Promise<Error | undefined>((resolve) => {
      const m: IngestMessage = {
        topic: `devices/${device}/telemetry`,
        payload: Buffer.from(JSON.stringify({ ts: 1000 + value, values: { t: value } })),
        qos,
        receivedAt: 1000,
        settle: (err) => {
          settled.push(`${device}:${value}`);
          resolve(err);
        },
      };
      pipeline.offer(m, () => settled.push(`admitted ${device}:${value}`));
    });
  return { scheduler, writes, settled, pipeline, message };
}

const ok = (inserted: number): WriteResult => ({ inserted, duplicates: 0, deadLetters: 0, commitMs: 1 });

describe('createIngestPipeline', () => {
  it('holds settlement until the batch is committed, then settles in arrival order', async () => {
    const h = harness();
    const a = h.message('d1', 1);
    const b = h.message('d2', 2);
    const c = h.message('d1', 3);
    expect(h.writes).toHaveLength(0);
    h.scheduler.flush();
    expect(h.writes).toHaveLength(1);
    const cols = h.writes[0]!.batch.readings;
    expect(cols.devices).toEqual(['d1', 'd2']);
    expect(Array.from(cols.value)).toEqual([1, 2, 3]);
    expect(h.settled).toEqual(['admitted d1:1', 'admitted d2:2', 'admitted d1:3']);
    h.writes[0]!.resolve(ok(3));
    expect(await Promise.all([a, b, c])).toEqual([undefined, undefined, undefined]);
    expect(h.settled.slice(3)).toEqual(['d1:1', 'd2:2', 'd1:3']);
    expect(h.pipeline.pendingReadings).toBe(0);
  });

  it('settles every message of a failed batch with the storage error', async () => {
    const h = harness();
    const a = h.message('d1', 1);
    h.scheduler.flush();
    h.writes[0]!.reject(new GatewayError('GW_ERR_STORAGE_FULL'));
    expect(await a).toMatchObject({ code: 'GW_ERR_STORAGE_FULL' });
  });

  it('parks messages above the high-water mark and admits them as commits land', async () => {
    const h = harness({ highWater: 2, maxReadings: 2 });
    const first = [h.message('d1', 1), h.message('d1', 2)];
    // pending is now 2: the next offer waits, and so would its socket.
    const parked = h.message('d1', 3);
    expect(h.pipeline.parkedMessages).toBe(1);
    expect(h.settled).not.toContain('admitted d1:3');
    expect(h.writes).toHaveLength(1);
    h.writes[0]!.resolve(ok(2));
    await Promise.all(first);
    expect(h.settled).toContain('admitted d1:3');
    expect(h.pipeline.parkedMessages).toBe(0);
    h.scheduler.flush();
    h.writes[1]!.resolve(ok(1));
    expect(await parked).toBeUndefined();
  });

  it('admits parked messages once the queue is empty, even with a high-water mark of 1', async () => {
    const h = harness({ highWater: 1, maxReadings: 1 });
    const first = h.message('d1', 1);
    const parked = h.message('d1', 2);
    expect(h.pipeline.parkedMessages).toBe(1);
    h.writes[0]!.resolve(ok(1));
    await first;
    expect(h.pipeline.parkedMessages).toBe(0);
    h.scheduler.flush();
    h.writes[1]!.resolve(ok(1));
    expect(await parked).toBeUndefined();
  });

  it('drain flushes the partial batch, resolves after it settles, then refuses new offers', async () => {
    const h = harness();
    const a = h.message('d1', 1);
    const drained = h.pipeline.drain();
    expect(h.writes).toHaveLength(1);
    h.writes[0]!.resolve(ok(1));
    await drained;
    expect(await a).toBeUndefined();
    expect(await h.message('d1', 2)).toMatchObject({ code: 'GW_ERR_SHUTTING_DOWN' });
  });
});
