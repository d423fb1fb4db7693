import { monitorEventLoopDelay } from 'node:perf_hooks';
import type { StallSampler, StallSplit } from './cpu-wait.js';

export interface EventLoopWindow {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  /** where the thread's run-queue wait is known (Linux): how much of the delay was a wait for a core */
  split?: StallSplit;
}

export interface EventLoopMonitor {
  /** Closes the current window and starts the next. */
  rotate(): EventLoopWindow;
  /** The last closed window (zeros before the first rotate). */
  last(): EventLoopWindow;
  stop(): void;
}

// Windows rather than one lifetime histogram: a stall an hour ago should not
// hide in the p99 of now, nor should a good hour hide a stall now.
export function createEventLoopMonitor(
  resolutionMs = 10,
  /** where given, each window also says how much of its delay was a wait for a core; stopped with the monitor */
  stalls?: StallSampler,
): EventLoopMonitor {
  const histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  histogram.enable();
  let previous: EventLoopWindow = { p50Ms: 0, p99Ms: 0, maxMs: 0, meanMs: 0 };
  // The histogram records whole timer intervals, so the sampling period itself
  // is subtracted to leave the delay (as fastify's under-pressure does).
  const ms = (ns: number) => (Number.isFinite(ns) ? Math.max(0, ns / 1e6 - resolutionMs) : 0);
  return {
    rotate() {
      previous = {
        p50Ms: ms(histogram.percentile(50)),
        p99Ms: ms(histogram.percentile(99)),
        maxMs: ms(histogram.max),
        meanMs: ms(histogram.mean),
        ...(stalls === undefined ? {} : { split: stalls.rotate() }),
      };
      histogram.reset();
      return previous;
    },
    last: () => previous,
    stop: () => {
      histogram.disable();
      stalls?.stop();
    },
  };
}
