// The writer's re-aggregation loop, for both backends: one step (one small
// transaction) at a time, queued behind the ingest batches that arrived
// meanwhile, so a commit waits behind one step at most; with nothing stale it
// polls for minutes that have closed.
//
// The steps are also paced to a share of one core, as PostgreSQL's autovacuum
// paces itself with a cost delay. Rewriting a closed minute at 5000 devices is
// seconds of the writer's CPU; back to back it took a whole core for those
// seconds, and on a 2-core box the event loop then waited for a core (its
// stalls at the minute boundary: docs/benchmarks.md → rollup pacing). Paced,
// the same work spreads over a few times as long. Queries are unaffected in
// what they answer: a minute still stale is answered from raw.
import { GatewayError } from '../core/errors.js';
import { REFRESH_POLL_MS } from './rollup-refresh.js';

/** the default of --rollup-cpu-percent */
export const DEFAULT_ROLLUP_CPU_PERCENT = 25;

export interface BackgroundRefreshOptions {
  /**
   * true while work is left; a failed step is reported and retried at the
   * next poll. A step that waits in a queue first says how long it worked:
   * the wait is not work to rest from.
   */
  step: () => StepOutcome | Promise<StepOutcome>;
  onError: (err: unknown) => void;
  /** share of one core the steps may take, 1–100; 100 runs them back to back */
  cpuPercent: number;
  /** after every step, done or failed */
  afterStep?: () => void;
  /** ms, monotonic; performance.now by default */
  now?: () => number;
}

export type StepOutcome = boolean | { more: boolean; workMs: number };

export interface BackgroundRefresh {
  stop(): void;
}

/** How long to rest after a step of `workMs` so that work / (work + rest) = cpuPercent. */
export function restAfterStep(workMs: number, cpuPercent: number): number {
  if (cpuPercent >= 100 || workMs <= 0) return 0;
  return (workMs * (100 - cpuPercent)) / cpuPercent;
}

/** GW_ERR_CONFIG_INVALID unless 1 ≤ percent ≤ 100. */
export function checkRollupCpuPercent(percent: number): number {
  if (Number.isFinite(percent) && percent >= 1 && percent <= 100) return percent;
  throw new GatewayError('GW_ERR_CONFIG_INVALID', [`rollup CPU percent must be 1 to 100, not ${percent}`]);
}

export function startBackgroundRefresh(options: BackgroundRefreshOptions): BackgroundRefresh {
  const now = options.now ?? (() => performance.now());
  let stopped = false;
  let timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  const schedule = (ms: number) => {
    if (stopped) return;
    // setImmediate still lets the batches that arrived meanwhile in first.
    const next = ms <= 0 ? setImmediate(tick) : setTimeout(tick, ms);
    // The writer's port or pool keeps its thread alive while it is open; the loop alone must not.
    next.unref();
    timer = next;
  };
  const tick = async (): Promise<void> => {
    timer = undefined;
    let more = false;
    const started = now();
    let workMs: number | undefined;
    try {
      const outcome = await options.step();
      if (typeof outcome === 'boolean') more = outcome;
      else ({ more, workMs } = outcome);
    } catch (err) {
      if (!stopped) options.onError(err);
    }
    options.afterStep?.();
    schedule(more ? restAfterStep(workMs ?? now() - started, options.cpuPercent) : REFRESH_POLL_MS);
  };
  schedule(0);
  return {
    stop() {
      stopped = true;
      if (timer === undefined) return;
      clearTimeout(timer as NodeJS.Timeout);
      clearImmediate(timer as NodeJS.Immediate);
    },
  };
}
