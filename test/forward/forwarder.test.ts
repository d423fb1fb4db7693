// The forwarder's reading of the log (pipelines/forward/forwarder.ts), with a
// log and an upstream of our own whose answers the test releases one by one:
// the next page is read while the current one is in flight, and a read left
// over from before a restart never lets two reads run at once.

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createForwarder, type Upstream } from '../../pipelines/forward/forwarder.js';
import type { ForwardBatch, ForwardLog, ForwardPage } from '../../storage/forward-port.js';
import { makeBatch } from '../storage/make-batch.js';

interface Pending<T> {
  resolve: (value: T) => void;
  reject: (err: Error) => void;
}

function deferred<T>(into: Pending<T>[]): Promise<T> {
  return new Promise<T>((resolve, reject) => into.push({ resolve, reject }));
}

/** Three devices per batch: three messages per page. */
function batch(seq: number): ForwardBatch {
  const readings = ['a', 'b', 'c'].map((device) => ({ device, metric: 't', ts: 1_000 + seq, value: seq }));
  return { seq, committedAt: 0, readings: makeBatch(readings).readings };
}

function page(seq: number): ForwardPage {
  return { batches: [batch(seq)], readings: 3 };
}

function setup() {
  const reads: Array<{ afterSeq: number } & Pending<ForwardPage>> = [];
  const publishes: Pending<void>[] = [];
  const log: ForwardLog = {
    page(afterSeq) {
      const pending: Pending<ForwardPage>[] = [];
      const answer = deferred(pending);
      reads.push({ afterSeq, ...pending[0]! });
      return answer;
    },
    advance: async () => {},
    status: async () => ({
      cursor: 0,
      backlogReadings: 0,
      backlogBatches: 0,
      oldestCommittedAt: null,
      forwardedReadings: 0,
      droppedReadings: 0,
      clientId: 'c',
    }),
  };
  const upstream: Upstream = { connected: true, publish: () => deferred(publishes) };
  const errors: unknown[] = [];
  const forwarder = createForwarder({
    log,
    upstream,
    topicPrefix: 'devices/',
    limits: { maxReadings: 1000, maxBytes: 65_536 },
    window: 1,
    pageReadings: 3,
    idlePollMs: 50,
    onError: (err) => errors.push(err),
  });
  return { forwarder, reads, publishes, errors };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('forwarder', () => {
  it('reads the next page while the current one is still in flight', async () => {
    const f = setup();
    await f.forwarder.start();
    expect(f.reads.map((r) => r.afterSeq)).toEqual([0]);
    f.reads[0]!.resolve(page(1));
    await vi.advanceTimersByTimeAsync(0);
    // Window 1: one of page 1's three messages is out, none acknowledged.
    expect(f.publishes).toHaveLength(1);
    expect(f.reads.map((r) => r.afterSeq)).toEqual([0, 1]);
    await f.forwarder.stop();
  });

  it('a read from before a restart does not let a second read run beside the new one', async () => {
    const f = setup();
    await f.forwarder.start();
    f.reads[0]!.resolve(page(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(f.reads).toHaveLength(2); // the read ahead, still running
    // The session loses the message: the forwarder starts again from the cursor.
    f.publishes[0]!.reject(new Error('connection lost'));
    await vi.advanceTimersByTimeAsync(50);
    expect(f.errors).toHaveLength(1);
    expect(f.reads).toHaveLength(3);
    expect(f.reads[2]!.afterSeq).toBe(0);
    // The old read answers late, then something wakes the forwarder.
    f.reads[1]!.resolve(page(2));
    await vi.advanceTimersByTimeAsync(0);
    f.forwarder.wake();
    await vi.advanceTimersByTimeAsync(0);
    // No read beside the new one, which still runs.
    expect(f.reads).toHaveLength(3);
    // The new read's page is the one sent.
    f.reads[2]!.resolve(page(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(f.publishes).toHaveLength(2);
    await f.forwarder.stop();
  });
});
