// The analytics on the main-thread side: committed batches in, alert
// transitions stored then published. The first test runs the real worker
// pool (build/ must be current); the others score in-process, with tasks the
// test releases, so they wait for events, never for time.
import { afterEach, describe, expect, it } from 'vitest';
import type { GatewayError } from '../../core/errors.js';
import {
  type AlertMessage,
  type AnalyticsObserver,
  type AnalyticsOptions,
  createAnalytics,
} from '../../pipelines/analytics/analytics.js';
import { createAnalyticsPool } from '../../pipelines/analytics/analytics-pool.js';
import {
  type ScoreResult,
  type ScoreTask,
  scoreReadings,
} from '../../pipelines/analytics-workers/score-readings.js';
import type { SettledBatch } from '../../pipelines/commit-batches.js';
import type { ParsedMessage, Reading } from '../../pipelines/telemetry.js';
import { WriteBatchBuilder } from '../../pipelines/to-write-batch.js';
import type { AlertState, WriteBatch, WriteResult } from '../../storage/port.js';
import { mulberry32 } from './random.js';

const T0 = Date.UTC(2025, 5, 1, 12, 30);

function message(deviceId: string, readings: Reading[]): ParsedMessage {
  return {
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
}

function settled(deviceId: string, readings: Reading[], duplicates = 0): SettledBatch {
  const m = message(deviceId, readings);
  return {
    messages: [m.message],
    weight: readings.length,
    readings: readings.length,
    columns: new WriteBatchBuilder({ maxPayloadBytes: 16 }).add([m]).columns(),
    deadLetters: 0,
    result: { inserted: readings.length - duplicates, duplicates, deadLetters: 0, commitMs: 1 },
    writeMs: 1,
  };
}

/** One reading a second around 21, from second `from` on. */
function normal(from: number, count: number, metric = 'temp', seed = 11): Reading[] {
  const rand = mulberry32(seed + from);
  return Array.from({ length: count }, (_, i) => ({
    metric,
    ts: T0 + (from + i) * 1000,
    value: 21 + (rand() - 0.5) * 0.3,
  }));
}

/** Resolves when `ready()` holds, re-checked after every event the harness sees. */
function events() {
  const waiters: Array<() => void> = [];
  return {
    notify: () => {
      for (const w of waiters.splice(0)) w();
    },
    until: (ready: () => boolean): Promise<void> =>
      new Promise((resolve) => {
        const check = () => (ready() ? resolve() : waiters.push(check));
        check();
      }),
  };
}

function harness(overrides: Partial<AnalyticsOptions> = {}) {
  const ev = events();
  const writes: WriteBatch[] = [];
  const alerts: AlertMessage[] = [];
  const failures: GatewayError[] = [];
  const counts = { late: 0, skipped: 0, dropped: 0, evicted: 0, anomalies: 0, raised: 0, cleared: 0 };
  const delays: number[] = [];
  let clock = 1_000;
  const observer: AnalyticsObserver = {
    late: (n) => (counts.late += n),
    skipped: (n) => (counts.skipped += n),
    dropped: (n) => (counts.dropped += n),
    evicted: (n) => (counts.evicted += n),
    anomalies: (n) => (counts.anomalies += n),
    alerts: (state: AlertState, n) => (counts[state] += n),
    alertDelay: (ms) => {
      delays.push(ms);
      ev.notify();
    },
    failed: (err) => {
      failures.push(err);
      ev.notify();
    },
  };
  const analytics = createAnalytics({
    writer: {
      async write(batch): Promise<WriteResult> {
        writes.push(batch);
        return { inserted: 0, duplicates: 0, deadLetters: 0, commitMs: 0 };
      },
    },
    runTask: async (task) => scoreReadings(task),
    publishAlert: (alert) => {
      alerts.push(alert);
      ev.notify();
    },
    observer,
    now: () => clock,
    ...overrides,
  });
  return {
    analytics,
    writes,
    alerts,
    failures,
    counts,
    delays,
    until: ev.until,
    notify: ev.notify,
    advance: (ms: number) => {
      clock += ms;
    },
  };
}

/** Tasks that wait for the test to release them, scored in-process. */
function gatedTasks(onTask: () => void) {
  const tasks: Array<{ task: ScoreTask; release: () => void }> = [];
  return {
    tasks,
    runTask: (task: ScoreTask) =>
      new Promise<ScoreResult>((resolve) => {
        tasks.push({ task, release: () => resolve(scoreReadings(task)) });
        onTask();
      }),
  };
}

describe('analytics', () => {
  const pools: Array<{ close(): Promise<void> }> = [];
  afterEach(async () => {
    await Promise.all(pools.splice(0).map((p) => p.close()));
  });

  it('scores each batch in the pool as it commits: 60 normal readings in one batch, then a far-off one raises an alert; normal ones clear it', async () => {
    const pool = createAnalyticsPool({ threads: 1 });
    pools.push(pool);
    const h = harness({ runTask: (task) => pool.run(task) });
    h.analytics.committed(settled('pi-1', normal(0, 60)));
    h.analytics.committed(settled('pi-1', [{ metric: 'temp', ts: T0 + 60_000, value: 36 }]));
    await h.until(() => h.alerts.length === 1);

    const raised = h.alerts[0]!;
    expect(raised).toMatchObject({
      state: 'raised',
      device: 'pi-1',
      metric: 'temp',
      ts: T0 + 60_000,
      value: 36,
    });
    expect(raised.score).toBeGreaterThan(6);
    expect(raised.expected[0]).toBeLessThan(21);
    expect(raised.expected[1]).toBeGreaterThan(21);
    expect(raised.expected[1]).toBeLessThan(36);
    // Stored before it is published.
    expect(h.writes.at(-1)!.anomalies).toEqual([
      {
        deviceId: 'pi-1',
        metric: 'temp',
        ts: T0 + 60_000,
        value: 36,
        score: raised.score,
        expectedLow: raised.expected[0],
        expectedHigh: raised.expected[1],
        state: 'raised',
      },
    ]);
    expect(h.writes.at(-1)!.readings.ts).toHaveLength(0);

    // Five normal readings (the default hysteresis), some alone, some in a batch.
    h.analytics.committed(settled('pi-1', normal(61, 1)));
    h.analytics.committed(settled('pi-1', normal(62, 4)));
    await h.until(() => h.alerts.length === 2);
    expect(h.alerts[1]).toMatchObject({ state: 'cleared', device: 'pi-1', ts: T0 + 65_000 });
    expect(h.writes.at(-1)!.anomalies).toMatchObject([{ state: 'cleared', ts: T0 + 65_000 }]);

    await h.analytics.drain();
    expect(h.counts).toMatchObject({ anomalies: 1, raised: 1, cleared: 1, late: 0, skipped: 0, dropped: 0 });
    expect(h.delays).toEqual([0, 0]);
    expect(h.failures).toEqual([]);
  });

  it("sends what commits while a task runs as one task, in commit order, and measures the delay from each batch's ack", async () => {
    let h!: ReturnType<typeof harness>;
    const gate = gatedTasks(() => h.notify());
    h = harness({ runTask: gate.runTask });
    h.analytics.committed(settled('pi-1', normal(0, 30)));
    await h.until(() => gate.tasks.length === 1);
    // Three batches commit while the first task runs: the far-off reading in the second.
    h.analytics.committed(settled('pi-1', normal(30, 30)));
    h.advance(100);
    h.analytics.committed(settled('pi-1', [{ metric: 'temp', ts: T0 + 60_000, value: 36 }]));
    h.advance(100);
    h.analytics.committed(settled('pi-1', normal(61, 2)));
    gate.tasks[0]!.release();
    await h.until(() => gate.tasks.length === 2);
    const second = gate.tasks[1]!.task;
    expect(Array.from(second.ts)).toEqual([
      ...normal(30, 30).map((r) => r.ts),
      T0 + 60_000,
      ...normal(61, 2).map((r) => r.ts),
    ]);
    h.advance(50);
    gate.tasks[1]!.release();
    await h.until(() => h.delays.length === 1);
    expect(h.alerts[0]).toMatchObject({ state: 'raised', ts: T0 + 60_000 });
    // Acked at 1100 (the batch that carried it), published at 1250.
    expect(h.delays).toEqual([150]);
    await h.analytics.drain();
    expect(gate.tasks).toHaveLength(2);
  });

  it('starts a task no sooner than the interval after the last one started, and gathers what commits meanwhile', async () => {
    let h!: ReturnType<typeof harness>;
    const pauses: Array<{ ms: number; end: () => void }> = [];
    h = harness({
      minTaskIntervalMs: 50,
      pause: (ms) =>
        new Promise<void>((resolve) => {
          pauses.push({ ms, end: resolve });
          h.notify();
        }),
      runTask: async (task) => {
        tasks.push(task);
        h.advance(10); // the task took 10 ms
        return scoreReadings(task);
      },
    });
    const tasks: ScoreTask[] = [];
    h.analytics.committed(settled('pi-1', normal(0, 3)));
    await h.until(() => pauses.length === 1);
    expect(tasks).toHaveLength(1);
    // 10 ms of the interval went to the task: it waits out the other 40.
    expect(pauses[0]!.ms).toBe(40);
    h.analytics.committed(settled('pi-1', normal(3, 2)));
    h.analytics.committed(settled('pi-1', normal(5, 2)));
    expect(tasks).toHaveLength(1);
    h.advance(40);
    pauses[0]!.end();
    await h.until(() => pauses.length === 2);
    expect(tasks).toHaveLength(2);
    expect(Array.from(tasks[1]!.ts)).toEqual(normal(3, 4).map((r) => r.ts));
    // drain resolves once the pause after the last task is over
    h.advance(40);
    pauses[1]!.end();
    await h.analytics.drain();
    expect(pauses).toHaveLength(2);
    expect(h.failures).toEqual([]);
  });

  it('judges a late reading without learning from it, and leaves out probable retransmits', async () => {
    const h = harness();
    h.analytics.committed(settled('pi-1', normal(0, 60)));
    // Older than the newest scored reading, but not a retransmit (no duplicates in its batch).
    h.analytics.committed(settled('pi-1', [{ metric: 'temp', ts: T0 + 30_500, value: 21 }]));
    // A batch with duplicates: readings no newer than the series' newest are taken for retransmits.
    h.analytics.committed(
      settled(
        'pi-1',
        [
          { metric: 'temp', ts: T0 + 10_000, value: 21 },
          { metric: 'temp', ts: T0 + 60_000, value: 21.1 },
        ],
        1,
      ),
    );
    await h.analytics.drain();
    expect(h.counts).toMatchObject({ late: 1, skipped: 1, anomalies: 0 });
  });

  it('reports a failed task with a code and goes on with the next, every series warming up again', async () => {
    let calls = 0;
    const h = harness({
      runTask: async (task) => {
        if (++calls === 2) throw new Error('worker died');
        return scoreReadings(task);
      },
    });
    h.analytics.committed(settled('pi-1', normal(0, 60)));
    h.analytics.committed(settled('pi-1', normal(60, 1)));
    await h.until(() => h.failures.length === 1);
    expect(h.failures[0]).toMatchObject({ code: 'GW_ERR_ANALYTICS_TASK', cause: { message: 'worker died' } });
    // The state went with the failed task: the far-off reading is warm-up now.
    h.analytics.committed(settled('pi-1', [{ metric: 'temp', ts: T0 + 61_000, value: 36 }]));
    await h.analytics.drain();
    expect(calls).toBe(3);
    expect(h.alerts).toEqual([]);
  });

  it('publishes nothing when the alerts cannot be stored', async () => {
    const h = harness({
      writer: {
        write: () => Promise.reject(Object.assign(new Error('disk full'), { code: 'GW_ERR_STORAGE_FULL' })),
      },
    });
    h.analytics.committed(
      settled('pi-1', [...normal(0, 60), { metric: 'temp', ts: T0 + 60_000, value: 36 }]),
    );
    await h.analytics.drain();
    expect(h.failures).toMatchObject([
      { code: 'GW_ERR_ANALYTICS_ALERTS_LOST', cause: { code: 'GW_ERR_STORAGE_FULL' } },
    ]);
    expect(h.alerts).toEqual([]);
    expect(h.counts.raised).toBe(0);
  });

  it('keeps the state of at most maxSeries series: a series that lost its slot warms up again', async () => {
    let h!: ReturnType<typeof harness>;
    const gate = gatedTasks(() => h.notify());
    h = harness({ runTask: gate.runTask, maxSeries: 2 });
    /** Lets task n run and waits until the next one has been sent: by then task n has come back. */
    const releaseTask = async (n: number) => {
      gate.tasks[n - 1]!.release();
      await h.until(() => gate.tasks.length > n);
    };
    h.analytics.committed(settled('pi-1', normal(0, 60)));
    h.analytics.committed(settled('pi-2', normal(0, 60)));
    await releaseTask(1);
    // Task 1 is back: pi-1, the least recently seen, gives its slot to pi-3.
    h.analytics.committed(settled('pi-3', normal(0, 60)));
    // pi-2's slot is out with task 2, so pi-1, back, finds no slot yet: not scored, counted.
    h.analytics.committed(settled('pi-1', normal(60, 1)));
    expect(h.counts).toMatchObject({ evicted: 1, dropped: 1 });
    await releaseTask(2);
    // Now pi-1 takes pi-2's slot and starts over: 36 is part of its warm-up.
    h.analytics.committed(settled('pi-1', [{ metric: 'temp', ts: T0 + 61_000, value: 36 }]));
    // pi-3 kept its state: the same value raises its alert.
    h.analytics.committed(settled('pi-3', [{ metric: 'temp', ts: T0 + 60_000, value: 36 }]));
    await releaseTask(3);
    gate.tasks[3]!.release();
    await h.analytics.drain();
    expect(h.counts.evicted).toBe(2);
    expect(Array.from(gate.tasks[3]!.task.reset)).toEqual([1]);
    expect(h.alerts.map((a) => a.device)).toEqual(['pi-3']);
  });

  it('drops batches beyond maxQueuedReadings while the worker is behind, and counts them', async () => {
    let h!: ReturnType<typeof harness>;
    const gate = gatedTasks(() => h.notify());
    h = harness({ runTask: gate.runTask, maxQueuedReadings: 100 });
    h.analytics.committed(settled('pi-1', normal(0, 60)));
    await h.until(() => gate.tasks.length === 1);
    h.analytics.committed(settled('pi-1', normal(60, 60)));
    h.analytics.committed(settled('pi-1', normal(120, 60)));
    expect(h.counts.dropped).toBe(60);
    gate.tasks[0]!.release();
    await h.until(() => gate.tasks.length === 2);
    gate.tasks[1]!.release();
    await h.analytics.drain();
    expect(gate.tasks[1]!.task.ts).toHaveLength(60);
  });

  it('drains: whatever committed is scored and its alerts published before drain() resolves; later batches are ignored', async () => {
    let h!: ReturnType<typeof harness>;
    const gate = gatedTasks(() => h.notify());
    h = harness({ runTask: gate.runTask });
    h.analytics.committed(settled('pi-1', normal(0, 60)));
    await h.until(() => gate.tasks.length === 1);
    h.analytics.committed(settled('pi-1', [{ metric: 'temp', ts: T0 + 60_000, value: 36 }]));
    let drained = false;
    const draining = h.analytics.drain().then(() => {
      drained = true;
    });
    h.analytics.committed(settled('pi-1', normal(61, 10)));
    gate.tasks[0]!.release();
    await h.until(() => gate.tasks.length === 2);
    expect(drained).toBe(false);
    gate.tasks[1]!.release();
    await draining;
    expect(h.alerts.map((a) => a.state)).toEqual(['raised']);
    expect(gate.tasks).toHaveLength(2);
  });
});
