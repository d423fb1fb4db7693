import { Subject } from 'rxjs';
import { describe, expect, it } from 'vitest';
import { commitBatches, type SettledBatch } from '../../pipelines/commit-batches.js';
import type { ParsedMessage } from '../../pipelines/telemetry.js';
import type { WriteBatch, WriteResult } from '../../storage/port.js';

const parsed = (device: string, n: number): ParsedMessage => ({
  message: {
    topic: `devices/${device}/telemetry`,
    payload: Buffer.from('{}'),
    qos: 1,
    receivedAt: 1,
    settle: () => {},
  },
  deviceId: device,
  readings: Array.from({ length: n }, (_, i) => ({ metric: 'm', ts: i, value: i })),
  rejections: [],
  rejectedCount: 0,
});

function harness(maxInFlight: number, maxReadings: number) {
  const writes: Array<{ batch: WriteBatch; resolve: (r: WriteResult) => void; reject: (e: Error) => void }> =
    [];
  const input = new Subject<ParsedMessage[]>();
  const out: SettledBatch[] = [];
  let completed = false;
  input
    .pipe(
      commitBatches({
        write: (batch) => new Promise((resolve, reject) => writes.push({ batch, resolve, reject })),
        maxInFlight,
        maxReadings,
        weight: (m) => Math.max(1, m.readings.length),
        maxPayloadBytes: 16,
      }),
    )
    .subscribe({ next: (s) => out.push(s), complete: () => (completed = true) });
  const ok = (i: number) =>
    writes[i]!.resolve({
      inserted: writes[i]!.batch.readings.ts.length,
      duplicates: 0,
      deadLetters: 0,
      commitMs: 0,
    });
  return { writes, input, out, ok, isCompleted: () => completed };
}

const tick = () => new Promise<void>((r) => setImmediate(r));

describe('commitBatches', () => {
  it('merges batches that queued while the writer was busy, up to maxReadings', async () => {
    const h = harness(1, 10);
    h.input.next([parsed('a', 2)]);
    h.input.next([parsed('b', 3)]);
    h.input.next([parsed('c', 4)]);
    h.input.next([parsed('d', 5)]);
    expect(h.writes).toHaveLength(1);
    h.ok(0);
    await tick();
    // b+c = 7 readings fit; d would make 12 > 10 and waits for the next slot.
    expect(h.writes).toHaveLength(2);
    expect(h.writes[1]!.batch.readings.devices).toEqual(['b', 'c']);
    h.ok(1);
    await tick();
    expect(h.writes[2]!.batch.readings.devices).toEqual(['d']);
    expect(h.out.map((s) => s.messages.map((m) => m.topic))).toEqual([
      ['devices/a/telemetry'],
      ['devices/b/telemetry', 'devices/c/telemetry'],
    ]);
    expect(h.out.map((s) => [s.weight, s.readings])).toEqual([
      [2, 2],
      [7, 7],
    ]);
  });

  it('settles a batch with the weight the pipeline counted: a message with no reading weighs 1', async () => {
    const h = harness(1, 10);
    h.input.next([parsed('a', 0), parsed('b', 3)]);
    h.ok(0);
    await tick();
    expect(h.out.map((s) => [s.weight, s.readings])).toEqual([[4, 3]]);
  });

  it('keeps a failed write as a settled value and goes on', async () => {
    const h = harness(2, 100);
    h.input.next([parsed('a', 1)]);
    h.input.next([parsed('b', 1)]);
    h.writes[0]!.reject(Object.assign(new Error('full'), { code: 'GW_ERR_STORAGE_FULL' }));
    h.ok(1);
    await tick();
    expect(h.out[0]!.error).toMatchObject({ code: 'GW_ERR_STORAGE_FULL' });
    expect(h.out[1]!.result?.inserted).toBe(1);
  });

  it('completes only after the last write settles', async () => {
    const h = harness(2, 100);
    h.input.next([parsed('a', 1)]);
    h.input.complete();
    expect(h.isCompleted()).toBe(false);
    h.ok(0);
    await tick();
    expect(h.isCompleted()).toBe(true);
  });

  it('completes at once for an empty stream', () => {
    const h = harness(2, 100);
    h.input.complete();
    expect(h.isCompleted()).toBe(true);
    expect(h.writes).toHaveLength(0);
  });
});
