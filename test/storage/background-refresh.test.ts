import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import {
  checkRollupCpuPercent,
  type StepOutcome,
  startBackgroundRefresh,
} from '../../storage/background-refresh.js';
import { restForShare } from '../../storage/query/query-pacer.js';
import { REFRESH_POLL_MS } from '../../storage/rollup-refresh.js';

// Virtual time: a step "works" by moving the fake clock on, and the loop's
// rests are the fake timers it sets.
describe('startBackgroundRefresh', () => {
  beforeEach(() => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'setImmediate', 'clearImmediate', 'Date'] });
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  /** A job of `steps` steps of `workMs` each; records when each step began. */
  function job(steps: number, workMs: number, outcome?: (more: boolean) => StepOutcome) {
    const began: number[] = [];
    const step = () => {
      began.push(Date.now());
      vi.setSystemTime(Date.now() + workMs);
      const more = began.length < steps;
      return outcome === undefined ? { more, workMs } : outcome(more);
    };
    return { began, step };
  }

  it.each([
    // cpuPercent, a step's work, the gap from one step's start to the next
    [25, 4, 16],
    [50, 4, 8],
  ])('at %i percent of a core, steps of %i ms start %i ms apart', async (cpuPercent, workMs, gap) => {
    const { began, step } = job(4, workMs);
    const loop = startBackgroundRefresh({ step, cpuPercent, onError: () => {}, now: () => Date.now() });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(3 * gap + 1);
    loop.stop();
    expect(began.map((t) => t - t0)).toEqual([0, gap, 2 * gap, 3 * gap]);
  });

  it('at 100 % of a core, runs the steps back to back, one turn of the loop apart', async () => {
    const { began, step } = job(4, 4);
    const loop = startBackgroundRefresh({ step, cpuPercent: 100, onError: () => {}, now: () => Date.now() });
    await vi.advanceTimersByTimeAsync(100);
    loop.stop();
    expect(began).toHaveLength(4);
    // The fake clock counts a setImmediate turn as up to 1 ms.
    for (let i = 1; i < began.length; i++) expect(began[i]! - began[i - 1]!).toBeLessThanOrEqual(5);
  });

  it('runs back to back once a spell of work outlasts maxPacedSpellMs, and paces the next spell again', async () => {
    // Two spells of work with an idle poll between: 11 steps with more to do, then
    // none left; then, at the next poll, 3 more.
    const plan = [...Array<boolean>(11).fill(true), false, true, true, true, false];
    const began: number[] = [];
    const step = () => {
      began.push(Date.now());
      vi.setSystemTime(Date.now() + 4);
      return { more: plan.shift() ?? false, workMs: 4 };
    };
    const loop = startBackgroundRefresh({
      step,
      cpuPercent: 25,
      maxPacedSpellMs: 100,
      onError: () => {},
      now: () => Date.now(),
    });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(2_000);
    loop.stop();
    const at = began.map((t) => t - t0);
    // Paced (16 ms apart) while the spell is within 100 ms: steps at 0, 16, …, 112.
    expect(at.slice(0, 8)).toEqual([0, 16, 32, 48, 64, 80, 96, 112]);
    // Past it, back to back until the job is done (the 12th step finds nothing left).
    for (let i = 8; i < 12; i++) expect(at[i]! - at[i - 1]!).toBeLessThanOrEqual(5);
    // The poll a second later starts a new spell, paced again.
    const second = at.slice(12, 16);
    expect(second[0]).toBe(at[11]! + 4 + REFRESH_POLL_MS);
    expect(second.map((t) => t - second[0]!)).toEqual([0, 16, 32, 48]);
  });

  it('polls once a second when nothing is stale, and stops', async () => {
    const { began, step } = job(1, 1);
    const loop = startBackgroundRefresh({ step, cpuPercent: 25, onError: () => {}, now: () => Date.now() });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(2 * REFRESH_POLL_MS + 10);
    loop.stop();
    await vi.advanceTimersByTimeAsync(5 * REFRESH_POLL_MS);
    expect(began.map((t) => t - t0)).toEqual([0, REFRESH_POLL_MS + 1, 2 * REFRESH_POLL_MS + 2]);
  });

  it('rests after the work a step reports, not after its wait in the queue', async () => {
    // Each step takes 40 ms of wall time but says it worked 4 of them.
    const { began, step } = job(3, 40, (more) => ({ more, workMs: 4 }));
    const loop = startBackgroundRefresh({ step, cpuPercent: 25, onError: () => {}, now: () => Date.now() });
    const t0 = Date.now();
    await vi.advanceTimersByTimeAsync(200);
    loop.stop();
    expect(began.map((t) => t - t0)).toEqual([0, 52, 104]);
  });

  it('reports a failed step and retries it at the next poll', async () => {
    const errors: unknown[] = [];
    let calls = 0;
    const step = () => {
      calls++;
      if (calls === 1) throw new Error('disk full');
      return { more: false, workMs: 0 };
    };
    const loop = startBackgroundRefresh({ step, cpuPercent: 25, onError: (err) => errors.push(err) });
    await vi.advanceTimersByTimeAsync(REFRESH_POLL_MS - 1);
    expect(calls).toBe(1);
    expect(errors).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(2);
    loop.stop();
    expect(calls).toBe(2);
  });
});

describe('restForShare and checkRollupCpuPercent', () => {
  it('rests so that work / (work + rest) is the share', () => {
    expect(restForShare(4, 0.25)).toBe(12);
    expect(restForShare(4, 1)).toBe(0);
    expect(restForShare(0, 0.25)).toBe(0);
  });

  it.each([0, 101, Number.NaN])('refuses %s with GW_ERR_CONFIG_INVALID', (percent) => {
    expect(() => checkRollupCpuPercent(percent)).toThrow(
      expect.objectContaining({ code: 'GW_ERR_CONFIG_INVALID' }),
    );
  });
});
