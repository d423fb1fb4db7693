// The analytics end to end on the main-thread side, with the real worker pool
// (build/ must be current) and a clock the test moves; ticks run on real
// timers every few ms, so the test waits for writes, never for time.
import { asyncScheduler, type SchedulerLike } from 'rxjs';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type AlertMessage, createAnalytics } from '../../pipelines/analytics/analytics.js';
import { type AnalyticsPool, createAnalyticsPool } from '../../pipelines/analytics/analytics-pool.js';
import type { SettledBatch } from '../../pipelines/commit-batches.js';
import type { ParsedMessage, Reading } from '../../pipelines/telemetry.js';
import { ALL_MINUTES_CLOSED, type WriteBatch, type WriteResult } from '../../storage/port.js';
import { mulberry32 } from './random.js';

const M = Date.UTC(2025, 5, 1, 12, 30); // a minute start
const LATENESS = 180_000;

function settled(deviceId: string, readings: Reading[], duplicates = 0): SettledBatch {
  const message: ParsedMessage = {
    message: {
      topic: `devices/${deviceId}/telemetry`,
      payload: new Uint8Array(),
      qos: 1,
      receivedAt: 0,
      settle: () => {},
    },
    deviceId,
    readings,
    rejections: [],
    rejectedCount: 0,
  };
  return {
    messages: [message],
    readings: readings.length,
    deadLetters: 0,
    result: { inserted: readings.length - duplicates, duplicates, deadLetters: 0, commitMs: 1 },
    writeMs: 1,
  };
}

