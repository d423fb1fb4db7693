import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { backoffDelay, DEVICE_BACKOFF } from '../../core/backoff.js';
import { GatewayError } from '../../core/errors.js';
import { createDueSchedule } from '../../simulators/due-schedule.js';
import { formatProgressLine } from '../../simulators/progress.js';
import { parseSimArgs, type SimOptions } from '../../simulators/sim-options.js';
import { createSimulator } from '../../simulators/simulator.js';
import { createFakeNetwork } from './fake-network.js';

const T0 = Date.UTC(2025, 0, 1, 12);

function options(argv: string[]): SimOptions {
  return parseSimArgs(['--quiet', '--spikes', '0', '--dropouts', '0', ...argv]) as SimOptions;
}

interface Entry {
  ts: number;
  values: Record<string, number>;
}

describe('simulator over a fake network (virtual time)', () => {
  beforeEach(() => {
    vi.useFakeTimers({ now: T0 });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  async function runFor(sim: ReturnType<typeof createSimulator>, ms: number) {
    const done = sim.run();
    await vi.advanceTimersByTimeAsync(ms);
    return done;
  }

  it('replays readings buffered while offline as batches with their original timestamps', async () => {
    const net = createFakeNetwork();
    const o = options([
      '--devices',
      '4',
      '--rate',
      '10',
      '--duration',
      '20',
      '--dropouts',
      '300',
      '--dropout-max',
      '1',
    ]);
    const sim = createSimulator(o, { linkFactory: net.factory, random: () => 0.5 });
    const summary = await runFor(sim, 21_000);

    expect(summary.ok).toBe(true);
    expect(summary.messages.unacked).toBe(0);
    expect(summary.connections.dropouts).toBeGreaterThan(4);
    expect(summary.messages.replayed).toBeGreaterThan(0);
    expect(net.messages.some((m) => Array.isArray(m.body) && m.body.length > 1)).toBe(true);

    for (let d = 1; d <= 4; d++) {
      const id = `sim-0000${d}`;
      const ts = net.messages
        .filter((m) => m.deviceId === id)
        .flatMap((m) => (Array.isArray(m.body) ? m.body : [m.body]) as Entry[])
        .map((e) => e.ts);
      expect(new Set(ts).size).toBe(ts.length);
      // Sampled every 100 ms whether online or not: no gaps, no retimed readings.
      const sorted = [...ts].sort((a, b) => a - b);
      for (let i = 1; i < sorted.length; i++) {
        expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeGreaterThanOrEqual(99);
        expect((sorted[i] as number) - (sorted[i - 1] as number)).toBeLessThanOrEqual(101);
      }
    }
    const sentReadings = net.messages.reduce(
      (n, m) => n + (Array.isArray(m.body) ? m.body.length : 1) * o.metrics.length,
      0,
    );
    expect(summary.readings.sent).toBe(sentReadings);
    expect(summary.readings.acked).toBe(sentReadings);
  });

  it('ramps connections at the configured rate', async () => {
    const net = createFakeNetwork();
    const sim = createSimulator(options(['--devices', '101', '--ramp', '20', '--duration', '8']), {
      linkFactory: net.factory,
    });
    const done = sim.run();
    await vi.advanceTimersByTimeAsync(1000);
    expect(sim.snapshot().counters.connected).toBeLessThanOrEqual(1 + 21);
    await vi.advanceTimersByTimeAsync(5000);
    expect(sim.snapshot().counters.connected).toBe(101);
    await vi.advanceTimersByTimeAsync(3000);
    const summary = await done;
    expect(summary.connected.allConnectedAfterS).toBeGreaterThanOrEqual(4.5);
    expect(summary.connected.allConnectedAfterS).toBeLessThanOrEqual(5.5);
  });

  it('reconnects churned devices with backoff and loses nothing', async () => {
    const net = createFakeNetwork();
    const sim = createSimulator(
      options([
        '--devices',
        '30',
        '--rate',
        '5',
        '--duration',
        '9',
        '--churn',
        '0.5',
        '--churn-interval',
        '2',
      ]),
      { linkFactory: net.factory, random: () => 0.3 },
    );
    const summary = await runFor(sim, 10_000);
    expect(summary.connections.churned).toBeGreaterThan(10);
    expect(summary.connections.reconnects).toBe(summary.connections.churned);
    expect(summary.messages.unacked).toBe(0);
    expect(summary.messages.acked).toBe(summary.messages.sent);
  });

  it('fails with GW_ERR_SIM_CONNECT when the first device cannot connect', async () => {
    const net = createFakeNetwork({ refuse: true });
    const sim = createSimulator(options(['--devices', '10', '--duration', '5']), {
      linkFactory: net.factory,
    });
    const err = await sim.run().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('GW_ERR_SIM_CONNECT');
    expect(net.opens.size).toBe(1);
  });

  it('counts messages never acknowledged within the grace period', async () => {
    const net = createFakeNetwork({ ack: false });
    const sim = createSimulator(options(['--devices', '3', '--duration', '2', '--grace', '1']), {
      linkFactory: net.factory,
    });
    const summary = await runFor(sim, 3100);
    expect(summary.ok).toBe(false);
    expect(summary.messages.sent).toBeGreaterThan(0);
    expect(summary.messages.unacked).toBe(summary.messages.sent);
    expect(summary.error?.code).toBe('GW_ERR_SIM_UNACKED');
  });

  it('stops early on stop() and still summarizes', async () => {
    const net = createFakeNetwork();
    const sim = createSimulator(options(['--devices', '5']), { linkFactory: net.factory });
    const done = sim.run();
    await vi.advanceTimersByTimeAsync(2000);
    sim.stop();
    await vi.advanceTimersByTimeAsync(10);
    const summary = await done;
    expect(summary.ok).toBe(true);
    expect(summary.messages.sent).toBeGreaterThanOrEqual(5);
  });

  it('records injected spikes as ground truth matching what was sent', async () => {
    const net = createFakeNetwork();
    const o = parseSimArgs([
      '--devices',
      '10',
      '--rate',
      '10',
      '--duration',
      '30',
      '--spikes',
      '600',
      '--dropouts',
      '0',
    ]) as SimOptions;
    const summary = await runFor(createSimulator(o, { linkFactory: net.factory }), 31_000);
    expect(summary.anomalies.count).toBeGreaterThan(10);
    for (const a of summary.anomalies.list) {
      const sent = net.messages
        .filter((m) => m.deviceId === a.deviceId)
        .flatMap((m) => (Array.isArray(m.body) ? m.body : [m.body]) as Entry[])
        .find((e) => e.ts === a.ts);
      expect(sent?.values[a.metric]).toBe(a.value);
    }
  });
});

describe('due schedule', () => {
  it('visits every device once per period, in due order', () => {
    const schedule = createDueSchedule({ devices: 50, periodMs: 1000, startMs: 0, seed: 3 });
    const seen: number[] = [];
    let last = -1;
    for (let t = 0; t < 3000; t += 50) {
      schedule.takeDue(t, (device, due) => {
        expect(due).toBeGreaterThanOrEqual(last);
        expect(due).toBeLessThanOrEqual(t);
        last = due;
        seen.push(device);
      });
    }
    const counts = new Map<number, number>();
    for (const d of seen) counts.set(d, (counts.get(d) ?? 0) + 1);
    expect(counts.size).toBe(50);
    for (const n of counts.values()) expect(n).toBeGreaterThanOrEqual(2);
    for (const n of counts.values()) expect(n).toBeLessThanOrEqual(3);
  });

  it('catches up after a stall without skipping anyone', () => {
    const schedule = createDueSchedule({ devices: 10, periodMs: 100, startMs: 0, seed: 1 });
    // One call's work is bounded; repeated ticks drain the backlog.
    let total = 0;
    for (let served = -1; served !== 0; ) {
      served = schedule.takeDue(1000, () => {});
      expect(served).toBeLessThanOrEqual(40);
      total += served;
    }
    expect(total).toBe(100);
  });
});

describe('backoff', () => {
  it('grows exponentially, is capped and jittered', () => {
    expect(backoffDelay(0, { ...DEVICE_BACKOFF, random: () => 0 })).toBe(250);
    expect(backoffDelay(0, { ...DEVICE_BACKOFF, random: () => 0.999 })).toBeLessThanOrEqual(500);
    expect(backoffDelay(3, { ...DEVICE_BACKOFF, random: () => 0 })).toBe(2000);
    expect(backoffDelay(20, { ...DEVICE_BACKOFF, random: () => 0.999 })).toBeLessThanOrEqual(30_000);
    expect(backoffDelay(20, { ...DEVICE_BACKOFF, random: () => 0 })).toBe(15_000);
  });
});

describe('progress line', () => {
  it('shows connected/target, rates, in flight, latency and errors', () => {
    const base = {
      target: 10,
      latency: { count: 5, p50: 1.5, p90: 2, p99: 7.25, max: 8, mean: 2 },
      errors: new Map([['ECONNRESET', 2]]),
    };
    const counters = { messagesSent: 0, messagesAcked: 0, inFlight: 0, connected: 0 };
    const previous = { ...base, elapsedMs: 1000, counters: { ...counters } };
    const current = {
      ...base,
      elapsedMs: 3000,
      counters: { ...counters, messagesSent: 400, messagesAcked: 380, inFlight: 20, connected: 10 },
    };
    const line = formatProgressLine(current as never, previous as never);
    expect(line).toBe(
      '[3s] | connected 10/10 | sent 200/s | acked 190/s | in flight 20 | ack p50 1.5 ms p99 7.25 ms | errors ECONNRESET=2',
    );
  });
});