describe('analytics', () => {
  let pool: AnalyticsPool;
  let now: number;
  let writes: WriteBatch[];
  let waiters: Array<() => void>;
  const counts = { tooLate: 0, skipped: 0, anomalies: 0 };
  const failures: unknown[] = [];
  const alerts: Array<{ topic: string; alert: AlertMessage }> = [];
  const scheduler: SchedulerLike = {
    now: () => now,
    schedule: asyncScheduler.schedule.bind(asyncScheduler) as SchedulerLike['schedule'],
  };
  const alerted = (): Promise<void> =>
    new Promise((resolve) => {
      const check = () => (alerts.length > 0 ? resolve() : waiters.push(check));
      check();
    });
  const nextWrite = (): Promise<WriteBatch> => {
    const seen = writes.length;
    return new Promise((resolve) => {
      const check = () => (writes.length > seen ? resolve(writes[seen]!) : waiters.push(check));
      check();
    });
  };

  beforeEach(() => {
    pool = createAnalyticsPool({ threads: 1 });
    writes = [];
    waiters = [];
    alerts.length = 0;
    Object.assign(counts, { tooLate: 0, skipped: 0, anomalies: 0 });
  });
  afterEach(async () => {
    await pool.close();
    expect(failures).toEqual([]);
  });

  const start = () =>
    createAnalytics({
      writer: {
        async write(batch): Promise<WriteResult> {
          writes.push(batch);
          for (const w of waiters.splice(0)) w();
          return { inserted: 0, duplicates: 0, deadLetters: 0, commitMs: 0 };
        },
      },
      runTask: (task) => pool.run(task),
      publishAlert: (alert) => {
        alerts.push({ topic: `alerts/${alert.device}`, alert });
        for (const w of waiters.splice(0)) w();
      },
      observer: {
        tooLate: (n) => (counts.tooLate += n),
        skipped: (n) => (counts.skipped += n),
        anomalies: (n) => (counts.anomalies += n),
        failed: (err) => failures.push(err),
      },
      latenessMs: LATENESS,
      emitDelayMs: 5_000,
      tickMs: 5,
      scheduler,
    });

  it('rolls up a closed minute in the pool, stores and publishes its spike, then corrects it with a late reading', async () => {
    now = M + 1_000;
    const analytics = start();
    const rand = mulberry32(11);
    const readings: Reading[] = [];
    for (let s = 0; s < 60; s++) {
      const value = s === 40 ? 36 : 21 + (rand() - 0.5) * 0.3;
      readings.push({ metric: 'temp', ts: M + s * 1_000, value });
    }
    analytics.committed(settled('pi-1', readings.slice(0, 30)));
    analytics.committed(settled('pi-1', readings.slice(30)));

    const closing = nextWrite();
    now = M + 65_000;
    const closed = await closing;
    expect(Array.from(closed.rollups!.bucket)).toEqual([M]);
    expect(closed.rollups!.count[0]).toBe(60);
    expect(closed.rollups!.max[0]).toBe(36);
    expect(closed.rollups!.devices[closed.rollups!.deviceIndex[0]!]).toBe('pi-1');
    expect(closed.anomalies).toMatchObject([{ deviceId: 'pi-1', metric: 'temp', ts: M + 40_000, value: 36 }]);
    // Published once the anomaly is stored.
    await alerted();
    expect(alerts).toHaveLength(1);
    const { topic, alert } = alerts[0]!;
    expect(topic).toBe('alerts/pi-1');
    expect(alert).toMatchObject({ device: 'pi-1', metric: 'temp', ts: M + 40_000, value: 36 });
    expect(alert.score).toBeGreaterThan(6);
    expect(alert.expected[0]).toBeLessThan(21);
    expect(alert.expected[1]).toBeGreaterThan(21);
    expect(alert.expected[1]).toBeLessThan(36);

    // After the minute closed: a correction of just the late reading's state.
    const correcting = nextWrite();
    analytics.committed(settled('pi-1', [{ metric: 'temp', ts: M + 59_500, value: 22 }]));
    const correction = await correcting;
    expect(Array.from(correction.rollups!.bucket)).toEqual([M]);
    expect(correction.rollups!.count[0]).toBe(1);
    expect(correction.anomalies).toEqual([]);

    // Beyond the lateness: stored raw by the pipeline, counted here, not rolled up.
    now = M + 60_000 + LATENESS;
    analytics.committed(settled('pi-1', [{ metric: 'temp', ts: M + 59_700, value: 22 }]));
    expect(counts.tooLate).toBe(1);

    // A batch with duplicates: readings no newer than the series' newest are taken for retransmits.
    analytics.committed(
      settled(
        'pi-1',
        [
          { metric: 'temp', ts: M + 10_000, value: 21 },
          { metric: 'temp', ts: now, value: 21.1 },
        ],
        1,
      ),
    );
    expect(counts.skipped).toBe(1);

    // Shutdown closes the open minute at once.
    const draining = nextWrite();
    await analytics.drain();
    const last = await draining;
    expect(Array.from(last.rollups!.bucket)).toEqual([Math.floor(now / 60_000) * 60_000]);
    // The minute in progress is closed early, but the watermark stays at the clock's boundary.
    expect(last.analyticsWatermark).toBe(Math.floor((now - 5_000) / 60_000) * 60_000);
    expect(counts.anomalies).toBe(1);
    // Then the clean-stop mark: every minute is committed, the next start rebuilds nothing.
    expect(writes).toHaveLength(4);
    expect(writes[3]!.analyticsWatermark).toBe(ALL_MINUTES_CLOSED);
    expect(writes[3]!.rollups).toBeUndefined();
  });

  it("marks a closed minute's last rollup slice with the analytics watermark, and corrections not", async () => {
    now = M + 1_000;
    const analytics = start();
    // More series than one slice holds (ROLLUP_ROWS_PER_WRITE): the minute is written in two.
    for (let d = 0; d < 300; d++)
      analytics.committed(settled(`pi-${d}`, [{ metric: 'temp', ts: M + d, value: 20 }]));
    const first = nextWrite();
    now = M + 65_000;
    const head = await first;
    const tail = writes.length > 1 ? writes[1]! : await nextWrite();
    expect(head.rollups!.bucket.length + tail.rollups!.bucket.length).toBe(300);
    expect(head.analyticsWatermark).toBeUndefined();
    expect(tail.analyticsWatermark).toBe(M + 60_000);

    const correcting = nextWrite();
    analytics.committed(settled('pi-0', [{ metric: 'temp', ts: M + 59_000, value: 21 }]));
    const correction = await correcting;
    expect(correction.rollups!.count[0]).toBe(1);
    expect(correction.analyticsWatermark).toBeUndefined();
    await analytics.drain();
  });

  it('leaves no clean-stop mark after a lost rollup write, so the next start rebuilds', async () => {
    now = M + 1_000;
    const seen: WriteBatch[] = [];
    const lost: unknown[] = [];
    const analytics = createAnalytics({
      writer: {
        async write(batch): Promise<WriteResult> {
          seen.push(batch);
          if (batch.rollups !== undefined && seen.length === 1) throw new Error('disk full');
          return { inserted: 0, duplicates: 0, deadLetters: 0, commitMs: 0 };
        },
      },
      runTask: (task) => pool.run(task),
      publishAlert: () => {},
      observer: {
        tooLate: () => {},
        skipped: () => {},
        anomalies: () => {},
        failed: (err) => lost.push(err),
      },
      latenessMs: LATENESS,
      scheduler,
    });
    analytics.committed(settled('pi-1', [{ metric: 'temp', ts: M + 500, value: 20 }]));
    await analytics.drain();
    expect(lost).toHaveLength(1);
    expect(seen).toHaveLength(1);
    expect(seen.some((b) => b.analyticsWatermark === ALL_MINUTES_CLOSED)).toBe(false);
  });
});
